"""`GET /metrics` in the Prometheus text format. No credentials, like /healthz: it carries counts, never data."""

from __future__ import annotations

from aiohttp import web

from gateway import metrics


async def scrape(request: web.Request) -> web.Response:
    return web.Response(body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})
