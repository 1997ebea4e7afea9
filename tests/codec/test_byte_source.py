"""ByteSource.hold: what the retrieve read-ahead rests on. Held or not, the bytes read back as they came."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.codec.byte_source import ByteSource

from .streams import chunked, cuts_for

DATA = bytes(range(256)) * 8


async def _after(cuts: list[int], first: int, limit: int) -> tuple[int | None, bytes, bytes]:
    source = ByteSource(chunked(DATA, cuts))
    head = await source.read_exact(first)
    held = await source.hold(limit)
    rest = await source.read_rest(len(DATA))
    assert rest is not None
    return held, head, rest


@settings(max_examples=200, deadline=None)
@given(cuts=cuts_for(len(DATA)), first=st.integers(0, len(DATA)), limit=st.integers(0, len(DATA)))
def test_held_or_not_the_rest_reads_as_it_came(cuts: list[int], first: int, limit: int) -> None:
    held, head, rest = asyncio.run(_after(cuts, first, limit))
    assert head + rest == DATA
    left = len(DATA) - first
    assert held == (left if left <= limit else None)
