"""The gateway's timer that trims the heap while it serves (gateway.web.resources.heap_ctx)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from gateway.web import resources


async def test_the_heap_is_trimmed_on_a_timer_until_the_gateway_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[None] = []
    monkeypatch.setattr(resources, "malloc_trim", lambda: lambda: calls.append(None))
    monkeypatch.setattr(resources, "TRIM_EVERY_S", 0.001)
    context = resources.heap_ctx(web.Application())
    await anext(context)
    for _ in range(200):
        if len(calls) >= 3:
            break
        await asyncio.sleep(0.005)
    assert len(calls) >= 3
    with pytest.raises(StopAsyncIteration):
        await anext(context)
    closed_at = len(calls)
    await asyncio.sleep(0.02)
    assert len(calls) == closed_at


async def test_without_a_trim_to_call_the_gateway_serves_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "malloc_trim", lambda: None)
    context = resources.heap_ctx(web.Application())
    await anext(context)
    with pytest.raises(StopAsyncIteration):
        await anext(context)
