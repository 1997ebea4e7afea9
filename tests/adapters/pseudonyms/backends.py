"""The two store back ends under one interface, so every contract test runs against both."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from support.redis_server import RedisServer

from gateway.adapters.redis.pseudonyms import RedisStore
from gateway.adapters.sqlite.pseudonyms import SqliteStore
from gateway.core.pseudonyms.store import PseudonymStore

# Commands our Lua scripts run inside Redis: they are not round trips. INFO is the test's own redis-cli.
_NOT_ROUND_TRIPS = {"hsetnx", "hget", "hset", "set", "get", "info"}


class Backend(Protocol):
    name: str

    def open(self, *, timeout: float = 1.0) -> PseudonymStore: ...

    def restart_server(self) -> None: ...

    def round_trips(self, store: PseudonymStore) -> int:
        """Round trips to the back end so far, measured on its side where it has one."""

    def dump(self) -> bytes:
        """Everything the back end holds, as an attacker who copied it would read it."""


class SqliteBackend:
    name = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "pseudonyms.db"

    def open(self, *, timeout: float = 1.0) -> SqliteStore:
        return SqliteStore(str(self.path), timeout=timeout)

    def restart_server(self) -> None:
        """Embedded: there is no server; closing and reopening the store is the restart."""

    def round_trips(self, store: PseudonymStore) -> int:
        assert isinstance(store, SqliteStore)
        return store.transactions

    def dump(self) -> bytes:
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())


class RedisBackend:
    name = "redis"

    def __init__(self, server: RedisServer) -> None:
        self.server = server

    def open(self, *, timeout: float = 1.0) -> RedisStore:
        return RedisStore(self.server.url, timeout=timeout)

    def restart_server(self) -> None:
        self.server.restart()

    def round_trips(self, store: PseudonymStore) -> int:
        calls = self.server.command_calls()
        return sum(count for name, count in calls.items() if name not in _NOT_ROUND_TRIPS)

    def dump(self) -> bytes:
        return self.server.dump()
