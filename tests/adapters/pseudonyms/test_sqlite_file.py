"""Opening one new SQLite file from many connections at once, as replicas and the two embedded stores do."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from gateway.adapters.sqlite.file import open_shared

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;"


def open_together(path: str, count: int) -> tuple[list[sqlite3.Connection], list[BaseException]]:
    start = threading.Barrier(count)
    opened: list[sqlite3.Connection] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            opened.append(open_shared(path, timeout=5, schema=SCHEMA))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return opened, errors


def test_many_connections_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    # Each round is a fresh file, so every round races the switch to WAL that used to fail with "locked".
    for round_ in range(20):
        opened, errors = open_together(str(tmp_path / f"round-{round_}" / "shared.sqlite3"), 6)
        assert errors == []
        assert {db.execute("PRAGMA journal_mode").fetchone()[0] for db in opened} == {"wal"}
        for db in opened:
            db.close()


def test_a_file_that_stays_locked_fails_after_the_timeout(tmp_path: Path) -> None:
    path = str(tmp_path / "held.sqlite3")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        try:
            open_shared(path, timeout=0.2, schema=SCHEMA)
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
        else:
            raise AssertionError("open_shared succeeded while another connection held an exclusive lock")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
