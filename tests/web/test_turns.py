"""Turns at metadata rewrites: one at a time, the earliest request first whenever it has work ready."""

from __future__ import annotations

import asyncio

import pytest

from gateway.web.turns import Turns


async def _worker(turns: Turns, ticket: int, steps: int, log: list[int], gate: asyncio.Event | None = None) -> None:
    for _ in range(steps):
        if gate is not None:
            await gate.wait()
        async with turns.turn(ticket):
            log.append(ticket)
            await asyncio.sleep(0)  # work that yields, as the rewrite does every 32 objects


async def _hold(turns: Turns, ticket: int, release: asyncio.Event) -> None:
    """A request busy in its turn until the test releases it."""
    async with turns.turn(ticket):
        await release.wait()


async def test_waiting_requests_are_served_earliest_first_not_as_they_queued() -> None:
    turns, log = Turns(), []
    busy, first, second, third = (turns.ticket() for _ in range(4))
    release = asyncio.Event()
    holding = asyncio.create_task(_hold(turns, busy, release))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(_worker(turns, ticket, 1, log)) for ticket in (third, first, second)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(holding, *waiting)
    assert log == [first, second, third]


async def test_a_request_without_work_ready_lets_the_later_ones_through() -> None:
    turns, log = Turns(), []
    first, second = turns.ticket(), turns.ticket()
    stalled = asyncio.Event()  # the first request's next chunk has not arrived (or its client reads slowly)
    task = asyncio.create_task(_worker(turns, first, 1, log, stalled))
    await _worker(turns, second, 2, log)
    assert log == [second, second]
    stalled.set()
    await task
    assert log == [second, second, first]


async def test_a_cancelled_waiter_neither_holds_nor_loses_the_turn() -> None:
    turns = Turns()
    holder, waiter, later = turns.ticket(), turns.ticket(), turns.ticket()
    release = asyncio.Event()
    holding = asyncio.create_task(_hold(turns, holder, release))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(_worker(turns, waiter, 1, []))
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    await holding
    with pytest.raises(asyncio.CancelledError):
        await waiting
    log: list[int] = []
    await asyncio.wait_for(_worker(turns, later, 1, log), 1)
    assert log == [later]
