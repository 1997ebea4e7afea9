"""Admin handlers for role profiles: list, read, validate, update (compile, store, swap) and dry run."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from functools import partial

from aiohttp import web

from gateway.adapters.upstream import JsonLimit
from gateway.core.governance.disclosure import now
from gateway.core.governance.profiles import ProfileEditor
from gateway.core.pseudonyms.model import Mappings
from gateway.core.rules.actions import Action
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import Profile
from gateway.errors import BadRequest, ConfigError, NotFound, Withheld
from gateway.web.admin.body import json_answer, json_body, text_field
from gateway.web.admin.diff import rows
from gateway.web.admin.note import note, principal_of
from gateway.web.state import EDITOR, GOVERNANCE, OVERSIGHT, RESOLVER, UPSTREAM, RequestHandler

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_UID_KEYS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


async def list_roles(request: web.Request) -> web.Response:
    editor = request.config_dict[EDITOR]
    return json_answer([_summary(editor, name) for name in editor.names()])


async def read_role(request: web.Request) -> web.Response:
    editor, role = request.config_dict[EDITOR], request.match_info["role"]
    current = editor.current(role)
    note(request, profile_version=current.profile.version, role=role)
    return json_answer({**_summary(editor, role), "text": current.text})


async def validate_role(request: web.Request) -> web.Response:
    role, text = request.match_info["role"], text_field(await json_body(request), "text")
    note(request, role=role)
    try:
        profile = request.config_dict[EDITOR].compile(role, text)
    except ConfigError as exc:
        return invalid(exc)
    note(request, profile_version=profile.version, role=role)
    return json_answer({"valid": True, "profile_version": profile.version})


async def update_role(request: web.Request) -> web.Response:
    """Compile first; only a profile that compiles is stored, and every replica swaps it in from the store."""
    role, data = request.match_info["role"], await json_body(request)
    text, base = text_field(data, "text"), data.get("base_version")
    if base is not None and not isinstance(base, int):
        raise BadRequest("base_version is an integer")
    note(request, role=role)
    try:
        profile = request.config_dict[EDITOR].compile(role, text)
    except ConfigError as exc:
        return invalid(exc)  # nothing stored: the old profile stays live everywhere
    actor = principal_of(request).name
    stored = await request.config_dict[GOVERNANCE].put_profile(
        role, text, actor=actor, updated_at=now(), expected_version=base
    )
    oversight = request.config_dict[OVERSIGHT]
    oversight.invalidate()
    await oversight.current()  # live on this replica before we answer; elsewhere within refresh_s
    note(request, profile_version=profile.version, role=role, version=str(stored.version))
    return json_answer({"role": role, "version": stored.version, "profile_version": profile.version})


async def preview_role(request: web.Request) -> web.Response:
    """Dry run: one real instance from the origin, before and after the live or a candidate profile."""
    role, data = request.match_info["role"], await json_body(request)
    uids = instance_uids(data)
    try:
        profile = profile_of(request, role, data)
    except ConfigError as exc:
        return invalid(exc)
    note(request, scope=profile.scope.name if profile.scope else "", profile_version=profile.version,
         real=real_uids(uids), role=role)
    before = await instance_metadata(request, uids)
    try:
        after, marks = await _apply(request, profile, copy.deepcopy(before))
    except Withheld as exc:
        return json_answer({"role": role, "profile_version": profile.version, "withheld": exc.reason, "rows": []})
    return json_answer({"role": role, "profile_version": profile.version, "withheld": None,
                        "rows": marks(rows(before, after))})


def instance_uids(data: dict) -> list[str]:
    """The study, series and instance UIDs of a body, each checked against the UID grammar, or 400."""
    uids = [text_field(data, key) for key in _UID_KEYS]
    if not all(_UID.match(uid) and len(uid) <= 64 for uid in uids):
        raise BadRequest("StudyInstanceUID, SeriesInstanceUID and SOPInstanceUID must be UIDs")
    return uids


def real_uids(uids: list[str]) -> dict[str, list[str]]:
    """The ledger's real fields for one instance."""
    return dict(zip(("studies", "series", "instances"), ([uid] for uid in uids), strict=True))


def profile_of(request: web.Request, role: str, data: dict) -> Profile:
    """The candidate profile of the body's `text`, or the role's live one; ConfigError for a bad text."""
    editor = request.config_dict[EDITOR]
    candidate = text_field(data, "text", required=False)
    return editor.compile(role, candidate) if candidate else editor.current(role).profile


async def instance_metadata(request: web.Request, uids: list[str]) -> dict:
    path = "/studies/{}/series/{}/instances/{}/metadata".format(*uids)
    objects = await request.config_dict[UPSTREAM].get_json(path, limit=JsonLimit.INSTANCE)
    if len(objects) != 1:
        raise NotFound()
    return objects[0]


Marks = Callable[[list[dict]], list[dict]]


async def _apply(request: web.Request, profile: Profile, obj: dict) -> tuple[dict, Marks]:
    """What the role would be served, resolved through the store exactly as a request would be, and what marks
    the scrubbed spans of its rows."""
    if profile.identity or profile.scope is None:
        return obj, lambda listed: listed
    engine = Engine(profile)
    mappings = await request.config_dict[RESOLVER].resolve(profile.scope, engine.needs_json(obj))
    # apply_json leaves its input alone: the marks read the object as it came.
    return engine.apply_json(obj, mappings), partial(_mark_scrubbed, engine, obj, mappings)


def _mark_scrubbed(engine: Engine, obj: dict, mappings: Mappings, listed: list[dict]) -> list[dict]:
    """Rows of attributes that C scrubs gain `spans`: where the text `before` lost what (category), and what
    stands there now ("" when removed, or a shifted date), so the admin sees the rule at work."""
    for row in listed:
        tag = int(row["tag"][1:10].replace(",", ""), 16)
        if row["before"] and row["after"] is not None and engine.profile.action_for(tag) is Action.CLEAN:
            scrubbed = engine.scrub_json(obj, mappings, row["before"])
            if scrubbed is not None:
                row["spans"] = [{"start": span.start, "end": span.end, "category": span.category.value,
                                 "replacement": span.replacement} for span in scrubbed.spans]
    return listed


def _summary(editor: ProfileEditor, name: str) -> dict[str, object]:
    current = editor.current(name)
    scope = current.profile.scope
    return {"role": name, "identity": current.profile.identity, "version": current.version,
            "profile_version": current.profile.version, "scope": scope.name if scope else None,
            "reversible": scope.reversible if scope else None}


def invalid(exc: ConfigError) -> web.Response:
    return json_answer({"status": 422, "file": exc.file, "key": exc.key, "reason": exc.reason}, status=422)


ROUTES: tuple[tuple[str, str, RequestHandler, str], ...] = (
    ("GET", "/roles", list_roles, "roles.list"),
    ("GET", "/roles/{role}", read_role, "roles.read"),
    ("POST", "/roles/{role}/validate", validate_role, "roles.validate"),
    ("PUT", "/roles/{role}", update_role, "roles.update"),
    ("POST", "/roles/{role}/preview", preview_role, "roles.preview"),
)
