"""Shared fixtures. Real servers run on loopback, started here and stopped by PID.

Helpers live in `tests/support/` and are imported as `support.<module>` (pytest puts `tests/` on sys.path
because `tests/` has no `__init__.py`).

    orthanc        session: a private Orthanc (DICOMweb plugin, DefaultEncoding Utf8) holding gateway.demo.samples
    redis_server   a private redis-server on a free loopback port, with its own directory (stop/start keep data)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.orthanc_server import require_orthanc, running_orthanc
from support.redis_server import RedisServer

from gateway.demo.orthanc import OrthancProcess


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The full OCR corpus runs only when its marker is selected (-m ocr_corpus): plain pytest skips it."""
    if "ocr_corpus" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="the full OCR corpus runs with -m ocr_corpus")
    for item in items:
        if item.get_closest_marker("ocr_corpus") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancProcess]:
    require_orthanc()
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.dir.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.close()
