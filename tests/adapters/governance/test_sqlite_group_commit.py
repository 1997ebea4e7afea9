"""The embedded ledger commits appends that arrive together in one transaction (one fsync), keeping one chain."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.adapters.sqlite.governance import SqliteGovernance
from gateway.core.governance.chain import verify

from .conftest import sealed
from .test_contract import draft


async def test_concurrent_appends_share_transactions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqliteGovernance(str(tmp_path / "ledger.sqlite3"), timeout=10)
    writes = 0
    transaction = SqliteGovernance._transaction

    def counted(self: SqliteGovernance, job, write: bool):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += write
        return transaction(self, job, write)

    monkeypatch.setattr(SqliteGovernance, "_transaction", counted)
    try:
        records = sealed(store)
        await records.unlock()
        writes = 0
        written = await asyncio.gather(*(records.append(draft(n)) for n in range(30)))
        assert [entry.seq for entry in written] == list(range(1, 31))  # each caller gets its own entry, in order
        assert writes < 30
        entries = await records.entries()
        assert entries == written and verify(entries, await store.head()).ok
    finally:
        await store.aclose()
