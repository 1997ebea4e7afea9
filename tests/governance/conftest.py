"""The two governance back ends under one fixture, so every contract test runs against both.

Each back end also knows how to tamper with its own ledger the way an intruder with write access to the
store would: rewrite an entry's stored text (SQLite) or delete a stream entry (Redis, whose stream entries
cannot be edited in place), or delete the last entry.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import pytest
from support.redis_server import RedisServer

from gateway.governance.redis_store import LEDGER, RedisGovernance
from gateway.governance.sqlite import SqliteGovernance
from gateway.governance.store import GovernanceStore


class Backend(Protocol):
    name: str

    def open(self, *, timeout: float = 1.0) -> GovernanceStore: ...

    def change_entry(self, seq: int) -> None: ...

    def delete_entry(self, seq: int) -> None: ...


class SqliteBackend:
    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "pseudonyms.sqlite3"

    def open(self, *, timeout: float = 1.0) -> SqliteGovernance:
        return SqliteGovernance(str(self.path), timeout=timeout)

    def change_entry(self, seq: int) -> None:
        with sqlite3.connect(self.path) as db:
            (text,) = db.execute("SELECT entry FROM gov_ledger WHERE seq = ?", (seq,)).fetchone()
            entry = json.loads(text)
            entry["actor"] = "someone-else"
            db.execute("UPDATE gov_ledger SET entry = ? WHERE seq = ?", (json.dumps(entry), seq))

    def delete_entry(self, seq: int) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("DELETE FROM gov_ledger WHERE seq = ?", (seq,))


class RedisBackend:
    name = "redis"

    def __init__(self, server: RedisServer) -> None:
        self.server = server

    def open(self, *, timeout: float = 1.0) -> RedisGovernance:
        return RedisGovernance(self.server.url, timeout=timeout)

    def change_entry(self, seq: int) -> None:
        # A stream entry cannot be rewritten in place: the closest an intruder gets is delete and re-add.
        self.server.command("XDEL", LEDGER, f"{seq}-1")
        self.server.command("XADD", LEDGER, "*", "entry", json.dumps({"seq": seq, "actor": "someone-else"}))

    def delete_entry(self, seq: int) -> None:
        self.server.command("XDEL", LEDGER, f"{seq}-1")


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path)
    return RedisBackend(request.getfixturevalue("redis_server"))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[GovernanceStore]:
    opened = backend.open()
    try:
        yield opened
    finally:
        await opened.aclose()
