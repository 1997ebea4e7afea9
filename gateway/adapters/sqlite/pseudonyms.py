"""The embedded pseudonym store: one SQLite file, durable on disk, for single-node gateways.

SQLite calls block, so each store owns one worker thread and one connection; the event loop only awaits the
worker. WAL keeps readers and the writer from blocking each other, and busy_timeout lets several gateway
processes share the file: a claim batch is one BEGIN IMMEDIATE transaction (SELECT, then INSERT where nothing
was found), so the first process to commit a value or a pseudonym wins and every other process reads it. SQLite's lock
is not fair: under a burst of first sightings one process can hold it for a long run of transactions while
the others wait (up to the timeout). Several replicas belong on Redis.

secure_delete makes SQLite overwrite what it deletes, so the rows of the old clear layout that the migration
drops do not linger in free pages of the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from gateway.adapters.sqlite.file import open_shared
from gateway.core.pseudonyms.model import IdKind
from gateway.core.pseudonyms.store import Claim, LegacyMapping
from gateway.errors import StoreUnavailable

T = TypeVar("T")

_SCHEMA = """
PRAGMA secure_delete = ON;
CREATE TABLE IF NOT EXISTS scope (name TEXT PRIMARY KEY, key_version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keyring (name TEXT PRIMARY KEY, wrapped TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pseudonym_index (
    scope TEXT NOT NULL, kind TEXT NOT NULL, idx TEXT NOT NULL, pseudo TEXT NOT NULL,
    PRIMARY KEY (scope, kind, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pseudonym_claim (
    scope TEXT NOT NULL, kind TEXT NOT NULL, pseudo TEXT NOT NULL, idx TEXT NOT NULL, sealed TEXT NOT NULL,
    PRIMARY KEY (scope, kind, pseudo)) WITHOUT ROWID;
"""
_LEGACY_TABLES = ("forward", "reverse")  # real -> pseudo and pseudo -> real, in clear


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

    async def wrapped_key(self, name: str, proposed: str) -> str:
        return await self._run(self._wrapped_key, name, proposed)

    async def wrapped_keys(self) -> dict[str, str]:
        return dict(await self._run(lambda db: db.execute("SELECT name, wrapped FROM keyring").fetchall()))

    async def replace_wrapped_keys(self, keys: Mapping[str, str]) -> None:
        def body(db: sqlite3.Connection) -> None:
            self._transaction(db, lambda: db.executemany("INSERT OR REPLACE INTO keyring VALUES (?, ?)", keys.items()))

        await self._run(body)

    async def claim(self, scope: str, claims: Sequence[Claim]) -> list[str | None]:
        if not claims:
            return []
        return await self._run(lambda db: self._transaction(db, lambda: [_claim(db, scope, c) for c in claims]))

    async def reverse(self, scope: str, kind: IdKind, pseudonyms: Collection[str]) -> dict[str, str]:
        return await self._run(self._reverse, scope, kind, list(pseudonyms))

    async def legacy_mappings(self, batch: int) -> AsyncIterator[list[LegacyMapping]]:
        if not await self._run(_has_legacy):
            return
        after = ("", "", "")
        while rows := await self._run(_legacy_rows, after, batch):
            yield rows
            after = (rows[-1].scope, rows[-1].kind.value, rows[-1].real)

    async def drop_legacy(self) -> None:
        def body(db: sqlite3.Connection) -> None:
            self._transaction(db, lambda: [db.execute(f"DROP TABLE IF EXISTS {t}") for t in _LEGACY_TABLES])
            # VACUUM rewrites the file without the dropped pages, and the checkpoint empties the WAL, so no copy
            # of the old rows is left in either file.
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await self._run(body)

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
            raise StoreUnavailable.because(type(exc).__name__) from None

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

    def _wrapped_key(self, db: sqlite3.Connection, name: str, proposed: str) -> str:
        def body() -> str:
            db.execute("INSERT OR IGNORE INTO keyring VALUES (?, ?)", (name, proposed))
            return str(db.execute("SELECT wrapped FROM keyring WHERE name = ?", (name,)).fetchone()[0])

        return self._transaction(db, body)

    def _reverse(self, db: sqlite3.Connection, scope: str, kind: IdKind, pseudonyms: list[str]) -> dict[str, str]:
        query = "SELECT sealed FROM pseudonym_claim WHERE scope = ? AND kind = ? AND pseudo = ?"

        def body() -> dict[str, str]:
            rows = ((pseudo, db.execute(query, (scope, kind.value, pseudo)).fetchone()) for pseudo in pseudonyms)
            return {pseudo: row[0] for pseudo, row in rows if row is not None and row[0]}

        return self._transaction(db, body, write=False)


def _claim(db: sqlite3.Connection, scope: str, claim: Claim) -> str | None:
    """One claim, inside the caller's write transaction (see PseudonymStore.claim)."""
    kind = claim.kind.value
    known = db.execute(
        "SELECT pseudo FROM pseudonym_index WHERE scope = ? AND kind = ? AND idx = ?", (scope, kind, claim.index)
    ).fetchone()
    if known is not None:
        return str(known[0])
    if claim.unique:
        query = "SELECT idx FROM pseudonym_claim WHERE scope = ? AND kind = ? AND pseudo = ?"
        owner = db.execute(query, (scope, kind, claim.pseudonym)).fetchone()
        if owner is None:
            db.execute(
                "INSERT INTO pseudonym_claim VALUES (?, ?, ?, ?, ?)",
                (scope, kind, claim.pseudonym, claim.index, claim.sealed),
            )
        elif owner[0] != claim.index:
            return None
    db.execute("INSERT INTO pseudonym_index VALUES (?, ?, ?, ?)", (scope, kind, claim.index, claim.pseudonym))
    return claim.pseudonym


def _has_legacy(db: sqlite3.Connection) -> bool:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'forward'").fetchall()
    return bool(rows)


def _legacy_rows(db: sqlite3.Connection, after: tuple[str, str, str], batch: int) -> list[LegacyMapping]:
    rows = db.execute(
        "SELECT f.scope, f.kind, f.real, f.pseudo, r.real IS NOT NULL FROM forward f"
        " LEFT JOIN reverse r ON r.scope = f.scope AND r.kind = f.kind AND r.pseudo = f.pseudo AND r.real = f.real"
        " WHERE (f.scope, f.kind, f.real) > (?, ?, ?) ORDER BY f.scope, f.kind, f.real LIMIT ?",
        (*after, batch),
    ).fetchall()
    return [LegacyMapping(scope, IdKind(kind), real, pseudo, bool(kept)) for scope, kind, real, pseudo, kept in rows]
