"""`workers`: validated with the rest of the settings, and refused where N processes could not share the state."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import ConfigError
from gateway.settings import MAX_WORKERS, Settings, settings_from_mapping

REDIS = "redis://127.0.0.1:6379/0"
SQLITE = "sqlite:///var/lib/dicomweb-gateway/pseudonyms.sqlite3"


def _settings(**raw: Any) -> Settings:
    return settings_from_mapping({"secret": "s" * 32, **raw}, source="gateway.yaml")


def test_one_worker_by_default() -> None:
    assert _settings().workers == 1


def test_several_workers_on_redis_stores() -> None:
    assert _settings(workers=4, store={"url": REDIS}).workers == 4


@pytest.mark.parametrize("workers", [0, -1, MAX_WORKERS + 1, "many"])
def test_a_worker_count_out_of_range_names_the_key(workers: object) -> None:
    with pytest.raises(ConfigError) as refused:
        _settings(workers=workers, store={"url": REDIS})
    assert refused.value.file == "gateway.yaml" and refused.value.key == "workers"


def test_several_workers_on_a_sqlite_pseudonym_store_are_refused() -> None:
    with pytest.raises(ConfigError) as refused:
        _settings(workers=2, store={"url": SQLITE})
    assert refused.value.key == "store.url"
    assert "workers" in refused.value.reason and "Redis" in refused.value.reason


def test_several_workers_on_a_sqlite_governance_store_are_refused() -> None:
    with pytest.raises(ConfigError) as refused:
        _settings(workers=2, store={"url": REDIS}, governance={"url": SQLITE})
    assert refused.value.key == "governance.url"
    assert "workers" in refused.value.reason and "Redis" in refused.value.reason


def test_one_worker_keeps_the_embedded_store() -> None:
    assert _settings(workers=1, store={"url": SQLITE}).store.url == SQLITE


def test_several_workers_need_a_fixed_port() -> None:
    """Port 0 would give every worker a port of its own, and clients one of them at random."""
    with pytest.raises(ConfigError) as refused:
        _settings(workers=2, store={"url": REDIS}, listen={"port": 0})
    assert refused.value.key == "listen.port"
