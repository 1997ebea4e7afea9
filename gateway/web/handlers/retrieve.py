"""WADO-RS study, series and instance retrieve for de-identifying roles.

The origin's multipart body is parsed as it streams, and each part is de-identified by
`gateway.core.instance` before a single byte of it is written. Withheld parts are left out; a part that does
not parse (`Unreadable`) aborts the stream instead, so a cut study never looks whole.

Memory holds one part's header at a time, never the study. A failure once the response has started aborts
the connection without the closing boundary, so the client cannot take a cut study for a whole one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Awaitable, Callable

from aiohttp import web

from gateway import metrics
from gateway.codec.media import MediaType, accepted_transfer_syntaxes
from gateway.codec.multipart import MultipartWriter, Part, iter_parts
from gateway.core.instance import Deidentifier, ReadInstance, read_instance, rewrite_instance
from gateway.core.pseudonyms.model import Mappings, Needs
from gateway.core.rules.burned_text import CLEAN, BurnedText
from gateway.core.rules.encapsulated import ANY, Accepted
from gateway.core.rules.withhold import needs_ocr
from gateway.errors import NotAcceptable, NotFound, Unreadable, Withheld
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.handlers.face_volumes import SeriesGate
from gateway.web.handlers.ocr_verdicts import burned_text
from gateway.web.streaming import Coalesced, Write, abort, begin, upstream_request_headers
from gateway.web.view import View, own_headers

log = logging.getLogger("gateway.retrieve")
# Read-ahead: enough parts for one store call to serve many, few enough bytes to keep memory flat.
AHEAD_PARTS = 32
AHEAD_BYTES = 8 << 20  # 16 MB was no faster (bench_ab, 8 rounds) and set the peak RSS of a retrieve 8 MB higher
BurnedTextOf = Callable[[ReadInstance], Awaitable[BurnedText]]


async def retrieve_instances(exchange: Exchange, view: View) -> web.StreamResponse:
    request = exchange.request
    path = await view.real_path(exchange.target)
    gate = await SeriesGate.for_path(exchange, path)  # head volumes: judged before the stream opens
    writer = MultipartWriter(related_type="application/dicom")
    response: web.StreamResponse | None = None
    async with upstream_of(request).request("GET", path, headers=upstream_request_headers(request)) as upstream:
        media = MediaType.parse(upstream.headers.get("Content-Type", ""), side="upstream")
        if media.boundary is None or media.related_type is None or media.related_type.essence != "application/dicom":
            raise NotAcceptable("this role is served multipart/related; type=application/dicom only")

        async def send(data: bytes | memoryview) -> None:
            nonlocal response
            if response is None:
                response = await begin(request, 200, own_headers(exchange, writer.content_type))
            await response.write(data)

        out = Coalesced(send)
        try:
            parts = iter_parts(upstream.chunks(), media.boundary, side="upstream")
            accepted = Accepted(accepted_transfer_syntaxes(request.headers.get("Accept")))
            sent = await send_instances(
                parts, view, writer, out.write, gate=gate, burned=_reader(exchange), accepted=accepted
            )
            await out.flush()
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


async def send_instances(
    parts: AsyncIterable[Part],
    view: View,
    writer: MultipartWriter,
    write: Write,
    *,
    ahead_parts: int = AHEAD_PARTS,
    ahead_bytes: int = AHEAD_BYTES,
    gate: SeriesGate | None = None,
    burned: BurnedTextOf | None = None,
    accepted: Accepted = ANY,
) -> int:
    """Send the de-identified instances of a multipart body; return how many went out.

    Parts are read ahead, a bounded number and a bounded size at a time (a part that does not fit is the last
    of its batch, and streams), so that one store call resolves a batch: a first retrieve, where every SOP
    Instance UID is new, would otherwise make one round trip per instance. A masked compressed instance may go
    out in another transfer syntax the client `accepted` (gateway.core.rules.encapsulated)."""
    deidentifier = Deidentifier(view.engine, view.scope, view.resolver, view.audit.withdrawn)
    batch: list[tuple[Part, ReadInstance, BurnedText]] = []
    held = sent = 0
    async for part in parts:
        read = await _read(part, deidentifier, gate)
        if read is None:
            continue
        text = await burned(read) if burned is not None else CLEAN
        size = await read.hold(ahead_bytes - held)
        batch.append((part, read, text))
        held += size or 0
        if size is None or len(batch) >= ahead_parts or held >= ahead_bytes:
            sent += await _send_batch(batch, view, writer, write, accepted)
            batch, held = [], 0
    return sent + await _send_batch(batch, view, writer, write, accepted)


async def _read(part: Part, deidentifier: Deidentifier, gate: SeriesGate | None) -> ReadInstance | None:
    try:
        read = await read_instance(part.body, deidentifier)
        if gate is not None:
            gate.check(read.real.series)
        return read
    except Unreadable:
        raise  # not a choice to leave it out: the client must not take what follows for the whole study
    except Withheld as exc:
        await _left_out(part, exc)
        return None


def _reader(exchange: Exchange) -> BurnedTextOf | None:
    """The OCR verdict of a part read, for a role that reads burned-in text: CLEAN for a part not at risk."""
    profile = exchange.role.profile
    if profile.withhold.ocr is None:
        return None

    async def of(read: ReadInstance) -> BurnedText:
        if not needs_ocr(profile, read.screened):
            return CLEAN
        real = read.real
        path = f"/studies/{real.study}/series/{real.series}/instances/{real.instance}"
        return await burned_text(exchange, path, read.dataset)

    return of


async def _send_batch(
    batch: list[tuple[Part, ReadInstance, BurnedText]],
    view: View,
    writer: MultipartWriter,
    write: Write,
    accepted: Accepted,
) -> int:
    if not batch:
        return 0
    needs = Needs()
    for _, read, _ in batch:
        needs.merge(read.needs)
    mappings = await view.resolver.resolve(view.scope, needs)
    return sum([await _send_one(part, read, text, mappings, view, (writer, write, accepted))
                for part, read, text in batch])  # fmt: skip


async def _send_one(
    part: Part,
    read: ReadInstance,
    text: BurnedText,
    mappings: Mappings,
    view: View,
    out: tuple[MultipartWriter, Write, Accepted],
) -> int:
    writer, write, accepted = out
    try:
        instance = await rewrite_instance(read, view.engine, mappings, text, accepted=accepted)
    except Unreadable:
        raise
    except Withheld as exc:
        await _left_out(part, exc)
        return 0
    await write(writer.part_head({"Content-Type": f"application/dicom; transfer-syntax={instance.transfer_syntax}"}))
    await write(instance.header)
    async for chunk in instance.pixels:
        await write(chunk)
    await instance.finish()
    await part.skip()
    await write(writer.part_tail())
    view.audit.disclosure.record(instance.real, instance.pseudonymous)
    metrics.deidentified("part10")
    return 1


async def _left_out(part: Part, exc: Withheld) -> None:
    log.info("withheld", extra={"reason": exc.reason})
    metrics.withheld("part10", exc.reason)
    await part.skip()
