"""A governance store in the clear layout of the code before issue 12, written the way that code wrote it.

The layout is that of `git show f08f431:gateway/governance/sqlite.py` and `.../redis_store.py`: opt-outs keyed by
patient key with PatientID and issuer in clear, and ledger entries as the canonical JSON of the whole entry,
`real` included. Entries are chained by the same `chain.seal` the old code called, so their hashes are the ones
that code would have written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

import redis

from gateway.core.governance.chain import canonical, seal
from gateway.core.governance.model import EMPTY_HEAD, Draft, Head, LedgerEntry, OptOut

SQLITE_SCHEMA = """
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
_G = "gwgov:{g}:"


def chained(drafts: Iterable[Draft]) -> tuple[list[LedgerEntry], Head]:
    entries, head = [], EMPTY_HEAD
    for draft in drafts:
        entries.append(entry := seal(draft, head))
        head = Head(entry.seq, entry.hash, head.genesis or entry.hash)
    return entries, head


def write_sqlite(path: Path, optouts: list[OptOut], entries: list[LedgerEntry], head: Head) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(SQLITE_SCHEMA)
        for optout in optouts:
            db.execute(
                "INSERT INTO gov_optout VALUES (?, ?, ?, ?)",
                (optout.key, optout.patient_id, optout.issuer, optout.added_at),
            )
            db.execute("UPDATE gov_version SET value = value + 1 WHERE name = 'optouts'")
        for entry in entries:
            db.execute("INSERT INTO gov_ledger VALUES (?, ?)", (entry.seq, canonical(entry.as_dict())))
        db.execute("INSERT OR REPLACE INTO gov_ledger_head VALUES (1, ?, ?)", (head.seq, head.hash))


def write_redis(url: str, optouts: list[OptOut], entries: list[LedgerEntry], head: Head) -> None:
    with closing(redis.Redis.from_url(url, decode_responses=True)) as client:
        for optout in optouts:
            record = {"patient_id": optout.patient_id, "issuer": optout.issuer, "added_at": optout.added_at}
            client.hset(_G + "optouts", optout.key, canonical(record))
            client.hincrby(_G + "versions", "optouts", 1)
        for entry in entries:
            client.xadd(_G + "ledger", {"entry": canonical(entry.as_dict())}, id=f"{entry.seq}-1")
        client.hset(_G + "ledger:head", mapping={"seq": head.seq, "hash": head.hash, "genesis": head.genesis})
