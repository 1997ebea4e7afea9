"""The embedded governance store: tables in a SQLite file (by default the pseudonym store's own file).

As in gateway.cache.sqlite, one worker thread owns the connection and every write is one BEGIN IMMEDIATE
transaction, so several gateway processes on one host can share the file. The `version` rows are what every
process polls; a change bumps its counter in the same transaction as the change itself.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from gateway.cache.sqlite_file import open_shared
from gateway.governance.chain import canonical, seal
from gateway.governance.errors import GovernanceUnavailable, VersionConflict
from gateway.governance.model import EMPTY_HEAD, Draft, Head, LedgerEntry, OptOut, StoredProfile, Versions
from gateway.governance.witness import Witness

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gov_version (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO gov_version VALUES ('optouts', 0), ('profiles', 0);
CREATE TABLE IF NOT EXISTS gov_optout (
    key TEXT PRIMARY KEY, patient_id TEXT NOT NULL, issuer TEXT NOT NULL, added_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gov_profile (
    role TEXT NOT NULL, version INTEGER NOT NULL, text TEXT NOT NULL, actor TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (role, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gov_ledger (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gov_ledger_head (one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL,
    hash TEXT NOT NULL);
"""


class SqliteGovernance:
    def __init__(self, path: str, *, timeout: float = 1.0, witness: Witness | None = None) -> None:
        self._path = path
        self._timeout = timeout
        self._witness = witness
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="governance-sqlite")
        self._db: sqlite3.Connection | None = None
        self._queued: list[tuple[Draft, asyncio.Future[LedgerEntry]]] = []
        self._committer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"SqliteGovernance({self._path!r})"

    async def versions(self) -> Versions:
        rows = dict(await self._read("SELECT name, value FROM gov_version"))
        return Versions(int(rows["optouts"]), int(rows["profiles"]))

    async def add_optout(self, optout: OptOut) -> bool:
        row = (optout.key, optout.patient_id, optout.issuer, optout.added_at)
        return await self._change("optouts", "INSERT OR IGNORE INTO gov_optout VALUES (?, ?, ?, ?)", row)

    async def remove_optout(self, key: str) -> bool:
        return await self._change("optouts", "DELETE FROM gov_optout WHERE key = ?", (key,))

    async def optouts(self) -> list[OptOut]:
        rows = await self._read("SELECT patient_id, issuer, added_at FROM gov_optout ORDER BY added_at, key")
        return [OptOut(*row) for row in rows]

    async def put_profile(
        self, role: str, text: str, *, actor: str, updated_at: str, expected_version: int | None
    ) -> StoredProfile:
        def body(db: sqlite3.Connection) -> StoredProfile:
            row = db.execute("SELECT MAX(version) FROM gov_profile WHERE role = ?", (role,)).fetchone()
            current = int(row[0] or 0)
            if expected_version is not None and expected_version != current:
                raise VersionConflict()
            stored = StoredProfile(role, current + 1, text, actor, updated_at)
            row = (role, stored.version, text, actor, updated_at)
            db.execute("INSERT INTO gov_profile VALUES (?, ?, ?, ?, ?)", row)
            db.execute("UPDATE gov_version SET value = value + 1 WHERE name = 'profiles'")
            return stored

        return await self._run(body, write=True)

    async def profiles(self) -> dict[str, StoredProfile]:
        rows = await self._read(
            "SELECT role, version, text, actor, updated_at FROM gov_profile p WHERE version = "
            "(SELECT MAX(version) FROM gov_profile WHERE role = p.role)"
        )
        return {row[0]: StoredProfile(*row) for row in rows}

    async def append(self, draft: Draft) -> LedgerEntry:
        # Group commit: appends that arrive while a transaction is being written go into the next one together,
        # so concurrent responses (a viewer fetches frames six at a time) share one fsync instead of queueing
        # for one each. Each caller still returns only once its own entry is durable.
        entry: asyncio.Future[LedgerEntry] = asyncio.get_running_loop().create_future()
        self._queued.append((draft, entry))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(entry)
        except TimeoutError:
            raise GovernanceUnavailable(f"{GovernanceUnavailable.public_message} (TimeoutError)") from None
        finally:
            entry.cancel()  # a no-op once answered; if the caller gave up first, the committer skips the entry

    async def _commit_queued(self) -> None:
        while self._queued:
            batch = [(draft, entry) for draft, entry in self._queued if not entry.done()]
            self._queued = []
            if not batch:  # every caller of this round gave up before it was written
                continue
            try:
                sealed, head = await self._run(partial(_append_all, [d for d, _ in batch]), write=True)
                if self._witness is not None:
                    await self._witness.advance(head)
            except Exception as exc:  # every caller in the batch gets the error its own append would have raised
                for _, entry in batch:
                    if not entry.done():
                        entry.set_exception(exc)
                continue
            for (_, entry), written in zip(batch, sealed, strict=True):
                if not entry.done():
                    entry.set_result(written)

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[LedgerEntry]:
        query = "SELECT seq, entry FROM gov_ledger WHERE seq > ? ORDER BY seq LIMIT ?"
        rows = await self._read(query, (after, -1 if limit is None else limit))
        return [_entry(seq, text) for seq, text in rows]

    async def head(self) -> Head:
        return await self._run(_head)

    async def witnessed(self) -> Head | None:
        return None if self._witness is None else await self._witness.read()

    async def durability_problem(self) -> str | None:
        return None  # every commit is fsynced (synchronous = FULL, see gateway.cache.sqlite_file)

    async def ping(self) -> None:
        await self._read("SELECT 1")

    async def aclose(self) -> None:
        if self._committer is not None:
            await self._committer
        if self._db is not None:
            await asyncio.get_running_loop().run_in_executor(self._worker, self._db.close)
            self._db = None
        self._worker.shutdown(wait=True)

    # -- plumbing ---------------------------------------------------------------------------------------
    async def _read(self, query: str, args: tuple[object, ...] = ()) -> list[tuple]:
        return await self._run(lambda db: db.execute(query, args).fetchall())

    async def _change(self, counter: str, statement: str, args: tuple[object, ...]) -> bool:
        def body(db: sqlite3.Connection) -> bool:
            changed = db.execute(statement, args).rowcount > 0
            if changed:
                db.execute("UPDATE gov_version SET value = value + 1 WHERE name = ?", (counter,))
            return changed

        return await self._run(body, write=True)

    async def _run(self, job: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                return await loop.run_in_executor(self._worker, self._transaction, job, write)
        except (sqlite3.Error, TimeoutError) as exc:
            raise GovernanceUnavailable(f"{GovernanceUnavailable.public_message} ({type(exc).__name__})") from None

    def _transaction(self, job: Callable[[sqlite3.Connection], T], write: bool) -> T:
        db = self._db = self._db or self._connect()
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = job(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result

    def _connect(self) -> sqlite3.Connection:
        return open_shared(self._path, timeout=self._timeout, schema=_SCHEMA)


def _append_all(drafts: list[Draft], db: sqlite3.Connection) -> tuple[list[LedgerEntry], Head]:
    """Seal and insert `drafts` in order after the current head, in the caller's transaction; the new head."""
    head, sealed = _head(db), []
    for draft in drafts:
        sealed.append(entry := seal(draft, head))
        db.execute("INSERT INTO gov_ledger VALUES (?, ?)", (entry.seq, canonical(entry.as_dict())))
        head = Head(entry.seq, entry.hash, head.genesis or entry.hash)
    db.execute("INSERT OR REPLACE INTO gov_ledger_head VALUES (1, ?, ?)", (head.seq, head.hash))
    return sealed, head


def _head(db: sqlite3.Connection) -> Head:
    row = db.execute("SELECT seq, hash FROM gov_ledger_head").fetchone()
    if not row:
        return EMPTY_HEAD
    first = db.execute("SELECT seq, entry FROM gov_ledger WHERE seq = 1").fetchone()
    return Head(int(row[0]), str(row[1]), _entry(*first).hash if first else "")


def _entry(seq: int, text: str) -> LedgerEntry:
    """An entry as stored; one whose text no longer parses keeps its row number and fails verification."""
    try:
        return LedgerEntry.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return LedgerEntry(seq, "", "", {"unreadable": True})
