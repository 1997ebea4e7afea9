"""Exact-size reads and zero-copy pass-through over an async stream of chunks, with push-back."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator


class ByteSource:
    """Chunks from `chunks`, handed out as memoryview slices; `unread` puts a slice back in front."""

    def __init__(self, chunks: AsyncIterable[bytes | memoryview]) -> None:
        self._chunks = aiter(chunks)
        self._pushed: list[memoryview] = []

    async def next_chunk(self) -> memoryview | None:
        """The next non-empty chunk, or None at the end of input."""
        if self._pushed:
            return self._pushed.pop()
        async for chunk in self._chunks:
            if chunk:
                return memoryview(chunk).cast("B")
        return None

    def unread(self, view: memoryview) -> None:
        if view:
            self._pushed.append(view)

    async def read_exact(self, size: int) -> bytes:
        """Exactly `size` bytes; EOFError if the input ends first."""
        data = bytearray()
        async for view in self.stream(size):
            data += view
        return bytes(data)

    async def stream(self, size: int) -> AsyncIterator[memoryview]:
        """Pass the next `size` bytes through as slices of the input chunks; EOFError if the input ends first."""
        while size:
            chunk = await self.next_chunk()
            if chunk is None:
                raise EOFError
            if len(chunk) > size:
                self.unread(chunk[size:])
                chunk = chunk[:size]
            size -= len(chunk)
            yield chunk

    async def read_rest(self, limit: int) -> bytes | None:
        """Everything left, or None if it exceeds `limit` bytes."""
        data = bytearray()
        while (chunk := await self.next_chunk()) is not None:
            if len(data) + len(chunk) > limit:
                return None
            data += chunk
        return bytes(data)

    async def hold(self, limit: int) -> int | None:
        """Pull the rest of the input into memory, up to `limit` bytes: their count, or None when there is more
        (what was pulled is then handed out first, and the rest of the input after it)."""
        held = self._pushed[::-1]
        self._pushed = []
        size = sum(map(len, held))
        whole = True
        while size <= limit:
            chunk = await self.next_chunk()
            if chunk is None:
                break
            held.append(chunk)
            size += len(chunk)
        else:
            whole = False
        self._chunks = _replay(held, None if whole else self._chunks)
        return size if whole else None


async def _replay(
    held: list[memoryview], rest: AsyncIterator[bytes | memoryview] | None
) -> AsyncIterator[bytes | memoryview]:
    for view in held:
        yield view
    if rest is not None:
        async for chunk in rest:
            yield chunk
