"""Open the governance store a URL names: the pseudonym store's own URL unless `governance.url` says otherwise.

`open_for` gives the back end as it is (for `store migrate` and `store rekey`); `sealed_for` the records in clear
over it, which is what the gateway and the CLI verbs use.
"""

from __future__ import annotations

import logging

from gateway.adapters.redis.governance import RedisGovernance
from gateway.adapters.redis.urls import REDIS_SCHEMES
from gateway.adapters.sqlite.governance import SqliteGovernance
from gateway.adapters.witness import Witness
from gateway.core.governance.errors import UnmigratedStore
from gateway.core.governance.sealed import SealedGovernance
from gateway.core.governance.store import GovernanceBackend
from gateway.core.keys import Keyring
from gateway.core.pseudonyms.errors import KeyMismatch
from gateway.errors import ConfigError, StoreUnavailable
from gateway.settings import Settings

log = logging.getLogger("gateway.governance")


def governance_url(settings: Settings) -> str:
    return settings.governance.url or settings.store.url


def open_governance(url: str, *, timeout: float = 1.0, witness: Witness | None = None) -> GovernanceBackend:
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        if not path:
            raise ValueError("a SQLite governance URL needs a path")
        return SqliteGovernance(path, timeout=timeout, witness=witness)
    scheme = url.partition("://")[0]  # only the scheme is echoed: the rest can carry a password
    if scheme in REDIS_SCHEMES:
        return RedisGovernance(url, timeout=timeout, witness=witness)
    raise ValueError(f"unknown governance store URL scheme {scheme!r}")


def open_for(settings: Settings) -> GovernanceBackend:
    path = settings.governance.witness_path
    witness = None if path is None else Witness(path)
    return open_governance(governance_url(settings), timeout=settings.store.timeout_s, witness=witness)


def sealed_for(settings: Settings) -> SealedGovernance:
    return SealedGovernance(open_for(settings), Keyring(settings.secret.get_secret_value().encode()))


async def refuse_unreadable(settings: Settings, store: SealedGovernance) -> None:
    """Refuse to start on a governance store this secret does not open, or one still in the clear layout. One
    that cannot be asked now (down at start) is not refused: every call fails closed until it answers."""
    try:
        await store.unlock()
    except StoreUnavailable:
        log.warning("governance store not unlocked: it is unavailable", extra={"kind": "keyring"})
        return
    except (KeyMismatch, UnmigratedStore) as exc:
        await store.aclose()
        key = "governance.url" if settings.governance.url else "store.url"
        reason = (
            "holds the governance records in the clear layout of an earlier version; run "
            "`dicomweb-gateway store migrate` with the gateways stopped"
            if isinstance(exc, UnmigratedStore)
            else "holds governance records sealed under another secret: GATEWAY_SECRET does not open them"
        )
        raise ConfigError(settings.source, key, reason) from None
