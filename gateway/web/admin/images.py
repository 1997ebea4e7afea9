"""The console's images: a rendered frame of a real instance before and after a role's pixel rules, and a pixel
rule drawn on one added to a role's profile text.

    POST /admin/roles/{role}/rendered          {StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, text?, frame?,
                                                masked} -> image/png, or {"withheld": reason} when the role (or
                                                the candidate `text`) would not serve the instance at all
    POST /admin/roles/{role}/with-pixel-rule   {text, match, regions} -> {text, profile_version}: `text` with the
                                                rule added (compiled, not stored: the console PUTs it with its
                                                base_version like any edit)

Both images come from the code that serves rendered images to the roles (gateway.web.handlers.rendered): the
origin's pixels encoded again, or masked by the verdict the role's engine gives the instance. There is no
second masking implementation here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.core.rules.pixel_rule_text import with_pixel_rule
from gateway.core.rules.pixel_verdict import PixelVerdict, verdict_of
from gateway.core.rules.pixels import PASSTHROUGH, Geometry
from gateway.errors import BadRequest, ConfigError, Withheld
from gateway.web.admin.body import json_answer, json_body, text_field
from gateway.web.admin.note import note
from gateway.web.admin.rules import instance_metadata, instance_uids, invalid, profile_of, real_uids
from gateway.web.handlers.rendered import judged_image
from gateway.web.state import EDITOR, UPSTREAM

# The origin's image as it comes: nothing to mask, so the frame geometry is not looked at.
_ORIGIN = PixelVerdict(PASSTHROUGH, Geometry(rows=0, columns=0, samples=1, bits_allocated=8, frames=1, planar=0), "")
_MATCH_TEXT = ("Manufacturer", "ManufacturerModelName")
_MATCH_SIZE = ("Rows", "Columns")
_MAX_REGIONS = 32


async def rendered(request: web.Request) -> web.Response:
    role, data = request.match_info["role"], await json_body(request)
    uids, frame, masked = instance_uids(data), _frame(data), data.get("masked")
    if not isinstance(masked, bool):
        raise BadRequest("masked is true or false")
    try:
        profile = profile_of(request, role, data)
    except ConfigError as exc:
        return invalid(exc)
    note(request, scope=profile.scope.name if profile.scope else "", profile_version=profile.version,
         real=real_uids(uids), role=role, masked=str(masked).lower(), frame=str(frame or ""))  # fmt: skip
    verdict: PixelVerdict | Withheld = _ORIGIN
    if masked:
        verdict = verdict_of(profile, await instance_metadata(request, uids))
    path = "/studies/{}/series/{}/instances/{}".format(*uids) + (f"/frames/{frame}" if frame else "") + "/rendered"
    try:
        if isinstance(verdict, Withheld):
            raise verdict
        body = await judged_image(request.config_dict[UPSTREAM], path, [], verdict, media_type="image/png")
    except Withheld as exc:
        return json_answer({"role": role, "profile_version": profile.version, "withheld": exc.reason})
    return web.Response(body=body, content_type="image/png")


async def with_rule(request: web.Request) -> web.Response:
    role, data = request.match_info["role"], await json_body(request)
    text, rule = text_field(data, "text"), {"match": _match(data.get("match")), "regions": _regions(data)}
    note(request, role=role)
    editor = request.config_dict[EDITOR]
    try:
        editor.compile(role, text)  # the text as it came must be a profile of this role already
        new = with_pixel_rule(text, rule, source=f"{role}.yaml")
        profile = editor.compile(role, new)
    except ConfigError as exc:
        return invalid(exc)
    note(request, profile_version=profile.version, role=role)
    return json_answer({"role": role, "text": new, "profile_version": profile.version})


def _frame(data: dict[str, Any]) -> int | None:
    frame = data.get("frame")
    if frame is None:
        return None
    if not isinstance(frame, int) or isinstance(frame, bool) or not 1 <= frame <= 1 << 20:
        raise BadRequest("frame is a positive integer")
    return frame


def _match(value: object) -> dict[str, str | int]:
    """The device and image size a rule matches: text keys are printable strings, sizes positive integers."""
    if not isinstance(value, dict) or not value or not set(value) <= {*_MATCH_TEXT, *_MATCH_SIZE}:
        raise BadRequest(f"match is an object of some of {', '.join((*_MATCH_TEXT, *_MATCH_SIZE))}")
    for key, item in value.items():
        text_ok = key in _MATCH_TEXT and isinstance(item, str) and 0 < len(item) <= 64 and item.isprintable()
        size_ok = key in _MATCH_SIZE and _is_int(item, 1, 65535)
        if not (text_ok or size_ok):
            raise BadRequest(f"match.{key} is not a {'text' if key in _MATCH_TEXT else 'size'} of an image")
    return dict(value)


def _regions(data: dict[str, Any]) -> list[list[int]]:
    regions = data.get("regions")
    if not isinstance(regions, list) or not 1 <= len(regions) <= _MAX_REGIONS:
        raise BadRequest(f"regions is a list of 1 to {_MAX_REGIONS} rectangles")
    for region in regions:
        if not (isinstance(region, list) and len(region) == 4 and all(_is_int(v, 0, 65535) for v in region)):
            raise BadRequest("a region is [x, y, width, height] in image pixels")
    return [list(region) for region in regions]


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


ROUTES = (
    ("POST", "/roles/{role}/rendered", rendered, "roles.rendered"),
    ("POST", "/roles/{role}/with-pixel-rule", with_rule, "roles.with_pixel_rule"),
)
