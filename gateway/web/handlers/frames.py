"""Frames, bulkdata, rendered images and thumbnails for de-identifying roles.

These resources carry pixels (which may show burned-in text) or binary values, so none is served before the
instance's header has been judged by the role's engine: a withheld instance answers 404, an instance that
needs a mask gets its frames and rendered images masked (native pixels only). The decision per instance is
cached for the life of the role's profile version, and filled ahead from every metadata answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TypeVar

from aiohttp import web

from gateway.adapters.upstream import JsonLimit
from gateway.codec.media import MediaType
from gateway.codec.multipart import MultipartWriter, iter_parts
from gateway.core.dicom import Uids
from gateway.core.rules.actions import Action
from gateway.core.rules.burned_text import with_burned_text
from gateway.core.rules.pixel_verdict import PixelVerdict, verdict_of
from gateway.core.rules.pixels import mask_native
from gateway.core.rules.profile import Profile
from gateway.core.target import FRAME_LIST, LENIENT_UID, TAG_PATH
from gateway.errors import BadRequest, NotFound, UpstreamProtocolError, Withheld
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.handlers.face_volumes import require_served
from gateway.web.handlers.ocr_verdicts import burned_text, read_instance_ahead
from gateway.web.state import HELD_FRAMES, VERDICTS
from gateway.web.streaming import Coalesced, abort, begin, upstream_request_headers
from gateway.web.view import JsonObject, View, own_headers

log = logging.getLogger("gateway.pixels")
T = TypeVar("T", bytes, bytes | memoryview)
_NATIVE = "1.2.840.10008.1.2.1"
_TAG = re.compile(r"[0-9A-Fa-f]{8}")
_IMAGE_LIMIT = 64 * 1024**2
WHOLE = 2 * 1024**2  # a frames answer up to this size is held and sent whole (a CT or MR frame is 0.1-0.5 MB)
FRAMES_HELD_AT_ONCE = 8  # answers held whole at once, process-wide: at most 16 MB (web/hold_budget.py)


def remember_verdicts(exchange: Exchange, objects: list[JsonObject]) -> None:
    """Judge every instance of a metadata answer now: a viewer asks for their frames next (OHIF does). Reading
    their burned-in text starts too, in the background."""
    cache, profile = exchange.request.app[VERDICTS], exchange.role.profile
    for obj in objects:
        verdict = verdict_of(profile, obj)
        if not isinstance(verdict, Withheld) and verdict.ocr:
            read_instance_ahead(exchange, obj, complete=True)
        uids = [(obj.get(tag, {}).get("Value") or [None])[0] for tag in ("0020000D", "0020000E", "00080018")]
        if all(uids):
            path = "/studies/{}/series/{}/instances/{}".format(*uids)
            cache.put((profile.version, path), verdict)


async def judge(exchange: Exchange, instance_path: str) -> PixelVerdict:
    """The verdict on one instance (from the cache, or from its metadata); Withheld answers 404, and so does an
    instance of a withheld series (a head volume)."""
    real = Uids.from_path(instance_path)
    await require_served(exchange, real.study, real.series)
    cache = exchange.request.app[VERDICTS]
    key = (exchange.role.profile.version, instance_path)
    verdict = cache.get(key)
    metadata = None
    if verdict is None:
        verdict, metadata = await _judge(exchange, instance_path)
        cache.put(key, verdict)
    if not isinstance(verdict, Withheld) and verdict.ocr:  # burned-in text read by OCR: masked or withheld
        verdict = await _with_burned_text(exchange, instance_path, verdict, metadata)
    if isinstance(verdict, Withheld):
        log.info("withheld", extra={"reason": verdict.reason})
        raise NotFound()
    audit = exchange.audit
    assert audit is not None  # only de-identifying roles come here
    if audit.withdrawn.covers(verdict.patient):
        log.info("withheld", extra={"reason": "opted-out"})
        raise NotFound()
    # Pixels of this instance are about to go out; the client named it by the pseudonyms in its own path.
    audit.disclosure.record(Uids.from_path(instance_path), Uids.from_path(exchange.upstream_path))
    return verdict


async def _judge(exchange: Exchange, instance_path: str) -> tuple[PixelVerdict | Withheld, JsonObject]:
    objects = await upstream_of(exchange.request).get_json(instance_path + "/metadata", limit=JsonLimit.INSTANCE)
    if len(objects) != 1:
        raise NotFound()
    return verdict_of(exchange.role.profile, objects[0]), objects[0]


async def _with_burned_text(
    exchange: Exchange, instance_path: str, verdict: PixelVerdict, metadata: JsonObject | None
) -> PixelVerdict | Withheld:
    burned = await burned_text(exchange, instance_path, metadata)
    try:
        return replace(verdict, plan=with_burned_text(verdict.plan, burned))
    except Withheld as exc:
        return exc


def instance_path_of(path: str) -> str:
    """/studies/a/series/b/instances/c/... -> /studies/a/series/b/instances/c"""
    return "/".join(path.split("/")[:7])


async def retrieve_frames(exchange: Exchange, view: View) -> web.StreamResponse:
    if exchange.target.template.endswith("/bulkdata"):
        # Every bulk value of the instance, each an octet-stream part that says nothing of what it is: private
        # and removed values could not be told from Pixel Data. Only a tag path names what is fetched.
        raise BadRequest("this role fetches bulk data by the BulkDataURI of its metadata (.../bulk/{tag path})")
    real_path, to_public = await view.translate_path(exchange.target)
    verdict = await judge(exchange, instance_path_of(real_path))
    if exchange.transaction.name == "retrieve_bulkdata" and not bulk_allowed(exchange.role.profile, real_path):
        raise NotFound()
    view.audit.disclosure.seal_ahead()  # the one instance is recorded: its commit runs while the pixels come
    headers = upstream_request_headers(exchange.request)
    if not verdict.plan.passthrough:
        # Masks apply to native pixels only: ask for them, whatever the client's Accept said.
        headers["Accept"] = f'multipart/related; type="application/octet-stream"; transfer-syntax={_NATIVE}'
    return await _relay_parts(exchange, view, real_path, headers, to_public, verdict)


def bulk_allowed(profile: Profile, real_path: str) -> bool:
    """Only values the role keeps may be fetched as bulkdata, at every step of the tag path (a removed attribute
    inside a kept sequence stays removed); top-level pixel data follows the pixel plan instead."""
    steps = real_path.split("/bulk/", 1)[1].split("/")
    tags, items = steps[0::2], steps[1::2]  # tag / item number / tag / ...
    if not all(item.isdigit() for item in items) or not all(_TAG.fullmatch(tag) for tag in tags):
        return False
    if [tag.lower() for tag in tags] == ["7fe00010"]:
        return True
    numbers = [int(tag, 16) for tag in tags]
    # Private tags need their creator to be judged, which a path does not carry: refused.
    return all(not tag >> 16 & 1 and profile.action_for(tag) is Action.KEEP for tag in numbers)


async def _relay_parts(
    exchange: Exchange,
    view: View,
    real_path: str,
    headers: dict[str, str],
    to_public: dict[str, str],
    verdict: PixelVerdict,
) -> web.StreamResponse:
    request = exchange.request
    async with upstream_of(request).request("GET", real_path, headers=headers) as upstream:
        media = MediaType.parse(upstream.headers.get("Content-Type", ""), side="upstream")
        if media.boundary is None or media.related_type is None:
            raise NotFound()
        require_pixel_kind(media.related_type)
        writer = MultipartWriter(related_type=str(media.related_type))
        frame = _Reframe(view, to_public, verdict, writer)
        chunks = upstream.chunks()
        answer_headers = own_headers(exchange, writer.content_type)
        with request.app[HELD_FRAMES].slot() as may_hold:
            held, ended = await _hold(chunks, WHOLE) if may_hold else ([], False)
            if ended:
                # A body that fits is rebuilt whole and sent with its length: one write of its pixels instead of
                # a chunked stream of pieces (a viewer asks for one frame at a time), and a cut origin is still a
                # clean error status.
                pieces = [piece async for piece in frame.parts(_replay(held), media.boundary)]
                pieces.append(writer.close())
                await view.audit.disclosure.seal()  # on record before any of it is sent
                response = await begin(request, 200, answer_headers, length=sum(map(len, pieces)))
                return await _send(request, response, _replay(pieces))
        response = await begin(request, 200, answer_headers)
        return await _send(request, response, frame.streamed(_replay(held, chunks), media.boundary))


async def _send(
    request: web.Request, response: web.StreamResponse, body: AsyncIterator[bytes | memoryview]
) -> web.StreamResponse:
    """Write a body whose status is out, small pieces together; a failure now can only cut the connection."""
    out = Coalesced(response.write)
    try:
        async for piece in body:
            await out.write(piece)
        await out.flush()
        await response.write_eof()
    except Exception as exc:
        abort(request, exc)
    return response


@dataclass(frozen=True)
class _Reframe:
    """The origin's frames answer as the client may see it: each part with the gateway's own headers and its
    pixels as they came or masked, framed by the gateway's boundary."""

    view: View
    to_public: dict[str, str]
    verdict: PixelVerdict
    writer: MultipartWriter

    async def parts(self, chunks: AsyncIterator[bytes], boundary: str) -> AsyncIterator[bytes | memoryview]:
        writer, plan = self.writer, self.verdict.plan
        async for part in iter_parts(chunks, boundary, side="upstream"):
            part_type = MediaType.parse(part.headers.get("Content-Type", "application/octet-stream"))
            part_headers = {"Content-Type": pixel_part_type(part_type)}
            location = _public_location(part.headers.get("Content-Location", ""), self.view, self.to_public)
            if location is not None:
                part_headers["Content-Location"] = location
            yield writer.part_head(part_headers)
            if plan.passthrough:
                async for view in part.body:
                    yield view
            else:
                yield mask_native(await part.read(_IMAGE_LIMIT), self.verdict.frame, plan.regions)
            yield writer.part_tail()

    async def streamed(self, chunks: AsyncIterator[bytes], boundary: str) -> AsyncIterator[bytes | memoryview]:
        """`parts`, then the closing boundary once the disclosure is on record."""
        async for piece in self.parts(chunks, boundary):
            yield piece
        await self.view.audit.disclosure.seal()
        yield self.writer.close()


