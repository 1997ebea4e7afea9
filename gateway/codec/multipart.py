"""Streaming multipart/related (RFC 2046 §5.1, RFC 2387) for WADO-RS responses and STOW-RS requests.

Reading::

    async for part in iter_parts(chunks, boundary, side="upstream"):
        part.headers["Content-Type"]          # case-insensitive `Headers`
        async for view in part.body: ...      # memoryview slices of the received chunks, never the whole part
        # or: data = await part.read(limit)   # or: await part.skip()

`chunks` is any `AsyncIterator[bytes]`; chunk edges may fall anywhere, including inside a delimiter. Each
part must be consumed or skipped before the next is requested. The delimiter is CRLF "--" boundary, followed
by "--" (the end) or by optional transport padding and CRLF; "CRLF--boundary" followed by anything else is
body content, as in Go's mime/multipart. A part's Content-Length, when present, must equal the length found
by the delimiter scan: a mismatch means a cut, a smuggled delimiter or a broken origin, and we fail closed.
Input that ends before the closing delimiter raises "truncated multipart body", which is how the gateway
notices an origin that died mid-study. The epilogue is never read.

Writing: `MultipartWriter` only hands out the framing bytes; the caller writes bodies itself, so on failure it
can stop without the closing delimiter and the client cannot mistake a partial response for a whole one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from gateway.codec.headers import Headers
from gateway.codec.media import MediaType
from gateway.codec.side import Side, malformed, too_large

# Transport padding after a boundary is legal but never long; a bound keeps the look-ahead window small.
_MAX_PADDING = 256
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")


class BodyPart(Protocol):
    """What a reader of one part uses: a received `Part`, or one the gateway builds (gateway.codec.metadata_form)."""

    headers: Headers
    body: AsyncIterator[memoryview]

    async def skip(self) -> None: ...


class Part:
    """One body part: its `headers` and its `body`, an async iterator of memoryview slices."""

    def __init__(self, headers: Headers, reader: _Reader) -> None:
        self.headers = headers
        self._side = reader.side
        self.body: AsyncIterator[memoryview] = reader.body(_content_length(headers, reader.side))

    async def read(self, limit: int) -> bytes:
        """The whole body, refused beyond `limit` bytes (PayloadTooLarge from a client, 502 upstream)."""
        declared = _content_length(self.headers, self._side)
        if declared is not None and declared > limit:
            raise too_large(self._side, "multipart part exceeds the size limit")
        data = bytearray()
        async for view in self.body:
            if len(data) + len(view) > limit:
                raise too_large(self._side, "multipart part exceeds the size limit")
            data += view
        return bytes(data)

    async def skip(self) -> None:
        async for _ in self.body:
            pass


async def iter_parts(
    chunks: AsyncIterator[bytes],
    boundary: str,
    *,
    max_header_bytes: int = 16384,
    max_preamble_bytes: int = 65536,
    side: Side = "upstream",
) -> AsyncIterator[Part]:
    """Yield the parts of a multipart body, streaming; errors are BadRequest or UpstreamProtocolError by `side`."""
    reader = _Reader(chunks, boundary, side)
    await reader.skip_preamble(max_preamble_bytes)
    while not reader.closed:
        yield Part(await reader.read_headers(max_header_bytes), reader)
        if reader.in_body:
            raise RuntimeError("consume or skip each multipart part before asking for the next")


class _Reader:
    """A scan over the unconsumed input `data[pos:]`, replaced chunk by chunk.

    Between chunks only a short tail is carried over (a possible delimiter prefix, or an unfinished header
    block), so joining it to the next chunk is cheap, and body bytes are slices of the input chunks. The one
    full copy is of the first chunk, joined to the virtual CRLF.
    """

    def __init__(self, chunks: AsyncIterator[bytes], boundary: str, side: Side) -> None:
        if not boundary:
            raise ValueError("empty multipart boundary")
        self._chunks = chunks
        self._delimiter = b"\r\n--" + boundary.encode("ascii")
        self.side = side
        # A virtual CRLF lets the first boundary, which may open the body, match the general delimiter.
        self._data, self._pos = b"\r\n", 0
        self.closed = False
        self.in_body = False

    async def skip_preamble(self, limit: int) -> None:
        skipped = -2
        while True:
            end, after, final = self._locate()
            skipped += end - self._pos
            if skipped > limit:
                raise malformed(self.side, "multipart preamble too long")
            self._pos = end
            if after >= 0:
                self._pos, self.closed = after, final
                return
            await self._more()

    async def read_headers(self, limit: int) -> Headers:
        while True:
            data, pos = self._data, self._pos
            end = pos if data.startswith(b"\r\n", pos) else data.find(b"\r\n\r\n", pos)
            if end - pos > limit or (end < 0 and len(data) - pos > limit + 3):
                raise malformed(self.side, "multipart part headers too long")
            if end >= 0:
                break
            await self._more()
        try:
            headers = Headers.parse(data[pos:end])
        except ValueError as exc:
            raise malformed(self.side, str(exc)) from None
        self._pos = end + (2 if end == pos else 4)
        self.in_body = True
        return headers

    async def body(self, declared: int | None) -> AsyncIterator[memoryview]:
        sent = 0
        while True:
            start = self._pos
            end, after, final = self._locate()
            sent += end - start
            if declared is not None and (sent > declared or (after >= 0 and sent != declared)):
                raise malformed(self.side, "multipart part length differs from its Content-Length")
            self._pos = end
            if end > start:
                yield memoryview(self._data)[start:end]
            if after >= 0:
                # Only now, once the consumer has asked past the last slice, may the next part begin.
                self._pos, self.closed, self.in_body = after, final, False
                return
            await self._more()

    def _locate(self) -> tuple[int, int, bool]:
        """Scan from pos: (end, after, final). Bytes before `end` are content; `after` is -1 if undecided."""
        data, delimiter = self._data, self._delimiter
        found = data.find(delimiter, self._pos)
        while found >= 0:
            after = self._line_end(found + len(delimiter))
            if after is None:
                return found, -1, False
            if after >= 0:
                return found, after, data.startswith(b"--", found + len(delimiter))
            found = data.find(delimiter, found + 1)
        return self._unsafe_tail(), -1, False

    def _line_end(self, at: int) -> int | None:
        """Where a delimiter line whose boundary ends at `at` ends; -1 if it is no delimiter, None if unknown yet."""
        data, size = self._data, len(self._data)
        if data.startswith(b"--", at):
            return at + 2
        if at == size - 1 and data[at] == 0x2D:
            return None
        end = at
        while end < size and data[end] in b" \t":
            end += 1
        if end - at > _MAX_PADDING:
            raise malformed(self.side, "multipart transport padding too long")
        if end == size or (end == size - 1 and data[end] == 0x0D):
            return None
        return end + 2 if data.startswith(b"\r\n", end) else -1

    def _unsafe_tail(self) -> int:
        """The start of the shortest suffix that could begin a delimiter (len(data) if none)."""
        data, delimiter = self._data, self._delimiter
        cr = data.find(b"\r", max(self._pos, len(data) - len(delimiter) + 1))
        while cr >= 0 and not delimiter.startswith(data[cr:]):
            cr = data.find(b"\r", cr + 1)
        return len(data) if cr < 0 else cr

    async def _more(self) -> None:
        rest = self._data[self._pos :]
        chunk = b""
        while not chunk:
            next_chunk = await anext(self._chunks, None)
            if next_chunk is None:
                raise malformed(self.side, "truncated multipart body")
            chunk = bytes(next_chunk)
        self._data, self._pos = (rest + chunk if rest else chunk), 0


def _content_length(headers: Headers, side: Side) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise malformed(side, "bad part Content-Length")
    return int(value)


class MultipartWriter:
    """Framing bytes for a multipart/related body: `part_head`, body bytes, `part_tail`, ..., `close`.

    The default boundary is 192 random bits, so content (even hostile content) cannot predict it and the
    bodies need no scan for it.
    """

    def __init__(self, boundary: str | None = None, *, related_type: str, **params: str) -> None:
        self.boundary = boundary or secrets.token_hex(24)
        media = MediaType.build("multipart/related", type=related_type, boundary=self.boundary, **params)
        self.content_type = str(media)
        self._dash_boundary = b"--" + self.boundary.encode("ascii")

    def part_head(self, headers: Mapping[str, str]) -> bytes:
        """The boundary line, the header lines and the blank line that open one part."""
        lines = [self._dash_boundary]
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
                raise ValueError("part header name or value not allowed")
            lines.append(f"{name}: {value}".encode("latin-1"))
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def part_tail(self) -> bytes:
        """The CRLF that ends a part body (it belongs to the next delimiter, RFC 2046)."""
        return b"\r\n"

    def close(self) -> bytes:
        """The closing delimiter; write it only when every part went out whole."""
        return self._dash_boundary + b"--\r\n"
