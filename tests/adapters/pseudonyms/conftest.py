from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.core.pseudonyms.store import PseudonymStore

from .backends import Backend, RedisBackend, SqliteBackend


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path)
    return RedisBackend(request.getfixturevalue("redis_server"))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[PseudonymStore]:
    opened = backend.open()
    try:
        yield opened
    finally:
        await opened.aclose()
