"""The embedded pseudonym store: one SQLite file, durable on disk, for single-node gateways.

SQLite calls block, so each store owns one worker thread and one connection; the event loop only awaits the
worker. WAL keeps readers and the writer from blocking each other, and busy_timeout lets several gateway
processes share the file: a get-or-create batch is one BEGIN IMMEDIATE transaction (INSERT OR IGNORE, then
SELECT), so the first process to commit a value wins and every other process reads that value. SQLite's lock
is not fair: under a burst of first sightings one process can hold it for a long run of transactions while
the others wait (up to the timeout). Several replicas belong on Redis.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from gateway.cache.model import IdKind
from gateway.cache.reversal import keeps_reverse
from gateway.cache.sqlite_file import open_shared
from gateway.errors import StoreUnavailable

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scope (name TEXT PRIMARY KEY, key_version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forward (
    scope TEXT NOT NULL, kind TEXT NOT NULL, real TEXT NOT NULL, pseudo TEXT NOT NULL,
    PRIMARY KEY (scope, kind, real)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reverse (
    scope TEXT NOT NULL, kind TEXT NOT NULL, pseudo TEXT NOT NULL, real TEXT NOT NULL,
    PRIMARY KEY (scope, kind, pseudo)) WITHOUT ROWID;
"""


class SqliteStore:
    """A PseudonymStore in one SQLite file. `transactions` counts committed transactions: one per call."""

    def __init__(self, path: str, *, timeout: float = 1.0) -> None:
        self._path = path
        self._timeout = timeout
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pseudonym-sqlite")
        self._db: sqlite3.Connection | None = None
        self.transactions = 0

    def __repr__(self) -> str:
        return f"SqliteStore({self._path!r})"

    async def scope_key_version(self, scope: str, proposed: int) -> int:
        return await self._run(self._scope_key_version, scope, proposed)

    async def get_or_create(
        self, scope: str, proposals: Mapping[IdKind, Mapping[str, str]], *, reversible: bool
    ) -> dict[IdKind, dict[str, str]]:
        return await self._run(self._get_or_create, scope, proposals, reversible)

    async def reverse(self, scope: str, kind: IdKind, pseudonyms: Collection[str]) -> dict[str, str]:
        return await self._run(self._reverse, scope, kind, list(pseudonyms))

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def aclose(self) -> None:
        if self._db is not None:
            await asyncio.get_running_loop().run_in_executor(self._worker, self._db.close)
            self._db = None
        self._worker.shutdown(wait=True)

    async def _run(self, job: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                # If the timeout fires while the job is still queued, cancelling the future drops the job.
                return await loop.run_in_executor(self._worker, self._call, job, args)
        except (sqlite3.Error, OSError, TimeoutError) as exc:
            raise StoreUnavailable(f"the pseudonym store is unavailable ({type(exc).__name__})") from None

    def _call(self, job: Callable[..., T], args: tuple[object, ...]) -> T:
        if self._db is None:
            self._db = self._connect()
        return job(self._db, *args)

    def _connect(self) -> sqlite3.Connection:
        # Autocommit: we issue BEGIN IMMEDIATE ourselves, so the write lock is taken up front and two processes
        # never deadlock upgrading read locks.
        return open_shared(self._path, timeout=self._timeout, schema=_SCHEMA)

    def _transaction(self, db: sqlite3.Connection, body: Callable[[], T], *, write: bool = True) -> T:
        # A read-only transaction still gives a batch of reverse lookups one consistent snapshot.
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = body()
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # a failed COMMIT leaves the transaction open; the next BEGIN would fail
                db.execute("ROLLBACK")
            raise
        self.transactions += 1
        return result

    def _scope_key_version(self, db: sqlite3.Connection, scope: str, proposed: int) -> int:
        def body() -> int:
            db.execute("INSERT OR IGNORE INTO scope VALUES (?, ?)", (scope, proposed))
            row = db.execute("SELECT key_version FROM scope WHERE name = ?", (scope,)).fetchone()
            return int(row[0])

        return self._transaction(db, body)

    def _get_or_create(
        self,
        db: sqlite3.Connection,
        scope: str,
        proposals: Mapping[IdKind, Mapping[str, str]],
        reversible: bool,
    ) -> dict[IdKind, dict[str, str]]:
        def body() -> dict[IdKind, dict[str, str]]:
            return {
                kind: self._kind_get_or_create(db, scope, kind, pairs, keeps_reverse(kind, reversible=reversible))
                for kind, pairs in proposals.items()
            }

        return self._transaction(db, body)

    @staticmethod
    def _kind_get_or_create(
        db: sqlite3.Connection, scope: str, kind: IdKind, pairs: Mapping[str, str], with_reverse: bool
    ) -> dict[str, str]:
        stored: dict[str, str] = {}
        for real, proposal in pairs.items():
            created = db.execute(
                "INSERT OR IGNORE INTO forward VALUES (?, ?, ?, ?)", (scope, kind.value, real, proposal)
            ).rowcount
            if created:
                stored[real] = proposal
                if with_reverse:
                    db.execute(
                        "INSERT OR IGNORE INTO reverse VALUES (?, ?, ?, ?)",
                        (scope, kind.value, proposal, real),
                    )
            else:
                stored[real] = db.execute(
                    "SELECT pseudo FROM forward WHERE scope = ? AND kind = ? AND real = ?",
                    (scope, kind.value, real),
                ).fetchone()[0]
        return stored

    def _reverse(self, db: sqlite3.Connection, scope: str, kind: IdKind, pseudonyms: list[str]) -> dict[str, str]:
        query = "SELECT real FROM reverse WHERE scope = ? AND kind = ? AND pseudo = ?"

        def body() -> dict[str, str]:
            rows = ((pseudo, db.execute(query, (scope, kind.value, pseudo)).fetchone()) for pseudo in pseudonyms)
            return {pseudo: row[0] for pseudo, row in rows if row is not None}

        return self._transaction(db, body, write=False)
