"""Liveness and readiness. Neither needs credentials, and neither says anything about the data."""

from __future__ import annotations

from collections.abc import Awaitable

from aiohttp import web

from gateway.web.state import GOVERNANCE, STORE, UPSTREAM


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when every service a de-identifying request needs answers: the origin, the pseudonym store and the
    governance store (opt-outs and the ledger); each is named, so the one that failed shows."""
    checks = {
        "upstream": await request.app[UPSTREAM].reachable(),
        "store": await _answers(request.app[STORE].ping()),
        "governance": await _answers(request.app[GOVERNANCE].ping()),
    }
    return web.json_response({"ready": all(checks.values()), **checks}, status=200 if all(checks.values()) else 503)


async def _answers(ping: Awaitable[None]) -> bool:
    try:
        await ping
    except Exception:
        return False
    return True
