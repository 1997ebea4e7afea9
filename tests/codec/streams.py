"""Helpers that feed bytes to the codec the way a socket would: in chunks cut anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from itertools import pairwise

from hypothesis import strategies as st


async def chunked(data: bytes, cuts: Iterable[int] = ()) -> AsyncIterator[bytes]:
    """`data` split at the given offsets (unsorted, repeats and out-of-range offsets allowed)."""
    edges = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    for start, end in pairwise(edges):
        yield data[start:end]


async def fixed(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def cuts_for(size: int) -> st.SearchStrategy[list[int]]:
    """Chunk edges: anywhere from none to many, biased toward small chunks."""
    return st.lists(st.integers(0, size), max_size=min(size, 64))
