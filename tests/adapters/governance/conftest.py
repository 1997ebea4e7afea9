"""The two governance back ends under one fixture, so every contract test runs against both.

Each back end also knows how to tamper with its own ledger the way an intruder with write access to the
store would: rewrite an entry's stored text (SQLite) or delete a stream entry (Redis, whose stream entries
cannot be edited in place), or delete the last entry; and how to lose it the way an accident would: roll the
tail back (head and all), or come back empty. Every store is opened with a witness (gateway.adapters.witness).
`dump` is what a copy of the store gives someone who has it but not the secret: every value it holds, read around
the code under test, and the bytes of its files, where deleted records can linger (SQLite's file and WAL, Redis's
append-only file). `write_legacy` writes the clear layout of the code before issue 12 (legacy.py).

`open` gives the back end itself; the `store` fixture gives the records in clear over it, as the gateway has them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Protocol

import pytest
import redis
from support.redis_server import RedisServer

from gateway.adapters.redis.governance import HEAD, LEDGER, RedisGovernance
from gateway.adapters.sqlite.governance import SqliteGovernance
from gateway.adapters.witness import Witness
from gateway.core.governance.model import Head, LedgerEntry, OptOut
from gateway.core.governance.sealed import SealedGovernance
from gateway.core.governance.store import GovernanceBackend, GovernanceStore
from gateway.core.keys import Keyring

from . import legacy

SECRET = b"governance-contract-secret-0123456789"


def sealed(store: GovernanceBackend, secret: bytes = SECRET) -> SealedGovernance:
    return SealedGovernance(store, Keyring(secret))


class Backend(Protocol):
    name: str

    witness: Path

    def open(self, *, timeout: float = 1.0) -> GovernanceBackend: ...

    def change_entry(self, seq: int) -> None: ...

    def delete_entry(self, seq: int) -> None: ...

    def replace_entry(self, entry: LedgerEntry) -> None:
        """Write `entry` (as kept) over the stored entry of its seq."""

    def roll_back(self, entries: int) -> None:
        """Lose the last `entries` entries and point the head at the one before, as a restored backup would."""

    def lose_everything(self) -> None: ...

    def dump(self) -> bytes: ...

    def write_legacy(self, optouts: list[OptOut], entries: list[LedgerEntry], head: Head) -> None: ...


class SqliteBackend:
    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "pseudonyms.sqlite3"
        self.witness = directory / "ledger-head.json"

    def open(self, *, timeout: float = 1.0) -> SqliteGovernance:
        return SqliteGovernance(str(self.path), timeout=timeout, witness=Witness(self.witness))

    def roll_back(self, entries: int) -> None:
        with sqlite3.connect(self.path) as db:
            (last,) = db.execute("SELECT MAX(seq) FROM gov_sealed_ledger").fetchone()
            db.execute("DELETE FROM gov_sealed_ledger WHERE seq > ?", (last - entries,))
            (text,) = db.execute("SELECT entry FROM gov_sealed_ledger WHERE seq = ?", (last - entries,)).fetchone()
            db.execute("UPDATE gov_ledger_head SET seq = ?, hash = ?", (last - entries, json.loads(text)["hash"]))

    def lose_everything(self) -> None:
        for leftover in self.path.parent.glob(self.path.name + "*"):
            leftover.unlink()

    def dump(self) -> bytes:
        files = b"".join(f.read_bytes() for f in sorted(self.path.parent.glob(self.path.name + "*")))
        with closing(sqlite3.connect(self.path)) as db:
            tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            rows = [repr(db.execute(f'SELECT * FROM "{table}"').fetchall()) for table in tables]
        return files + "\n".join(rows).encode("utf-8")

    def write_legacy(self, optouts: list[OptOut], entries: list[LedgerEntry], head: Head) -> None:
        legacy.write_sqlite(self.path, optouts, entries, head)

    def change_entry(self, seq: int) -> None:
        with sqlite3.connect(self.path) as db:
            (text,) = db.execute("SELECT entry FROM gov_sealed_ledger WHERE seq = ?", (seq,)).fetchone()
            entry = json.loads(text)
            entry["actor"] = "someone-else"
            db.execute("UPDATE gov_sealed_ledger SET entry = ? WHERE seq = ?", (json.dumps(entry), seq))

    def delete_entry(self, seq: int) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("DELETE FROM gov_sealed_ledger WHERE seq = ?", (seq,))

    def replace_entry(self, entry: LedgerEntry) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("UPDATE gov_sealed_ledger SET entry = ? WHERE seq = ?", (json.dumps(entry.as_dict()), entry.seq))


class RedisBackend:
    name = "redis"

    def __init__(self, server: RedisServer, directory: Path) -> None:
        self.server = server
        self.witness = directory / "ledger-head.json"

    def open(self, *, timeout: float = 1.0) -> RedisGovernance:
        return RedisGovernance(self.server.url, timeout=timeout, witness=Witness(self.witness))

    def roll_back(self, entries: int) -> None:
        last = int(self.server.command("HGET", HEAD, "seq"))
        for seq in range(last - entries + 1, last + 1):
            self.server.command("XDEL", LEDGER, f"{seq}-1")
        kept = json.loads(self.server.command("XRANGE", LEDGER, "-", "+").splitlines()[-1])
        self.server.command("HSET", HEAD, "seq", str(last - entries), "hash", kept["hash"])

    def lose_everything(self) -> None:
        """Redis restarted without its append-only file: it comes back empty."""
        self.server.stop()
        for leftover in self.server.dir.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover)
            elif leftover.name != "redis.log":
                leftover.unlink()
        self.server.start()

    def change_entry(self, seq: int) -> None:
        # A stream entry cannot be rewritten in place: the closest an intruder gets is delete and re-add.
        self.server.command("XDEL", LEDGER, f"{seq}-1")
        self.server.command("XADD", LEDGER, "*", "entry", json.dumps({"seq": seq, "actor": "someone-else"}))

    def delete_entry(self, seq: int) -> None:
        self.server.command("XDEL", LEDGER, f"{seq}-1")

    def replace_entry(self, entry: LedgerEntry) -> None:
        # Stream items cannot be rewritten, nor re-added under an old ID: an intruder rebuilds the whole stream.
        with closing(redis.Redis.from_url(self.server.url, decode_responses=True)) as client:
            items = client.xrange(LEDGER)
            client.delete(LEDGER)
            for stream_id, fields in items:
                if stream_id == f"{entry.seq}-1":
                    fields = {"entry": json.dumps(entry.as_dict())}
                client.xadd(LEDGER, fields, id=stream_id)

    def dump(self) -> bytes:
        return self.server.dump()

    def write_legacy(self, optouts: list[OptOut], entries: list[LedgerEntry], head: Head) -> None:
        legacy.write_redis(self.server.url, optouts, entries, head)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path)
    return RedisBackend(request.getfixturevalue("redis_server"), tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[GovernanceStore]:
    opened = sealed(backend.open())
    try:
        yield opened
    finally:
        await opened.aclose()
