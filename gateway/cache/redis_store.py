"""The shared pseudonym store: Redis, through redis.asyncio with hiredis.

Layout, per scope (the braces are a Redis Cluster hash tag, so one scope's keys live in one slot and a Lua
script touching several of them is cluster-safe):

    gw:{scope}:key_version       string   the key version the scope was created with
    gw:{scope}:<kind>            hash     real value -> pseudonym
    gw:{scope}:<kind>:reverse    hash     pseudonym -> real value (only where reversal.keeps_reverse allows)

A get-or-create batch is one EVALSHA of a script registered once: HSETNX per pair, HGET where a value
already existed, and HSETNX on the reverse hash when the pair was created. Redis runs a script atomically, so
the first proposal stored wins and every other caller, in any process, reads it.

N gateway replicas share one Redis by pointing `store_url` at the same server (or Sentinel service, or
Cluster) with the same pseudonym secret and key version. Nothing is cached between requests except each
scope's key version, which never changes once set, so replicas need no coordination: whichever replica sees a
value first stores it, and the others read it in the same round trip that would have created it. Give Redis
durable persistence (appendonly yes, appendfsync always) and back it up: a lost store is
recoverable for derived values, but not for values recorded from elsewhere (STOW) or for reverse lookups.

Failure: every call is bounded (1 s by default). An unreachable or slow Redis raises StoreUnavailable (503)
within that bound, and the next call reconnects, so the gateway recovers without a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Collection, Mapping
from typing import TypeVar, cast

from gateway.cache.model import IdKind
from gateway.cache.redis_urls import bounded, connect
from gateway.cache.reversal import keeps_reverse
from gateway.errors import StoreUnavailable

T = TypeVar("T")

# KEYS: forward and reverse hash of each kind, in pairs. ARGV: the number of kinds, then (count, keeps
# reverse) per kind, then (real, proposal) pairs kind after kind. Returns the stored values in pair order.
_GET_OR_CREATE = """
local kinds = tonumber(ARGV[1])
local at = 2 + 2 * kinds
local stored = {}
for k = 1, kinds do
  local forward, reverse = KEYS[2 * k - 1], KEYS[2 * k]
  local count, with_reverse = tonumber(ARGV[2 * k]), ARGV[2 * k + 1] == '1'
  for _ = 1, count do
    local real, proposal = ARGV[at], ARGV[at + 1]
    at = at + 2
    if redis.call('HSETNX', forward, real, proposal) == 1 then
      stored[#stored + 1] = proposal
      if with_reverse then redis.call('HSETNX', reverse, proposal, real) end
    else
      stored[#stored + 1] = redis.call('HGET', forward, real)
    end
  end
end
return stored
"""

_SCOPE_KEY_VERSION = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""


def scope_tag(scope: str) -> str:
    """The scope as a hash tag. Escaping braces keeps a scope name from ending the tag early."""
    escaped = scope.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return f"gw:{{{escaped}}}"


class RedisStore:
    def __init__(self, url: str, *, timeout: float = 1.0, max_connections: int = 32) -> None:
        connected = connect(url, timeout=timeout, max_connections=max_connections)
        self._client = connected.client
        self._closers = connected.closers
        self._timeout = timeout
        self._get_or_create = self._client.register_script(_GET_OR_CREATE)
        self._scope_key_version = self._client.register_script(_SCOPE_KEY_VERSION)

    def __repr__(self) -> str:
        return "RedisStore(<url hidden>)"  # the URL may carry a password

    async def scope_key_version(self, scope: str, proposed: int) -> int:
        keys = [f"{scope_tag(scope)}:key_version"]
        return int(await self._bounded(self._scope_key_version(keys, [proposed])))

    async def get_or_create(
        self, scope: str, proposals: Mapping[IdKind, Mapping[str, str]], *, reversible: bool
    ) -> dict[IdKind, dict[str, str]]:
        batch = [(kind, pairs) for kind, pairs in proposals.items() if pairs]
        if not batch:
            return {kind: {} for kind in proposals}
        keys: list[str] = []
        header: list[str] = [str(len(batch))]
        pairs_args: list[str] = []
        for kind, pairs in batch:
            keys += [f"{scope_tag(scope)}:{kind.value}", f"{scope_tag(scope)}:{kind.value}:reverse"]
            header += [str(len(pairs)), "1" if keeps_reverse(kind, reversible=reversible) else "0"]
            for real, proposal in pairs.items():
                pairs_args += [real, proposal]
        stored = iter(await self._bounded(self._get_or_create(keys, header + pairs_args)))
        result: dict[IdKind, dict[str, str]] = {kind: {} for kind in proposals}
        for kind, pairs in batch:
            result[kind] = {real: next(stored) for real in pairs}
        return result

    async def reverse(self, scope: str, kind: IdKind, pseudonyms: Collection[str]) -> dict[str, str]:
        asked = list(pseudonyms)
        if not asked:
            return {}
        reverse_key = f"{scope_tag(scope)}:{kind.value}:reverse"
        # The client decodes responses, so the bytes half of redis-py's declared type never occurs.
        reals = cast("list[str | None]", await self._bounded(self._client.hmget(reverse_key, asked)))
        return {pseudo: real for pseudo, real in zip(asked, reals, strict=True) if real is not None}

    async def ping(self) -> None:
        await self._bounded(self._client.ping())

    async def aclose(self) -> None:
        for close in self._closers:
            await close()

    async def _bounded(self, call: Awaitable[T]) -> T:
        return await bounded(call, timeout=self._timeout, unavailable=_store_unavailable)


def _store_unavailable(kind: str) -> StoreUnavailable:
    return StoreUnavailable(f"the pseudonym store is unavailable ({kind})")
