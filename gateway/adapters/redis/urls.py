"""Turn a store URL into a redis.asyncio client: standalone, Sentinel or Cluster.

    redis://[user:password@]host:port[/db]       standalone, TCP
    rediss://[user:password@]host:port[/db]      standalone, TLS
    unix://[user:password@]/path/to/socket[?db=N]
    redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db]
    redis+cluster://[user:password@]host:port    any node of the cluster; the rest are discovered

Every client gets socket and connect timeouts, a bounded connection pool, and at most one immediate retry:
after Redis restarts, the first command on a pooled connection fails, and one retry on a fresh connection
is what lets the gateway recover without a restart while still answering 503 within the bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError

from gateway.settings import REDIS_SCHEMES


@dataclass(frozen=True)
class Connected:
    client: Redis | RedisCluster
    closers: tuple[Callable[[], Awaitable[None]], ...]


def connect(url: str, *, timeout: float, max_connections: int) -> Connected:
    """Build (but do not yet open) a client for `url`. Connections open lazily, on the first command."""
    scheme = url.partition("://")[0]
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 1),
        "decode_responses": True,
    }
    if scheme == "redis+sentinel":
        return _sentinel(url, options, max_connections)
    if scheme == "redis+cluster":
        cluster = RedisCluster.from_url("redis://" + url.partition("://")[2], **options)
        return Connected(cluster, (cluster.aclose,))
    if scheme in REDIS_SCHEMES:
        # A blocking pool makes a burst of requests wait for a connection instead of opening thousands.
        pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=timeout, **options)
        client = Redis.from_pool(pool)
        return Connected(client, (client.aclose,))
    raise ValueError(f"not a Redis URL scheme: {scheme!r} (expected one of {', '.join(REDIS_SCHEMES)})")


def _sentinel(url: str, options: dict[str, Any], max_connections: int) -> Connected:
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    path = [segment for segment in parts.path.split("/") if segment]
    if not hosts or not 1 <= len(path) <= 2:
        raise ValueError("a Sentinel URL is redis+sentinel://host:port[,host:port...]/service_name[/db]")
    sentinel = Sentinel([_host_port(host) for host in hosts.split(",")], **options)
    master = sentinel.master_for(
        path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        max_connections=max_connections,
    )
    sentinel_closers = tuple(node.aclose for node in sentinel.sentinels)
    return Connected(master, (master.aclose, *sentinel_closers))


def _host_port(host: str) -> tuple[str, int]:
    name, _, port = host.rpartition(":")
    if not name or not port.isdigit():
        raise ValueError("each Sentinel address needs a host and a port")
    return name.strip("[]"), int(port)


T = TypeVar("T")


async def bounded(call: Awaitable[T], *, timeout: float, unavailable: Callable[[str], Exception]) -> T:
    """Await one Redis call within `timeout`; any Redis or network failure becomes `unavailable(kind)`."""
    task = asyncio.current_task()
    cancel_requests = task.cancelling() if task else 0
    try:
        async with asyncio.timeout(timeout):
            result = await call
    except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
        # Only the type: a Redis error's text can quote keys and arguments, and those hold real identifiers.
        raise unavailable(type(exc).__name__) from None
    # redis-py writes through asyncio.wait_for, which on Python 3.11 swallows a cancellation that lands as
    # the write completes (CPython gh-86296). Hand the cancellation back, or a hung-up request runs on.
    if task and task.cancelling() > cancel_requests:
        raise asyncio.CancelledError
    return result


class _NotRewritten(Exception):
    pass


async def forget_clear_history(client: Redis | RedisCluster, *, timeout: float, log: logging.Logger) -> None:
    """Rewrite the append-only file, which still holds every clear value an earlier version wrote, after a
    migration deleted them from the keyspace. Where the command is not available (a managed service, a renamed
    command), say so: the operator must rewrite the file or let it expire."""
    try:
        await bounded(client.bgrewriteaof(), timeout=timeout, unavailable=_NotRewritten)
    except _NotRewritten:
        log.warning("the Redis append-only file still holds the clear layout: rewrite it (BGREWRITEAOF)",
                    extra={"kind": "migration"})
