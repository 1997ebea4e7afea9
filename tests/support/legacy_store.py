"""Writes a pseudonym store exactly as the code before issue 12 did: real values in clear, in both directions.

The rows are the ones that code's get-or-create left (the same tables, keys and derivation), so the migration
is tested on what real deployments hold.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from gateway.adapters.redis.pseudonyms import scope_tag
from gateway.core.pseudonyms.derive import derive
from gateway.core.pseudonyms.model import IdKind, ScopeSpec
from support.redis_server import RedisServer

Row = tuple[ScopeSpec, IdKind, str, str]  # scope, kind, real, pseudonym

_OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS scope (name TEXT PRIMARY KEY, key_version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forward (
    scope TEXT NOT NULL, kind TEXT NOT NULL, real TEXT NOT NULL, pseudo TEXT NOT NULL,
    PRIMARY KEY (scope, kind, real)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reverse (
    scope TEXT NOT NULL, kind TEXT NOT NULL, pseudo TEXT NOT NULL, real TEXT NOT NULL,
    PRIMARY KEY (scope, kind, pseudo)) WITHOUT ROWID;
"""


def old_derive(secret: bytes, scope: ScopeSpec, kind: IdKind, real: str, key_version: int = 1) -> str:
    """The old Deriver: the version key was HMAC(secret, "key-v<n>"), used directly."""
    key = hmac.new(secret, f"key-v{key_version}".encode(), hashlib.sha256).digest()
    return derive(key, scope, kind, real)


def old_keeps_reverse(kind: IdKind, scope: ScopeSpec) -> bool:
    return kind is not IdKind.DATE_SHIFT and (scope.reversible or kind is IdKind.UID)


def rows_for(secret: bytes, scope: ScopeSpec, reals: Iterable[tuple[IdKind, str]]) -> list[Row]:
    return [(scope, kind, real, old_derive(secret, scope, kind, real)) for kind, real in reals]


def write_sqlite(path: Path, rows: list[Row], key_version: int = 1) -> None:
    db = sqlite3.connect(path)
    db.executescript(_OLD_SCHEMA)
    for scope, kind, real, pseudo in rows:
        db.execute("INSERT OR IGNORE INTO scope VALUES (?, ?)", (scope.name, key_version))
        db.execute("INSERT OR IGNORE INTO forward VALUES (?, ?, ?, ?)", (scope.name, kind.value, real, pseudo))
        if old_keeps_reverse(kind, scope):
            db.execute("INSERT OR IGNORE INTO reverse VALUES (?, ?, ?, ?)", (scope.name, kind.value, pseudo, real))
    db.commit()
    db.close()


def write_redis(server: RedisServer, rows: list[Row], key_version: int = 1) -> None:
    for scope, kind, real, pseudo in rows:
        tag = scope_tag(scope.name)
        server.command("SET", f"{tag}:key_version", str(key_version), "NX")
        server.command("HSETNX", f"{tag}:{kind.value}", real, pseudo)
        if old_keeps_reverse(kind, scope):
            server.command("HSETNX", f"{tag}:{kind.value}:reverse", pseudo, real)
