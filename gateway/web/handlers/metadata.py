"""WADO-RS metadata for de-identifying roles: DICOM JSON de-identified exactly like the binary path, as a stream.

The origin's answer is cut into objects as it arrives (`UpstreamClient.json_object_bytes`), and each chunk's
worth is parsed, judged, de-identified and written before the next is read, so memory holds a chunk and its
objects whatever the study's size. Parsing and rewriting take a turn (`web/turns.py`: one at a time, the
earliest request first), held for that work only, never while a client reads; a request waiting for its turn
holds only its chunk's bytes. The status is decided by the first object that may be shown (none at all: 404, as before);
once the array is open, a fault (the origin's body cut or malformed, the store or the ledger failing) cuts the
connection before the closing bracket, so a client never takes a partial answer for a whole one. The ledger
entry is on record before that bracket, as a retrieve's is before its closing boundary.
"""

from __future__ import annotations

from contextlib import aclosing

import orjson
from aiohttp import web

from gateway.adapters.upstream import JsonLimit
from gateway.codec.json_array_stream import parse_object
from gateway.core.dicom import JsonObject, Uids
from gateway.errors import NotFound
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.handlers.face_volumes import require_served, visible
from gateway.web.handlers.frames import remember_verdicts
from gateway.web.state import METADATA_TURNS
from gateway.web.streaming import begin
from gateway.web.view import View, require_json

_HEADERS = {"Content-Type": "application/dicom+json"}


async def retrieve_metadata(exchange: Exchange, view: View) -> web.StreamResponse:
    require_json(exchange.request)
    path = await view.real_path(exchange.target)
    real = Uids.from_path(path)
    if real.series:
        await require_served(exchange, real.study, real.series)  # judged before a metadata turn is taken
    response = None
    ticket = exchange.request.app[METADATA_TURNS].ticket()
    answer = upstream_of(exchange.request).json_object_bytes(path, limit=JsonLimit.METADATA)
    async with aclosing(answer) as batches:
        async for batch in batches:
            objects = await _deidentified(exchange, view, ticket, batch)
            if not objects:
                continue
            body = orjson.dumps(objects)[1:-1]  # the objects without their brackets: this answer writes its own
            if response is None:
                response = await begin(exchange.request, 200, _HEADERS)
                await response.write(b"[" + body)
            else:
                await response.write(b"," + body)
    if response is None:
        raise NotFound()  # nothing, or everything withheld: the role sees nothing here
    await view.audit.disclosure.seal()
    await response.write(b"]")
    await response.write_eof()
    return response


async def _deidentified(exchange: Exchange, view: View, ticket: int, batch: list[bytes]) -> list[JsonObject]:
    """One chunk's objects as they go out."""
    async with exchange.request.app[METADATA_TURNS].turn(ticket):
        shown = await visible(exchange, [parse_object(piece) for piece in batch])
        remember_verdicts(exchange, shown)
        return await view.deidentify_objects(shown, metadata=True)
