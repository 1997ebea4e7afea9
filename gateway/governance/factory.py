"""Open the governance store a URL names: the pseudonym store's own URL unless `governance.url` says otherwise."""

from __future__ import annotations

from gateway.cache.redis_urls import REDIS_SCHEMES
from gateway.governance.redis_store import RedisGovernance
from gateway.governance.sqlite import SqliteGovernance
from gateway.governance.store import GovernanceStore
from gateway.governance.witness import Witness
from gateway.settings import Settings


def governance_url(settings: Settings) -> str:
    return settings.governance.url or settings.store.url


def open_governance(url: str, *, timeout: float = 1.0, witness: Witness | None = None) -> GovernanceStore:
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        if not path:
            raise ValueError("a SQLite governance URL needs a path")
        return SqliteGovernance(path, timeout=timeout, witness=witness)
    scheme = url.partition("://")[0]  # only the scheme is echoed: the rest can carry a password
    if scheme in REDIS_SCHEMES:
        return RedisGovernance(url, timeout=timeout, witness=witness)
    raise ValueError(f"unknown governance store URL scheme {scheme!r}")


def open_for(settings: Settings) -> GovernanceStore:
    path = settings.governance.witness_path
    witness = None if path is None else Witness(path)
    return open_governance(governance_url(settings), timeout=settings.store.timeout_s, witness=witness)
