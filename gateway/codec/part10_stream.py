"""Split one streaming DICOM Part 10 instance into header, pixel data and trailer.

    stream = Part10Stream(part.body, max_header_bytes=64 << 20, max_trailer_bytes=4 << 20)
    header = await stream.read_header()   # Part10Header: data, transfer_syntax, pixel_head
    async for view in stream.pixel_value():
        ...                               # memoryview slices, passed through untouched
    trailer = await stream.read_trailer()

The pieces concatenate back to the input: header.data + (header.pixel_head or b"") + pixel value + trailer.

- `header.data`: preamble, "DICM", file meta and every top-level element before PixelData (7FE0,0010), or
  before the first top-level element tagged above it when there is none; the whole file if neither.
- `header.pixel_head`: PixelData's own tag, VR and length bytes, or None without PixelData.
- the pixel value: `length` bytes when native; when encapsulated, its items streamed one by one up to and
  including the sequence delimiter.
- the trailer: the top-level elements after PixelData, e.g. (FFFA,FFFA) or private groups. They belong to
  the data set and need the same de-identification as the header; header.data + trailer parses as the
  instance without its pixels.

Calls must come in this order, each piece consumed whole. Faults in the instance raise a `Part10Error`:
`MalformedPart10` (an unknown transfer syntax, malformed or truncated elements) or `UnstreamablePart10` (a
deflated syntax, a header or trailer beyond its limit); what that means for the instance is the core's call
(gateway.core.instance). Faults in the underlying stream, such as a truncated multipart body, propagate
unchanged. After a `Part10Error` the stream is spent; to carry on with the next multipart part,
`await part.skip()` first.
`split_part10(data)` does the same over a whole buffer.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from gateway.codec.byte_source import ByteSource
from gateway.codec.part10_walk import HeaderEnd, fragment_head, malformed, walk_header
from gateway.errors import UnstreamablePart10

# Bytes pulled into the header buffer beyond what the walk asked for: fewer round trips for small elements,
# while copying at most this much pixel data per instance.
_READ_AHEAD = 8192


@dataclass(frozen=True)
class Part10Header:
    data: bytes
    transfer_syntax: str
    pixel_head: bytes | None


@dataclass(frozen=True)
class Part10Split:
    header: Part10Header
    pixel_value: bytes
    trailer: bytes


class Part10Stream:
    def __init__(
        self,
        chunks: AsyncIterable[bytes | memoryview],
        *,
        max_header_bytes: int = 64 << 20,
        max_trailer_bytes: int = 4 << 20,
    ) -> None:
        self._source = ByteSource(chunks)
        self._max_header_bytes = max_header_bytes
        self._max_trailer_bytes = max_trailer_bytes
        self._end: HeaderEnd | None = None
        self._last_piece = (0, memoryview(b""))
        self._stage = "header"

    async def read_header(self) -> Part10Header:
        self._advance("header", "pixels")
        buf = bytearray()
        walk = walk_header(buf)
        try:
            need = next(walk)
            while True:
                need = walk.send(await self._fill(buf, need))
        except StopIteration as stop:
            end: HeaderEnd = stop.value
        pixels = end.end + end.pixel_head
        # Every need the walk sent was at most `pixels`, so read-ahead lies within the last piece pulled:
        # hand back a view of that input chunk rather than a copy from the buffer.
        start, piece = self._last_piece
        self._source.unread(piece[pixels - start :])
        self._end = end
        head = bytes(buf[end.end : pixels]) if end.pixel_head else None
        return Part10Header(bytes(buf[: end.end]), end.transfer_syntax, head)

    async def pixel_value(self) -> AsyncIterator[memoryview]:
        self._advance("pixels", "streaming pixels")
        end = self._end
        assert end is not None
        try:
            if end.pixel_head and end.pixel_length is not None:
                async for view in self._source.stream(end.pixel_length):
                    yield view
            elif end.pixel_head:
                async for view in self._fragments(end):
                    yield view
        except EOFError:
            raise malformed("truncated pixel data") from None
        # Only a fully consumed value lets the trailer be read; a half-read one would leak into it.
        self._stage = "trailer"

    async def read_trailer(self) -> bytes:
        self._advance("trailer", "done")
        trailer = await self._source.read_rest(self._max_trailer_bytes)
        if trailer is None:
            raise UnstreamablePart10(f"part 10 trailer exceeds {self._max_trailer_bytes} bytes")
        return trailer

    async def hold(self, limit: int) -> int | None:
        """After the header: read what is left of the input into memory (views of its chunks), so that whatever
        the input comes from can move on. The bytes held, or None when they exceed `limit`; either way the
        pixel value and the trailer then read as they would have."""
        if self._stage != "pixels":
            raise RuntimeError(f"Part10Stream: hold requested while at {self._stage}")
        return await self._source.hold(limit)

    def _advance(self, expected: str, following: str) -> None:
        if self._stage != expected:
            raise RuntimeError(f"Part10Stream: {expected} requested while at {self._stage}")
        self._stage = following

    async def _fill(self, buf: bytearray, need: int) -> bool:
        if need > self._max_header_bytes:
            raise UnstreamablePart10(f"part 10 header exceeds {self._max_header_bytes} bytes")
        while len(buf) < need:
            chunk = await self._source.next_chunk()
            if chunk is None:
                return False
            take = max(need - len(buf), _READ_AHEAD)
            self._last_piece = (len(buf), chunk[:take])
            buf += chunk[:take]
            self._source.unread(chunk[take:])
        return True

    async def _fragments(self, end: HeaderEnd) -> AsyncIterator[memoryview]:
        while True:
            head = await self._source.read_exact(8)
            yield memoryview(head)
            length = fragment_head(head, end.layout)
            if length is None:
                return
            async for view in self._source.stream(length):
                yield view


def split_part10(data: bytes) -> Part10Split:
    """The same split over a whole instance in memory."""
    walk = walk_header(data)
    try:
        need = next(walk)
        while True:
            need = walk.send(len(data) >= need)
    except StopIteration as stop:
        end: HeaderEnd = stop.value
    pixels = end.end + end.pixel_head
    value_end = pixels + end.pixel_length if end.pixel_length is not None else _fragments_end(data, pixels, end)
    if value_end > len(data):
        raise malformed("truncated pixel data")
    head = data[end.end : pixels] if end.pixel_head else None
    header = Part10Header(data[: end.end], end.transfer_syntax, head)
    return Part10Split(header, data[pixels:value_end], data[value_end:])


def _fragments_end(data: bytes, pos: int, end: HeaderEnd) -> int:
    while True:
        if pos + 8 > len(data):
            raise malformed("truncated pixel data")
        length = fragment_head(data[pos : pos + 8], end.layout)
        pos += 8
        if length is None:
            return pos
        pos += length
