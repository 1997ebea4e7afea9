"""Small helpers handlers share: reaching app resources and bounding request bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway.adapters.upstream import UpstreamClient
from gateway.errors import PayloadTooLarge
from gateway.web.exchange import Exchange
from gateway.web.state import STOW_MAX_BYTES, TRANSACTION, UPSTREAM


def upstream_of(request: web.Request) -> UpstreamClient:
    """The origin, its requests counted on /metrics under this exchange's transaction (a name from the table)."""
    return request.app[UPSTREAM].serving(request[TRANSACTION])


def stow_body(exchange: Exchange) -> AsyncIterator[bytes]:
    """The STOW-RS request body as a stream, refused beyond the configured size."""
    request = exchange.request
    limit = request.app[STOW_MAX_BYTES]
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")
    return _bounded(request, limit)


async def _bounded(request: web.Request, limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in request.content.iter_chunked(1024 * 1024):
        seen += len(chunk)
        if seen > limit:
            raise PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")
        yield chunk
