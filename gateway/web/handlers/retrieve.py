"""WADO-RS study, series and instance retrieve for de-identifying roles.

The origin's multipart body is parsed as it streams. For each part the Part 10 header (everything before the
pixel data) is read, de-identified and re-encoded before a single byte of that part is written; the pixel
bytes then pass through untouched (or masked by a pixel rule). Withheld parts are left out; a part that does not
parse (`Unreadable`) aborts the stream instead, so a cut study never looks whole. Elements after the
pixel data (signatures, padding, private groups) are dropped: Table E.1-1 removes all of them.

Memory holds one part's header at a time, never the study. A failure once the response has started aborts
the connection without the closing boundary, so the client cannot take a cut study for a whole one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from pydicom import Dataset

from gateway import metrics
from gateway.codec.media import MediaType
from gateway.codec.multipart import MultipartWriter, Part, iter_parts
from gateway.codec.part10_stream import Part10Header, Part10Stream
from gateway.core.dicom import dataset_patient, dataset_uids
from gateway.core.rules.pixels import PixelPlan
from gateway.errors import NotAcceptable, NotFound, Unreadable, Withheld
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.streaming import abort, begin, upstream_request_headers
from gateway.web.view import View, own_headers

log = logging.getLogger("gateway.retrieve")
Write = Callable[[bytes | memoryview], Awaitable[None]]
_MASK_LIMIT = 2 * 1024**3  # a masked instance is held whole: bounded by one instance, never the study
_UNDEFINED_LENGTH = b"\xff\xff\xff\xff"


async def retrieve_instances(exchange: Exchange, view: View) -> web.StreamResponse:
    request = exchange.request
    path = await view.real_path(exchange.target)
    writer = MultipartWriter(related_type="application/dicom")
    response: web.StreamResponse | None = None
    async with upstream_of(request).request("GET", path, headers=upstream_request_headers(request)) as upstream:
        media = MediaType.parse(upstream.headers.get("Content-Type", ""), side="upstream")
        if media.boundary is None or media.related_type is None or media.related_type.essence != "application/dicom":
            raise NotAcceptable("this role is served multipart/related; type=application/dicom only")

        async def write(data: bytes | memoryview) -> None:
            nonlocal response
            if response is None:
                response = await begin(request, 200, own_headers(exchange, writer.content_type))
            await response.write(data)

        try:
            sent = 0
            async for part in iter_parts(upstream.chunks(), media.boundary, side="upstream"):
                sent += await _instance(part, view, writer, write)
            if response is None:
                raise NotFound()  # every instance was withheld
            await view.audit.disclosure.seal()  # on record before the closing boundary, or the stream is cut
            await response.write(writer.close())
            await response.write_eof()
            log.info("retrieved", extra={"instances": sent})
        except Exception as exc:
            if response is None:
                raise
            abort(request, exc)
    assert response is not None
    return response


async def _instance(part: Part, view: View, writer: MultipartWriter, write: Write) -> int:
    """Send one de-identified instance; return 1, or 0 when it is withheld."""
    stream = Part10Stream(part.body)
    try:
        header = await stream.read_header()
        ds = view.engine.read_header(header.data)
        needs = view.engine.needs(ds)  # judges the header first: what governance reads below then reads cleanly
        if view.audit.withdrawn.covers(dataset_patient(ds)):
            raise Withheld("opted-out")
        real = dataset_uids(ds)
        mappings = await view.resolver.resolve(view.scope, needs)
        plan = view.engine.apply(ds, mappings)
        new_header = view.engine.write_header(ds)
        pixels = _pixels(stream, header) if plan.passthrough else _ready(await _masked(stream, header, view, ds, plan))
    except Unreadable:
        raise  # not a choice to leave it out: the client must not take what follows for the whole study
    except Withheld as exc:
        log.info("withheld", extra={"reason": exc.reason})
        metrics.withheld("part10", exc.reason)
        await part.skip()
        return 0
    await write(writer.part_head({"Content-Type": f"application/dicom; transfer-syntax={header.transfer_syntax}"}))
    await write(new_header)
    async for chunk in pixels:
        await write(chunk)
    await stream.read_trailer()  # dropped on purpose: see the module docstring
    await part.skip()
    await write(writer.part_tail())
    view.audit.disclosure.record(real, dataset_uids(ds))
    metrics.deidentified("part10")
    return 1


async def _pixels(stream: Part10Stream, header: Part10Header) -> AsyncIterator[bytes | memoryview]:
    if header.pixel_head is not None:
        yield header.pixel_head
    async for chunk in stream.pixel_value():  # consumed even when empty: the trailer comes after it
        yield chunk


async def _masked(
    stream: Part10Stream, header: Part10Header, view: View, ds: Dataset, plan: PixelPlan
) -> list[bytes]:
    """The pixel element with its regions blanked; read whole first, so a failure comes before any write."""
    if header.pixel_head is None:
        return [bytes(chunk) async for chunk in stream.pixel_value()]
    if header.pixel_head.endswith(_UNDEFINED_LENGTH):  # encapsulated (compressed) frames
        raise Withheld("mask-needs-native-pixels (7FE0,0010)")
    value = bytearray()
    async for chunk in stream.pixel_value():
        value += chunk
        if len(value) > _MASK_LIMIT:
            raise Withheld("mask-instance-too-large (7FE0,0010)")
    return [header.pixel_head, view.engine.mask_pixels(ds, bytes(value), plan)]


async def _ready(chunks: list[bytes]) -> AsyncIterator[bytes | memoryview]:
    for chunk in chunks:
        yield chunk
