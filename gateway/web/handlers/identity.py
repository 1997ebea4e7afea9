"""The identity path, for roles whose profile changes nothing (clinician): bytes pass through as they come.

Even here the gateway builds its own headers and rewrites every origin URL to its own base, and a multipart
body that ends without its closing boundary is cut, not completed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway.codec.media import MediaType
from gateway.core.transactions import Kind
from gateway.core.urls import StreamingReplace
from gateway.errors import UpstreamProtocolError
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import stow_body, upstream_of
from gateway.web.streaming import begin, pump, response_headers, upstream_request_headers

# Kinds whose bodies may carry origin URLs (RetrieveURL, BulkDataURI, per-part Content-Location).
_URL_BEARING = frozenset({Kind.SEARCH, Kind.METADATA, Kind.FRAMES, Kind.STORE})


async def handle(exchange: Exchange) -> web.StreamResponse:
    request = exchange.request
    body = stow_body(exchange) if exchange.transaction.kind is Kind.STORE else None
    async with upstream_of(request).request(
        request.method,
        exchange.upstream_path,
        query=list(request.rel_url.query.items()),
        headers=upstream_request_headers(request),
        body=body,
    ) as upstream:
        response = await begin(request, upstream.status, response_headers(upstream.headers, exchange.urls))
        chunks = upstream.chunks()
        if exchange.transaction.kind in _URL_BEARING:
            chunks = _rewrite_urls(chunks, exchange)
        media = MediaType.parse(upstream.headers.get("Content-Type", "application/octet-stream"), side="upstream")
        if media.boundary is not None:
            chunks = _require_closing_boundary(chunks, media.boundary)
        await pump(request, response, chunks)
        return response


async def _rewrite_urls(chunks: AsyncIterator[bytes], exchange: Exchange) -> AsyncIterator[bytes]:
    replace = StreamingReplace(exchange.urls.upstream_base.encode(), exchange.urls.public_base.encode())
    async for chunk in chunks:
        yield replace.feed(chunk)
    yield replace.flush()


async def _require_closing_boundary(chunks: AsyncIterator[bytes], boundary: str) -> AsyncIterator[bytes]:
    closing = b"--" + boundary.encode() + b"--"
    tail = b""
    async for chunk in chunks:
        yield chunk
        tail = (tail + chunk[-len(closing) - 8 :])[-len(closing) - 8 :]
    if closing not in tail:
        raise UpstreamProtocolError("the origin server's multipart body ended without its closing boundary")
