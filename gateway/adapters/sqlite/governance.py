"""The embedded governance store: tables in a SQLite file (by default the pseudonym store's own file).

As in gateway.adapters.sqlite.pseudonyms, one worker thread owns the connection and every write is one BEGIN IMMEDIATE
transaction, so several gateway processes on one host can share the file. The `version` rows are what every
process polls; a change bumps its counter in the same transaction as the change itself.

Opt-outs and ledger entries are kept sealed (sealing.py), in tables of their own: `gov_optout` and `gov_ledger`
are the clear layout of an earlier version, which `migrate_legacy` converts and then drops.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from gateway.adapters.group_commit import GroupCommit
from gateway.adapters.sqlite.file import open_shared
from gateway.adapters.witness import Witness
from gateway.core.governance.chain import canonical, seal_all
from gateway.core.governance.model import (
    EMPTY_HEAD,
    Draft,
    Head,
    LedgerEntry,
    OptOut,
    SealedOptOut,
    StoredProfile,
    Versions,
)
from gateway.core.governance.sealing import GovernanceSeal
from gateway.core.governance.store import Keep
from gateway.errors import GovernanceUnavailable, VersionConflict

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gov_version (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO gov_version VALUES ('optouts', 0), ('profiles', 0);
CREATE TABLE IF NOT EXISTS gov_sealed_optout (
    idx TEXT PRIMARY KEY, patient_id TEXT NOT NULL, issuer TEXT NOT NULL, added_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gov_profile (
    role TEXT NOT NULL, version INTEGER NOT NULL, text TEXT NOT NULL, actor TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (role, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gov_sealed_ledger (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gov_ledger_head (one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL,
    hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gov_keyring (name TEXT PRIMARY KEY, wrapped TEXT NOT NULL) WITHOUT ROWID;
"""
_LEGACY_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('gov_optout', 'gov_ledger')"
# A migration runs once, with the gateways stopped, and may rewrite the whole file: it is not held to the bound
# of one request's round trip.
_MIGRATION_S = 3600.0


