"""Typed app state and the cleanup contexts that open and close each long-lived resource."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from gateway.adapters.backends import open_store, refuse_unreadable, sealed_for
from gateway.adapters.heap import TRIM_EVERY_S, malloc_trim
from gateway.adapters.ocr import TesseractPool
from gateway.adapters.upstream import UpstreamClient
from gateway.core.governance.oversight import Oversight
from gateway.core.governance.profiles import ProfileEditor
from gateway.core.governance.store import GovernanceStore
from gateway.core.keys import Keyring
from gateway.core.pseudonyms.migration import unlock
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.roles import RoleBook
from gateway.errors import ConfigError, StoreUnavailable
from gateway.settings import Settings
from gateway.web.ocr_jobs import OcrJobs
from gateway.web.state import EDITOR, GOVERNANCE, OCR, OCR_JOBS, OVERSIGHT, RESOLVER, SETTINGS, STORE, UPSTREAM

log = logging.getLogger("gateway")


async def upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    client = UpstreamClient(
        settings.upstream.url,
        timeout_s=settings.upstream.timeout_s,
        max_connections=settings.upstream.max_connections,
    )
    await client.open()
    app[UPSTREAM] = client
    yield
    await client.aclose()


async def heap_ctx(app: web.Application) -> AsyncIterator[None]:
    """Freed heap pages given back to the system every TRIM_EVERY_S while the gateway serves (adapters/heap.py)."""
    trim = malloc_trim()
    task = asyncio.create_task(_trim_every(trim, TRIM_EVERY_S)) if trim is not None else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _trim_every(trim: Callable[[], object], seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        trim()


OCR_WORKERS = 1  # Tesseract reads at once: the machine's other core serves the event loop


async def ocr_ctx(app: web.Application) -> AsyncIterator[None]:
    """The OCR process pool (its worker starts at the first read) and the reads in flight, cancelled at close."""
    pool = TesseractPool(OCR_WORKERS)
    pool.open()
    app[OCR], app[OCR_JOBS] = pool, OcrJobs()
    yield
    await app[OCR_JOBS].close()
    pool.close()


async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = open_store(settings.store.url, timeout=settings.store.timeout_s)
    app[STORE] = store
    keyring = Keyring(settings.secret.get_secret_value().encode())
    records = ("pseudonyms", "pseudonym keys")
    await refuse_unreadable(settings, "store.url", lambda: unlock(store, keyring), store.aclose, records=records)
    app[RESOLVER] = Resolver(store, keyring, settings.key_version)
    yield
    await store.aclose()


def governance_ctx(roles: RoleBook) -> Callable[[web.Application], AsyncIterator[None]]:
    """The opt-out registry, ledger and edited profiles; `roles` is the book that edited profiles swap into."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        store = sealed_for(settings)
        await _require_durable(settings, store)
        key = "governance.url" if settings.governance.url else "store.url"
        records = ("the governance records", "governance records")
        await refuse_unreadable(settings, key, store.unlock, store.aclose, records=records)
        editor = ProfileEditor(roles, settings.roles_dir)
        app[GOVERNANCE], app[EDITOR] = store, editor
        app[OVERSIGHT] = Oversight(store, editor.apply, refresh_s=settings.governance.refresh_s)
        yield
        await store.aclose()

    return ctx


async def _require_durable(settings: Settings, store: GovernanceStore) -> None:
    """Refuse to start on a ledger store that could lose an append after it returned. One that cannot be asked
    now (down at start) is not refused: readiness reports it, and every append fails closed until it is back."""
    try:
        problem = await store.durability_problem()
    except StoreUnavailable:
        log.warning("ledger durability not confirmed: governance store unavailable", extra={"kind": "durability"})
        return
    if problem is not None:
        await store.aclose()
        raise ConfigError(settings.source, "governance.url" if settings.governance.url else "store.url", problem)
    if settings.governance.witness_path is None:
        log.warning("the ledger has no witness (governance.witness_path)", extra={"kind": "durability"})
