"""Group commit for ledger appends: what arrives while a batch is being written goes into the next one.

A viewer fetches frames six at a time, and every frames answer waits for its ledger entry. Written one by one,
the appends queue behind each other for one durable write each (an fsync on SQLite, an `appendfsync always`
script call on Redis, and a witness write). Batched, the appends that arrive during a write share the next one,
and each caller still returns only once its own entry is durable. Both back ends use this one queue; each says
how it writes a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Written = TypeVar("Written")


class GroupCommit(Generic[Item, Written]):
    def __init__(
        self,
        write: Callable[[list[Item]], Awaitable[list[Written]]],
        *,
        timeout: float,
        timed_out: Callable[[], Exception],
    ) -> None:
        """`write` makes a batch durable and returns what was written for each item, in order; a caller waits at
        most `timeout` seconds for its own, and then gets `timed_out()`."""
        self._write = write
        self._timeout = timeout
        self._timed_out = timed_out
        self._queued: list[tuple[Item, asyncio.Future[Written]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Written:
        written: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        self._queued.append((item, written))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(written)
        except TimeoutError:
            raise self._timed_out() from None
        finally:
            written.cancel()  # a no-op once answered; if the caller gave up first, the committer skips the item

    async def drain(self) -> None:
        """Wait for the batches under way (before the store closes)."""
        if self._committer is not None:
            await self._committer

    async def _commit_queued(self) -> None:
        while self._queued:
            batch = [queued for queued in self._queued if not queued[1].done()]
            self._queued = []
            if not batch:  # every caller of this round gave up before it was written
                continue
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as exc:  # every caller in the batch gets the error its own write would have raised
                for _, written in batch:
                    if not written.done():
                        written.set_exception(exc)
                continue
            for (_, written), result in zip(batch, results, strict=True):
                if not written.done():
                    written.set_result(result)
