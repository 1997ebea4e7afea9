"""Freed heap pages given back to the system (gateway.adapters.heap)."""

from __future__ import annotations

import sys

import pytest

from gateway.adapters.heap import malloc_trim

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim is Linux's")


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6


def test_the_pages_of_blocks_freed_below_a_live_one_go_back_to_the_system() -> None:
    trim = malloc_trim()
    assert trim is not None  # CI runs on glibc: a missing trim would leave the soak's RSS where it was
    # Blocks above pymalloc's 512 bytes and below malloc's mmap threshold come from the heap; the last one,
    # kept, pins the top, so freeing the others returns nothing by itself.
    blocks = [bytearray(100_000) for _ in range(400)]
    for block in blocks:
        block[::4096] = b"\1" * len(block[::4096])  # touched, so resident
    last = blocks[-1]
    del blocks
    before = _resident_mb()
    trim()
    assert before - _resident_mb() > 20
    assert len(last) == 100_000
