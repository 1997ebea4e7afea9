"""Ledger appends that arrive together are written together (gateway.adapters.group_commit), on both back ends:
one transaction (one fsync) on SQLite, one script call on Redis, keeping one chain."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from support.redis_server import RedisServer

from gateway.adapters.group_commit import GroupCommit
from gateway.adapters.redis.governance import RedisGovernance
from gateway.adapters.sqlite.governance import SqliteGovernance
from gateway.core.governance.chain import verify
from gateway.core.governance.store import GovernanceBackend

from .conftest import sealed
from .test_contract import draft


def _sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[GovernanceBackend, Callable[[], int]]:
    writes = 0
    transaction = SqliteGovernance._transaction

    def counted(self: SqliteGovernance, job, write: bool):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += write
        return transaction(self, job, write)

    monkeypatch.setattr(SqliteGovernance, "_transaction", counted)
    return SqliteGovernance(str(tmp_path / "ledger.sqlite3"), timeout=10), lambda: writes


def _redis(server: RedisServer) -> tuple[GovernanceBackend, Callable[[], int]]:
    def scripts() -> int:
        calls = server.command_calls()
        return calls.get("evalsha", 0) + calls.get("eval", 0)

    return RedisGovernance(server.url, timeout=10), scripts


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_concurrent_appends_share_writes(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        store, writes = _sqlite(tmp_path, monkeypatch)
    else:
        store, writes = _redis(request.getfixturevalue("redis_server"))
    try:
        records = sealed(store)
        await records.unlock()
        before = writes()
        written = await asyncio.gather(*(records.append(draft(n)) for n in range(30)))
        assert [entry.seq for entry in written] == list(range(1, 31))  # each caller gets its own entry, in order
        assert writes() - before < 30
        entries = await records.entries()
        assert entries == written and verify(entries, await store.head()).ok
    finally:
        await store.aclose()


class FirstWriteHeld:
    """A batch writer that records its batches and holds the first one until `release` is set."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()

    async def write(self, items: list[str]) -> list[str]:
        self.batches.append(items)
        if len(self.batches) == 1:
            await self.release.wait()
        return [f"written {item}" for item in items]

    async def under_way(self) -> None:
        while not self.batches:
            await asyncio.sleep(0)


async def test_what_arrives_during_a_write_goes_into_the_next_one() -> None:
    writer = FirstWriteHeld()
    commits: GroupCommit[str, str] = GroupCommit(writer.write, timeout=10, timed_out=TimeoutError)
    first = asyncio.create_task(commits.submit("0"))
    await writer.under_way()
    later = [asyncio.create_task(commits.submit(n)) for n in ("1", "2", "3")]
    await asyncio.sleep(0)
    writer.release.set()
    assert await first == "written 0"
    assert [await task for task in later] == ["written 1", "written 2", "written 3"]
    assert writer.batches == [["0"], ["1", "2", "3"]]


async def test_a_failed_write_fails_every_caller_of_its_batch_and_the_next_batch_still_goes() -> None:
    calls = 0

    async def write(items: list[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk gone")
        return items

    commits: GroupCommit[int, int] = GroupCommit(write, timeout=10, timed_out=TimeoutError)
    failed = await asyncio.gather(commits.submit(1), commits.submit(2), return_exceptions=True)
    assert all(isinstance(outcome, OSError) for outcome in failed)
    assert await commits.submit(3) == 3


async def test_a_caller_that_waited_too_long_gets_the_timeout_and_is_left_out_of_the_next_write() -> None:
    class Late(Exception):
        pass

    writer = FirstWriteHeld()
    commits: GroupCommit[str, str] = GroupCommit(writer.write, timeout=0.05, timed_out=Late)
    slow = asyncio.create_task(commits.submit("first"))
    await writer.under_way()
    with pytest.raises(Late):
        await commits.submit("gave up")  # queued behind the first write, which outlasts its timeout
    writer.release.set()
    with pytest.raises(Late):
        await slow
    await commits.drain()
    assert writer.batches == [["first"]]  # the one that gave up was never written
