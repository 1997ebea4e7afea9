"""Opening one SQLite file that several stores, threads and gateway processes share.

Both embedded stores (pseudonyms, governance) open the same file the same way: WAL so that readers never wait
for the writer, busy_timeout so that writers queue instead of failing, and synchronous=FULL because a handed-out
pseudonym or a recorded disclosure must survive a power cut.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

# How long to sleep between attempts to switch a fresh file to WAL; short, since the other opener holds the
# lock only for the switch itself.
_WAL_RETRY_S = 0.01


def open_shared(path: str, *, timeout: float, schema: str) -> sqlite3.Connection:
    """Connect in autocommit mode (callers issue BEGIN IMMEDIATE themselves) and create `schema` if missing."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        _enter_wal(db, deadline=time.monotonic() + timeout)
        db.execute("PRAGMA synchronous = FULL")
        db.executescript(schema)
    except BaseException:
        db.close()
        raise
    return db


def _enter_wal(db: sqlite3.Connection, *, deadline: float) -> None:
    # Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is locked" at once,
    # without calling the busy handler, when another connection is doing the same; so two stores opening one
    # new file together must retry here. Once the file is in WAL the pragma is a no-op.
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(_WAL_RETRY_S)
