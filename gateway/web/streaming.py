"""Headers and body plumbing shared by every handler.

The gateway builds its own outgoing headers: only the ones named here cross, the upstream Content-Length
never does (bodies may change size), and URLs are rewritten. Once the first byte is out, an error can only
abort the connection: the closing boundary or final chunk is never written, so the client cannot mistake a
cut body for a complete one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from aiohttp import web
from multidict import CIMultiDict

from gateway.core.urls import UrlMap
from gateway.web.state import STARTED

log = logging.getLogger("gateway.stream")

Write = Callable[[bytes | memoryview], Awaitable[None]]
# Request headers the origin needs to negotiate representations; nothing else crosses.
FORWARDED_REQUEST_HEADERS = ("Accept", "Accept-Charset", "Content-Type")


def upstream_request_headers(request: web.Request) -> dict[str, str]:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    headers["Accept-Encoding"] = "identity"
    return headers


def response_headers(upstream: Mapping[str, str], urls: UrlMap, *, content_type: str | None = None) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    kind = content_type or upstream.get("Content-Type")
    if kind:
        headers["Content-Type"] = kind
    for name in ("Content-Location", "Location"):
        if name in upstream:
            headers[name] = urls.to_public(upstream[name])
    return headers


async def begin(
    request: web.Request, status: int, headers: Mapping[str, str], *, length: int | None = None
) -> web.StreamResponse:
    """Send the status line and headers: the body follows with its `length`, or chunked when it is not known."""
    response = web.StreamResponse(status=status, headers=headers)
    if length is None:
        response.enable_chunked_encoding()
    else:
        response.content_length = length
    await response.prepare(request)
    request[STARTED] = True
    return response


async def pump(request: web.Request, response: web.StreamResponse, body: AsyncIterator[bytes | memoryview]) -> int:
    """Write a body; on any failure abort the connection instead of ending the response."""
    written = 0
    try:
        async for chunk in body:
            await response.write(chunk)
            written += len(chunk)
    except Exception as exc:
        abort(request, exc)
        return written
    await response.write_eof()
    return written


def abort(request: web.Request, exc: BaseException) -> None:
    """Cut the connection mid-body. Any failure once bytes are out ends here, expected or not."""
    log.warning("stream aborted", extra={"error": type(exc).__name__})
    if request.transport is not None:
        request.transport.abort()


class Coalesced:
    """Small pieces (a part's head, its rewritten header, the pixel element's head, the last part's tail) sent
    as one write. Each write is a chunk on the wire and, most often, a system call: a study of 500 parts made
    four small ones per part. Large pieces (pixel chunks) go as they are, never copied."""

    SMALL = 64 * 1024

    def __init__(self, write: Write) -> None:
        self._write = write
        self._pending: list[bytes | memoryview] = []
        self._size = 0

    async def write(self, data: bytes | memoryview) -> None:
        if len(data) < self.SMALL:
            self._pending.append(data)
            self._size += len(data)
            if self._size >= self.SMALL:
                await self.flush()
            return
        await self.flush()
        await self._write(data)

    async def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._size = 0
            await self._write(data)
