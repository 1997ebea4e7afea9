"""The de-identifying path: one handler per transaction kind, each failing closed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.core.governance.disclosure import Audit
from gateway.core.transactions import Kind
from gateway.web.exchange import Exchange
from gateway.web.handlers.frames import retrieve_frames
from gateway.web.handlers.metadata import retrieve_metadata
from gateway.web.handlers.rendered import retrieve_rendered, retrieve_thumbnail
from gateway.web.handlers.retrieve import retrieve_instances
from gateway.web.handlers.search import search
from gateway.web.handlers.store_instances import store_instances
from gateway.web.state import RESOLVER
from gateway.web.view import View

DeidentifyingHandler = Callable[[Exchange, View], Awaitable[web.StreamResponse]]


HANDLERS: dict[Kind, DeidentifyingHandler] = {
    Kind.SEARCH: search,
    Kind.METADATA: retrieve_metadata,
    Kind.INSTANCES: retrieve_instances,
    Kind.FRAMES: retrieve_frames,
    Kind.RENDERED: retrieve_rendered,
    Kind.THUMBNAIL: retrieve_thumbnail,
    Kind.STORE: store_instances,
}


async def handle(exchange: Exchange, audit: Audit) -> web.StreamResponse:
    role = exchange.role
    assert role.engine is not None and role.profile.scope is not None
    view = View(
        engine=role.engine,
        scope=role.profile.scope,
        resolver=exchange.request.app[RESOLVER],
        urls=exchange.urls,
        remaps_uids=role.profile.uid_mode == "replace",
        audit=audit,
    )
    return await HANDLERS[exchange.transaction.kind](exchange, view)
