"""Liveness and readiness. Neither needs credentials, and neither says anything about the data."""

from __future__ import annotations

from aiohttp import web

from gateway.handlers.common import upstream_of
from gateway.resources import STORE


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


async def readyz(request: web.Request) -> web.Response:
    checks = {"upstream": await upstream_of(request).reachable(), "store": await _store_ready(request)}
    return web.json_response({"ready": all(checks.values()), **checks}, status=200 if all(checks.values()) else 503)


async def _store_ready(request: web.Request) -> bool:
    try:
        await request.app[STORE].ping()
    except Exception:
        return False
    return True
