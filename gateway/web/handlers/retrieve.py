"""WADO-RS study, series and instance retrieve for de-identifying roles.

The origin's multipart body is parsed as it streams, and each part is de-identified by
`gateway.core.instance` before a single byte of it is written. Withheld parts are left out; a part that does
not parse (`Unreadable`) aborts the stream instead, so a cut study never looks whole.

Memory holds one part's header at a time, never the study. A failure once the response has started aborts
the connection without the closing boundary, so the client cannot take a cut study for a whole one.
"""

from __future__ import annotations

import logging

from aiohttp import web

from gateway import metrics
from gateway.codec.media import MediaType
from gateway.codec.multipart import MultipartWriter, Part, iter_parts
from gateway.core.instance import Deidentifier, deidentify_instance
from gateway.errors import NotAcceptable, NotFound, Unreadable, Withheld
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.streaming import Coalesced, Write, abort, begin, upstream_request_headers
from gateway.web.view import View, own_headers

log = logging.getLogger("gateway.retrieve")


async def retrieve_instances(exchange: Exchange, view: View) -> web.StreamResponse:
    request = exchange.request
    path = await view.real_path(exchange.target)
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
            sent = 0
            async for part in iter_parts(upstream.chunks(), media.boundary, side="upstream"):
                sent += await send_instance(part, view, writer, out.write)
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


async def send_instance(part: Part, view: View, writer: MultipartWriter, write: Write) -> int:
    """Send one de-identified instance; return 1, or 0 when it is withheld."""
    deidentifier = Deidentifier(view.engine, view.scope, view.resolver, view.audit.withdrawn)
    try:
        instance = await deidentify_instance(part.body, deidentifier)
    except Unreadable:
        raise  # not a choice to leave it out: the client must not take what follows for the whole study
    except Withheld as exc:
        log.info("withheld", extra={"reason": exc.reason})
        metrics.withheld("part10", exc.reason)
        await part.skip()
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
