"""The identity path, for roles whose profile changes nothing (clinician): bytes pass through as they come.

Even here the gateway builds its own headers and rewrites every origin URL to its own base, and a multipart
body that ends without its closing boundary is cut, not completed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway.codec.media import MediaType
from gateway.codec.multipart import MultipartWriter, iter_parts
from gateway.core.transactions import Kind
from gateway.core.urls import StreamingReplace
from gateway.errors import UpstreamProtocolError
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import stow_body, upstream_of
from gateway.web.streaming import begin, pump, response_headers, upstream_request_headers

# Kinds whose bodies may carry origin URLs (RetrieveURL, BulkDataURI, a STOW answer's RetrieveURLs). In frames
# and bulk data only the part headers do (Content-Location); their bodies are pixels and documents.
_URL_BEARING = frozenset({Kind.SEARCH, Kind.METADATA, Kind.STORE})


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
        media = MediaType.parse(upstream.headers.get("Content-Type", "application/octet-stream"), side="upstream")
        if exchange.transaction.kind in _URL_BEARING:
            chunks = _rewrite_urls(chunks, exchange)
        out: AsyncIterator[bytes | memoryview] = chunks
        if media.boundary is not None and exchange.transaction.kind is Kind.FRAMES and upstream.status == 200:
            out = _rewrite_part_locations(chunks, media.boundary, exchange)
        elif media.boundary is not None:
            out = _require_closing_boundary(chunks, media.boundary)
        await pump(request, response, out)
        return response


async def _rewrite_urls(chunks: AsyncIterator[bytes], exchange: Exchange) -> AsyncIterator[bytes]:
    replace = StreamingReplace(exchange.urls.upstream_base.encode(), exchange.urls.public_base.encode())
    async for chunk in chunks:
        yield replace.feed(chunk)
    yield replace.flush()


async def _rewrite_part_locations(
    chunks: AsyncIterator[bytes], boundary: str, exchange: Exchange
) -> AsyncIterator[bytes | memoryview]:
    """A frames or bulk data answer under the origin's own boundary, each part's Content-Location pointing at the
    gateway and its body untouched. A body cut before its closing delimiter raises (iter_parts), so it is cut."""
    writer = MultipartWriter(boundary, related_type="application/octet-stream")
    async for part in iter_parts(chunks, boundary, side="upstream"):
        headers = dict(part.headers)
        for name in headers:
            if name.lower() == "content-location":
                headers[name] = exchange.urls.to_public(headers[name])
        yield writer.part_head(headers)
        async for view in part.body:
            yield view
        yield writer.part_tail()
    yield writer.close()


async def _require_closing_boundary(chunks: AsyncIterator[bytes], boundary: str) -> AsyncIterator[bytes]:
    closing = b"--" + boundary.encode() + b"--"
    tail = b""
    async for chunk in chunks:
        yield chunk
        tail = (tail + chunk[-len(closing) - 8 :])[-len(closing) - 8 :]
    if closing not in tail:
        raise UpstreamProtocolError("the origin server's multipart body ended without its closing boundary")
