"""Open the stores a URL names: one dispatch on the URL's scheme for both protocols.

`sqlite:///abs/path.db` (or `sqlite://relative.db`) is the embedded back end, a Redis URL (standalone, Sentinel,
Cluster) the shared one; the settings layer validates the same schemes, so a bad URL is a ConfigError at start.
The governance store lives at the pseudonym store's URL unless `governance.url` says otherwise. `open_for` gives
the governance back end as it is (for `store migrate` and `store rekey`); `sealed_for` the records in clear over
it, which is what the gateway and the CLI verbs use.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from gateway.adapters.sqlite.governance import SqliteGovernance
from gateway.adapters.sqlite.pseudonyms import SqliteStore
from gateway.adapters.witness import Witness
from gateway.core.governance.sealed import SealedGovernance
from gateway.core.governance.store import GovernanceBackend
from gateway.core.keys import Keyring
from gateway.core.pseudonyms.store import PseudonymStore
from gateway.errors import ConfigError, KeyMismatch, StoreUnavailable, UnmigratedStore
from gateway.settings import REDIS_SCHEMES, SQLITE_SCHEME, Settings

log = logging.getLogger("gateway.governance")


@dataclass(frozen=True)
class Backend:
    """Where a store URL points: an embedded SQLite file (its path) or a Redis (the whole URL)."""

    kind: Literal["sqlite", "redis"]
    location: str


def backend_of(url: str, what: str = "pseudonym store") -> Backend:
    """The one dispatch on a store URL; a ValueError names only the scheme, since the rest can hold a password."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError(f"the {what} URL has no scheme (sqlite://, redis://, ...)")
    if scheme == SQLITE_SCHEME:
        if not rest:
            raise ValueError(f"a SQLite {what} URL needs a path: sqlite:///var/lib/gateway/pseudonyms.db")
        return Backend("sqlite", rest)
    if scheme in REDIS_SCHEMES:
        return Backend("redis", url)
    raise ValueError(f"unknown {what} URL scheme {scheme!r}: use sqlite:// or one of {', '.join(REDIS_SCHEMES)}")


# The Redis back ends are imported only when a URL names one: redis-py and its command tables are some 6 MB
# of a gateway's resident memory and 90 ms of its start, which an embedded store does not need.


def open_store(url: str, *, timeout: float = 1.0) -> PseudonymStore:
    backend = backend_of(url)
    if backend.kind == "sqlite":
        return SqliteStore(backend.location, timeout=timeout)
    from gateway.adapters.redis.pseudonyms import RedisStore

    return RedisStore(backend.location, timeout=timeout)


def open_governance(url: str, *, timeout: float = 1.0, witness: Witness | None = None) -> GovernanceBackend:
    backend = backend_of(url, "governance store")
    if backend.kind == "sqlite":
        return SqliteGovernance(backend.location, timeout=timeout, witness=witness)
    from gateway.adapters.redis.governance import RedisGovernance

    return RedisGovernance(backend.location, timeout=timeout, witness=witness)


def governance_url(settings: Settings) -> str:
    return settings.governance.url or settings.store.url


def open_for(settings: Settings) -> GovernanceBackend:
    path = settings.governance.witness_path
    witness = None if path is None else Witness(path)
    return open_governance(governance_url(settings), timeout=settings.governance.timeout_s, witness=witness)


def sealed_for(settings: Settings) -> SealedGovernance:
    return SealedGovernance(open_for(settings), Keyring(settings.secret.get_secret_value().encode()))


async def refuse_unreadable(
    settings: Settings,
    key: str,
    unlock: Callable[[], Awaitable[object]],
    close: Callable[[], Awaitable[None]],
    *,
    records: tuple[str, str],
) -> None:
    """Refuse to start on a store still in the clear layout of an earlier version, or one sealed under another
    secret; `records` names what it holds, in each reason. One that cannot be asked now (down at start) is not
    refused: every call fails closed until it answers."""
    try:
        await unlock()
    except StoreUnavailable:
        log.warning("a store could not be checked at start: it is unavailable", extra={"kind": "keyring"})
        return
    except (KeyMismatch, UnmigratedStore) as exc:
        await close()
        in_clear, sealed = records
        reason = (
            f"holds {in_clear} in the clear layout of an earlier version; run "
            "`dicomweb-gateway store migrate` with the gateways stopped"
            if isinstance(exc, UnmigratedStore)
            else f"holds {sealed} sealed under another secret: GATEWAY_SECRET does not open them"
        )
        raise ConfigError(settings.source, key, reason) from None
