"""The aiohttp application: a thin shell that wires settings, roles, the upstream and the store together."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys

import uvloop
from aiohttp import http_writer, web

from gateway import logs
from gateway.adapters.oidc import OidcVerifier
from gateway.core.auth import ApiKeys, Authenticator
from gateway.core.roles import RoleBook
from gateway.core.rules.burned_text import BurnedTextCache
from gateway.core.rules.face_volume import SeriesVerdictCache
from gateway.core.rules.pixel_verdict import VerdictCache
from gateway.core.transactions import TRANSACTIONS
from gateway.settings import Settings
from gateway.web.admin.app import build_admin
from gateway.web.exchange import DICOMWEB_ROOT
from gateway.web.handlers import health, metrics, withdrawals
from gateway.web.handlers.frames import FRAMES_HELD_AT_ONCE
from gateway.web.hold_budget import HoldBudget
from gateway.web.middleware import Cors, exchange
from gateway.web.pipeline import transaction_handler
from gateway.web.resources import governance_ctx, heap_ctx, ocr_ctx, store_ctx, upstream_ctx
from gateway.web.state import (
    AUTHENTICATOR,
    BURNED_TEXT,
    HELD_FRAMES,
    METADATA_TURNS,
    ROLES,
    SERIES_VERDICTS,
    SETTINGS,
    STOW_MAX_BYTES,
    VERDICTS,
)
from gateway.web.turns import Turns

log = logging.getLogger("gateway")




def build_app(settings: Settings, roles: RoleBook | None = None) -> web.Application:
    cors = Cors(settings.cors.allow_origins)
    app = web.Application(middlewares=[exchange, cors.preflight], client_max_size=1024**2)
    app[SETTINGS] = settings
    oidc = OidcVerifier(settings.auth.oidc) if settings.auth.oidc is not None else None
    app[AUTHENTICATOR] = Authenticator(ApiKeys(settings.auth.api_keys), oidc)
    app[ROLES] = roles if roles is not None else RoleBook.load(settings.roles_dir)
    app[STOW_MAX_BYTES] = settings.limits.stow_max_bytes
    app[VERDICTS] = VerdictCache()
    app[SERIES_VERDICTS] = SeriesVerdictCache()
    app[BURNED_TEXT] = BurnedTextCache()
    app[METADATA_TURNS] = Turns()  # one rewrite at a time: it is CPU work, and a second one only doubles the memory
    app[HELD_FRAMES] = HoldBudget(FRAMES_HELD_AT_ONCE)
    app.cleanup_ctx.extend([heap_ctx, upstream_ctx, ocr_ctx, store_ctx, governance_ctx(app[ROLES])])
    app.on_response_prepare.append(cors.on_prepare)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    if settings.metrics.enabled:
        app.router.add_get("/metrics", metrics.scrape)
    app.router.add_get("/withdrawals", withdrawals.feed)
    app.router.add_post("/withdrawals/ack", withdrawals.acknowledge)
    app.router.add_get("/withdrawals/key", withdrawals.public_key)
    app.add_subapp("/admin/", build_admin())
    for transaction in TRANSACTIONS:
        app.router.add_route(transaction.method, DICOMWEB_ROOT + transaction.path, transaction_handler(transaction))
    return app


def run(settings: Settings, *, worker: int | None = None) -> None:
    """Serve until SIGTERM or SIGINT, on uvloop, with JSON-lines logs. A numbered `worker` is one of several
    processes binding the same port with SO_REUSEPORT (gateway.cli.workers); None is the only one."""
    logs.configure(settings.log_level)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # aiohttp joins each chunk's framing and data into a new bytes before writing (a copy of every pixel byte)
    # on Pythons whose asyncio selector transport has the writelines flow-control bug (CPython gh-127655).
    # uvloop's transport is not that code: its writelines is a writev that respects the high-water mark.
    http_writer.SKIP_WRITELINES = False
    app = build_app(settings)
    settle_heap()
    listen = settings.listen
    bound = {"listen": f"{listen.host}:{listen.port}", "pid": os.getpid()}
    if worker is not None:
        bound["worker"] = worker
    web.run_app(
        app, host=listen.host, port=listen.port, reuse_port=worker is not None, access_log=None,
        print=lambda _banner: log.info("listening", extra=bound),  # called once the socket is bound
    )  # fmt: skip


def settle_heap() -> None:
    """Take what start-up built (modules, compiled profiles, the PS3.15 tables) out of the collector's sight,
    and let it run less often: a metadata answer parses into some 100,000 containers, and with the default
    thresholds each one starts collections that walk everything alive again (measured: JSON parsing ran 4-5x
    slower). Requests make few reference cycles; what they allocate is freed by reference counting."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    # The store and ledger threads hand their work back through the GIL; with the default 5 ms switch
    # interval a busy event loop keeps them waiting that long at each handover, and under 20 viewers at once
    # ledger appends ran past their 0.8 s deadline (503s and cut frames in bench_soak). 1 ms keeps them moving.
    sys.setswitchinterval(0.001)
