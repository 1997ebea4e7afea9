"""WADO-RS metadata for de-identifying roles: DICOM JSON de-identified exactly like the binary path."""

from __future__ import annotations

from aiohttp import web

from gateway.adapters.upstream import JsonLimit, json_array
from gateway.core.dicom import Uids
from gateway.errors import NotFound
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.handlers.face_volumes import require_served, visible
from gateway.web.handlers.frames import remember_verdicts
from gateway.web.state import METADATA_TURNS
from gateway.web.view import View, json_response, require_json

# Series metadata of a 500-instance CT is about 3 MB; this bounds a pathological study, not a normal one.


async def retrieve_metadata(exchange: Exchange, view: View) -> web.StreamResponse:
    require_json(exchange.request)
    path = await view.real_path(exchange.target)
    real = Uids.from_path(path)
    if real.series:
        await require_served(exchange, real.study, real.series)  # judged before a metadata turn is taken
    body = await upstream_of(exchange.request).get_json_body(path, limit=JsonLimit.METADATA)
    async with exchange.request.app[METADATA_TURNS]:
        shown = await visible(exchange, json_array(body))
        remember_verdicts(exchange, shown)
        objects = await view.deidentify_objects(shown)
        if not objects:
            raise NotFound()  # everything was withheld: the role sees nothing here
        return json_response(objects)