async def _hold(chunks: AsyncIterator[bytes], limit: int) -> tuple[list[bytes], bool]:
    """The body's first chunks, up to just past `limit` bytes, and whether the body ended within them."""
    held, size = [], 0
    async for chunk in chunks:
        held.append(chunk)
        size += len(chunk)
        if size > limit:
            return held, False
    return held, True


async def _replay(held: list[T], rest: AsyncIterator[T] | None = None) -> AsyncIterator[T]:
    """The held pieces, each let go once given (a streamed answer does not keep its first 2 MB), then the rest."""
    held.reverse()
    while held:
        yield held.pop()
    if rest is not None:
        async for chunk in rest:
            yield chunk


def require_pixel_kind(media: MediaType) -> None:
    """Frames and bulk data are bytes or images. A DICOM or JSON part here means the origin answered for another
    resource than the one judged (a path it normalised differently, a hostile origin): refused, never relayed."""
    essence = media.essence
    if essence != "application/octet-stream" and not essence.startswith(("image/", "video/")):
        raise UpstreamProtocolError("the origin answered a frames or bulk data request with another kind of body")


def pixel_part_type(media: MediaType) -> str:
    """A part's Content-Type as the gateway writes it: the kind and a checked transfer syntax, nothing else the
    origin put there (a parameter can carry anything)."""
    require_pixel_kind(media)
    syntax = media.transfer_syntax
    if syntax is not None and LENIENT_UID.fullmatch(syntax):
        return f"{media.essence}; transfer-syntax={syntax}"
    return media.essence


def _public_location(url: str, view: View, to_public: dict[str, str]) -> str | None:
    """A part's Content-Location as the client may see it: a resource path of the frames or bulk data grammar
    whose every UID this request mapped, or no Content-Location at all."""
    path = view.urls.path_of(url) if url else None
    match = _PART_LOCATION.fullmatch(path or "")
    if match is None:
        return None
    uids = match.group("study", "series", "instance")
    if view.remaps_uids and not all(uid in to_public for uid in uids):
        return None
    public = [to_public[uid] for uid in uids] if view.remaps_uids else list(uids)
    return view.urls.public_base + "/studies/{}/series/{}/instances/{}".format(*public) + (match.group("rest") or "")


_UID = LENIENT_UID.pattern  # the origin's real UIDs, which may have leading zeros
_PART_LOCATION = re.compile(
    rf"/studies/(?P<study>{_UID})/series/(?P<series>{_UID})/instances/(?P<instance>{_UID})"
    rf"(?P<rest>/frames/{FRAME_LIST.pattern}|/bulk/{TAG_PATH.pattern})?"
)