class SqliteGovernance:
    def __init__(self, path: str, *, timeout: float = 1.0, witness: Witness | None = None) -> None:
        self._path = path
        self._timeout = timeout
        self._witness = witness
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="governance-sqlite")
        self._db: sqlite3.Connection | None = None
        self._commits = GroupCommit(
            self._commit, timeout=timeout, timed_out=lambda: GovernanceUnavailable.because("TimeoutError")
        )

    def __repr__(self) -> str:
        return f"SqliteGovernance({self._path!r})"

    async def versions(self) -> Versions:
        rows = dict(await self._read("SELECT name, value FROM gov_version"))
        return Versions(int(rows["optouts"]), int(rows["profiles"]))

    async def add_optout(self, optout: SealedOptOut) -> bool:
        row = (optout.index, optout.patient_id, optout.issuer, optout.added_at)
        return await self._change("optouts", "INSERT OR IGNORE INTO gov_sealed_optout VALUES (?, ?, ?, ?)", row)

    async def remove_optout(self, index: str) -> bool:
        return await self._change("optouts", "DELETE FROM gov_sealed_optout WHERE idx = ?", (index,))

    async def optouts(self) -> list[SealedOptOut]:
        rows = await self._read("SELECT idx, patient_id, issuer, added_at FROM gov_sealed_optout")
        return [SealedOptOut(*row) for row in rows]

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

    async def append(self, draft: Draft, keep: Keep) -> LedgerEntry:
        return await self._commits.submit((draft, keep))

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[LedgerEntry]:
        query = "SELECT seq, entry FROM gov_sealed_ledger WHERE seq > ? ORDER BY seq LIMIT ?"
        rows = await self._read(query, (after, -1 if limit is None else limit))
        return [_entry(seq, text) for seq, text in rows]

    async def head(self) -> Head:
        return await self._run(_head)

    async def witnessed(self) -> Head | None:
        return None if self._witness is None else await self._witness.read()

    # -- keyring ----------------------------------------------------------------------------------------------
    async def wrapped_key(self, name: str, proposed: str) -> str:
        def body(db: sqlite3.Connection) -> str:
            db.execute("INSERT OR IGNORE INTO gov_keyring VALUES (?, ?)", (name, proposed))
            return str(db.execute("SELECT wrapped FROM gov_keyring WHERE name = ?", (name,)).fetchone()[0])

        return await self._run(body, write=True)

    async def wrapped_keys(self) -> dict[str, str]:
        return dict(await self._read("SELECT name, wrapped FROM gov_keyring"))

    async def replace_wrapped_keys(self, keys: Mapping[str, str]) -> None:
        def body(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO gov_keyring VALUES (?, ?)", keys.items())

        await self._run(body, write=True)

    # -- the clear layout of an earlier version ----------------------------------------------------------------
    async def legacy_layout(self) -> bool:
        return bool(await self._read(_LEGACY_TABLES))

    async def migrate_legacy(self, seal: GovernanceSeal) -> dict[str, int]:
        if not await self.legacy_layout():
            return {"optouts": 0, "entries": 0}
        counts = await self._run(partial(_migrate, seal), write=True, timeout=_MIGRATION_S)
        # The clear rows are gone from the tables but not from the file: freed pages keep their bytes, and the
        # WAL its frames. VACUUM rewrites the file without them, and the checkpoint empties the WAL.
        for statement in ("VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"):
            await self._run(partial(_execute, statement), alone=True, timeout=_MIGRATION_S)
        return counts

    async def durability_problem(self) -> str | None:
        return None  # every commit is fsynced (synchronous = FULL, see gateway.adapters.sqlite.file)

    async def ping(self) -> None:
        await self._read("SELECT 1")

    async def aclose(self) -> None:
        await self._commits.drain()
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

    async def _run(
        self,
        job: Callable[[sqlite3.Connection], T],
        *,
        write: bool = False,
        alone: bool = False,
        timeout: float | None = None,
    ) -> T:
        """Run `job` on the worker in one transaction, or, `alone`, outside any (VACUUM cannot run in one, and a
        ledger append opens its own before it writes the witness)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout or self._timeout):
                if alone:
                    return await loop.run_in_executor(self._worker, lambda: job(self._connection()))
                return await loop.run_in_executor(self._worker, self._transaction, job, write)
        except (sqlite3.Error, TimeoutError) as exc:
            raise GovernanceUnavailable.because(type(exc).__name__) from None

    async def _commit(self, drafts: list[tuple[Draft, Keep]]) -> list[LedgerEntry]:
        return await self._run(partial(self._append_witnessed, drafts), alone=True)

    def _append_witnessed(
        self, drafts: list[tuple[Draft, Keep]], _db: sqlite3.Connection
    ) -> list[LedgerEntry]:
        """Commit `drafts` in a transaction of their own, then advance the witness to the new head, on the
        worker."""
        sealed, head = self._transaction(partial(_append_all, drafts), write=True)
        if self._witness is not None:
            self._witness.record(head)
        return sealed

    def _transaction(self, job: Callable[[sqlite3.Connection], T], write: bool) -> T:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            result = job(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result

    def _connection(self) -> sqlite3.Connection:
        self._db = self._db or open_shared(self._path, timeout=self._timeout, schema=_SCHEMA)
        return self._db


def _append_all(drafts: list[tuple[Draft, Keep]], db: sqlite3.Connection) -> tuple[list[LedgerEntry], Head]:
    """Chain and insert `drafts` in order after the current head, in the caller's transaction; the new head."""
    sealed, head = seal_all((draft for draft, _ in drafts), _head(db))
    rows = [(entry.seq, canonical(keep(entry).as_dict())) for entry, (_, keep) in zip(sealed, drafts, strict=True)]
    db.executemany("INSERT INTO gov_sealed_ledger VALUES (?, ?)", rows)
    db.execute("INSERT OR REPLACE INTO gov_ledger_head VALUES (1, ?, ?)", (head.seq, head.hash))
    return sealed, head


def _head(db: sqlite3.Connection) -> Head:
    row = db.execute("SELECT seq, hash FROM gov_ledger_head").fetchone()
    if not row:
        return EMPTY_HEAD
    first = db.execute("SELECT seq, entry FROM gov_sealed_ledger WHERE seq = 1").fetchone()
    return Head(int(row[0]), str(row[1]), _entry(*first).hash if first else "")


def _entry(seq: int, text: str) -> LedgerEntry:
    """An entry as stored; one whose text no longer parses keeps its row number and fails verification."""
    try:
        return LedgerEntry.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return LedgerEntry(seq, "", "", {"unreadable": True})



def _execute(statement: str, db: sqlite3.Connection) -> None:
    db.execute(statement).fetchall()


def _migrate(seal: GovernanceSeal, db: sqlite3.Connection) -> dict[str, int]:
    """Convert the clear layout and drop it, in the caller's transaction. The clear layout, as the code before
    issue 12 wrote it: gov_optout (key = patient key, patient_id, issuer, added_at) and gov_ledger (seq, entry =
    canonical JSON of the whole entry, `real` included)."""
    tables = {name for (name,) in db.execute(_LEGACY_TABLES)}
    optouts = db.execute("SELECT patient_id, issuer, added_at FROM gov_optout") if "gov_optout" in tables else []
    converted = {"optouts": 0, "entries": 0}
    for row in optouts:
        kept = seal.sealed_optout(OptOut(*row))
        row = (kept.index, kept.patient_id, kept.issuer, kept.added_at)
        db.execute("INSERT OR IGNORE INTO gov_sealed_optout VALUES (?, ?, ?, ?)", row)
        converted["optouts"] += 1
    entries = db.execute("SELECT seq, entry FROM gov_ledger ORDER BY seq") if "gov_ledger" in tables else []
    for seq, text in entries:
        entry = canonical(seal.kept(_entry(seq, text)).as_dict())
        db.execute("INSERT OR IGNORE INTO gov_sealed_ledger VALUES (?, ?)", (seq, entry))
        converted["entries"] += 1
    for table in sorted(tables):
        db.execute(f"DROP TABLE {table}")
    db.execute("UPDATE gov_version SET value = value + 1 WHERE name = 'optouts'")  # replicas reload the registry
    return converted
