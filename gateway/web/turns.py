"""Turns at CPU work, one at a time and first come, first served by request (not by step).

A metadata answer is rewritten a chunk at a time as it streams; each chunk takes a turn, and the turn is never
held while the client reads. With a plain semaphore, twenty viewers opening at once would take turns round
robin and all finish late together; here the request that came first goes first whenever it has a chunk
ready, so answers finish one after another, as when each was rewritten whole, and a slow reader only lets
the others through.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    def __init__(self) -> None:
        self._tickets = itertools.count()
        self._busy = False
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []  # a heap by ticket: the earliest request first

    def ticket(self) -> int:
        """A request's place in line, taken once when it starts."""
        return next(self._tickets)

    @asynccontextmanager
    async def turn(self, ticket: int) -> AsyncIterator[None]:
        if self._busy or self._waiting:
            granted = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (ticket, granted))
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._hand_on()  # given the turn as it was cancelled: the next one takes it
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        while self._waiting:
            _, granted = heapq.heappop(self._waiting)
            if not granted.done():  # a waiter cancelled meanwhile is passed over
                granted.set_result(None)
                return
        self._busy = False
