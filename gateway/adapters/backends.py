"""Open the pseudonym store a URL names. The settings layer turns a ValueError into a ConfigError."""

from __future__ import annotations

from gateway.adapters.redis.pseudonyms import RedisStore
from gateway.adapters.redis.urls import REDIS_SCHEMES
from gateway.adapters.sqlite.pseudonyms import SqliteStore
from gateway.core.pseudonyms.store import PseudonymStore

SQLITE_PREFIX = "sqlite://"


def open_store(url: str, *, timeout: float = 1.0) -> PseudonymStore:
    """sqlite:///abs/path.db (or sqlite://relative.db) embedded; a Redis URL for a shared one."""
    if url.startswith(SQLITE_PREFIX):
        path = url.removeprefix(SQLITE_PREFIX)
        if not path:
            raise ValueError("a SQLite store URL needs a path: sqlite:///var/lib/gateway/pseudonyms.db")
        return SqliteStore(path, timeout=timeout)
    # Only the scheme is ever echoed back: the rest of a URL can carry a password.
    scheme, separator, _ = url.partition("://")
    if not separator:
        raise ValueError("the pseudonym store URL has no scheme (sqlite://, redis://, ...)")
    if scheme in REDIS_SCHEMES:
        return RedisStore(url, timeout=timeout)
    raise ValueError(
        f"unknown pseudonym store URL scheme {scheme!r}: use sqlite:// or one of {', '.join(REDIS_SCHEMES)}"
    )
