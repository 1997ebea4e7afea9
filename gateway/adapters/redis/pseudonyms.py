"""The shared pseudonym store: Redis, through redis.asyncio with hiredis.

Layout, per scope (the braces are a Redis Cluster hash tag, so one scope's keys live in one slot and a Lua
script touching several of them is cluster-safe), as store.py describes it:

    gw:{scope}:key_version       string   the key version the scope was created with
    gw:{scope}:<kind>:index      hash     index of a real value -> pseudonym
    gw:{scope}:<kind>:claim      hash     pseudonym -> "<index> <sealed real value or nothing>"
    gw:keyring                   hash     key name -> data key wrapped under the secret

A claim batch is one EVALSHA of a script registered once. Redis runs a script atomically, so the first claim
of a value and the first claim of a pseudonym win, and every other caller, in any process, reads them.

N gateway replicas share one Redis by pointing `store_url` at the same server (or Sentinel service, or
Cluster) with the same secret and key version. Nothing is cached between requests except each scope's key
version and data key, which never change once set, so replicas need no coordination: whichever replica sees a
value first stores it, and the others read it in the same round trip that would have created it. Give Redis
durable persistence (appendonly yes, appendfsync always) and back it up: a lost store is recoverable for
derived values, but not for values recorded from elsewhere (STOW), for reverse lookups or after a rekey.

The layout before issue 12 (`gw:{scope}:<kind>` real -> pseudonym and `gw:{scope}:<kind>:reverse`, in clear)
is read only by the migration, found by SCAN.

Failure: every call is bounded (1 s by default). An unreachable or slow Redis raises StoreUnavailable (503)
within that bound, and the next call reconnects, so the gateway recovers without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar, cast

from gateway.adapters.redis.urls import bounded, connect, forget_clear_history
from gateway.core.pseudonyms.model import IdKind
from gateway.core.pseudonyms.store import Claim, LegacyMapping
from gateway.errors import StoreUnavailable

T = TypeVar("T")
log = logging.getLogger("gateway.store")

# KEYS: index and claim hash of each kind, in pairs. ARGV: the number of kinds, then (count, unique) per kind,
# then (index, pseudonym, sealed) per claim, kind after kind. Returns the pseudonym of record per claim, in
# order, or nil where the pseudonym already names another index.
_CLAIM = """
local kinds = tonumber(ARGV[1])
local at = 2 + 2 * kinds
local out = {}
for k = 1, kinds do
  local index_key, claim_key = KEYS[2 * k - 1], KEYS[2 * k]
  local count, unique = tonumber(ARGV[2 * k]), ARGV[2 * k + 1] == '1'
  for _ = 1, count do
    local index, pseudonym, sealed = ARGV[at], ARGV[at + 1], ARGV[at + 2]
    at = at + 3
    local known = redis.call('HGET', index_key, index)
    if known then
      out[#out + 1] = known
    else
      local free = true
      if unique then
        local owner = redis.call('HGET', claim_key, pseudonym)
        if owner then
          free = string.match(owner, '^[^ ]*') == index
        else
          redis.call('HSET', claim_key, pseudonym, index .. ' ' .. sealed)
        end
      end
      if free then
        redis.call('HSET', index_key, index, pseudonym)
        out[#out + 1] = pseudonym
      else
        out[#out + 1] = false
      end
    end
  end
end
return out
"""

_GET_OR_SET = """
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
"""

_SCOPE_KEY_VERSION = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""


KEYRING = "gw:keyring"
_SCAN_TIMEOUT_S = 30.0
_LEGACY_SUFFIXES = {kind.value: kind for kind in IdKind}


def scope_tag(scope: str) -> str:
    """The scope as a hash tag. Escaping braces keeps a scope name from ending the tag early."""
    escaped = scope.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return f"gw:{{{escaped}}}"


def _scope_of(tag: str) -> str:
    return tag.replace("%7D", "}").replace("%7B", "{").replace("%25", "%")


class RedisStore:
    def __init__(self, url: str, *, timeout: float = 1.0, max_connections: int = 32) -> None:
        connected = connect(url, timeout=timeout, max_connections=max_connections)
        self._client = connected.client
        self._closers = connected.closers
        self._timeout = timeout
        self._claim = self._client.register_script(_CLAIM)
        self._scope_key_version = self._client.register_script(_SCOPE_KEY_VERSION)
        self._get_or_set = self._client.register_script(_GET_OR_SET)

    def __repr__(self) -> str:
        return "RedisStore(<url hidden>)"  # the URL may carry a password

    async def scope_key_version(self, scope: str, proposed: int) -> int:
        keys = [f"{scope_tag(scope)}:key_version"]
        return int(await self._bounded(self._scope_key_version(keys, [proposed])))

    async def wrapped_key(self, name: str, proposed: str) -> str:
        return str(await self._bounded(self._get_or_set([KEYRING], [name, proposed])))

    async def wrapped_keys(self) -> dict[str, str]:
        return cast("dict[str, str]", await self._bounded(self._client.hgetall(KEYRING)))

    async def replace_wrapped_keys(self, keys: Mapping[str, str]) -> None:
        if keys:
            await self._bounded(self._client.hset(KEYRING, items=[part for pair in keys.items() for part in pair]))

    async def claim(self, scope: str, claims: Sequence[Claim]) -> list[str | None]:
        by_kind: dict[IdKind, list[int]] = {}
        for position, claim in enumerate(claims):
            by_kind.setdefault(claim.kind, []).append(position)
        if not by_kind:
            return []
        keys: list[str] = []
        args: list[str] = [str(len(by_kind))]
        pairs: list[str] = []
        for kind, positions in by_kind.items():
            keys += [f"{scope_tag(scope)}:{kind.value}:index", f"{scope_tag(scope)}:{kind.value}:claim"]
            args += [str(len(positions)), "1" if claims[positions[0]].unique else "0"]
            for position in positions:
                claim = claims[position]
                pairs += [claim.index, claim.pseudonym, claim.sealed]
        stored = iter(await self._bounded(self._claim(keys, args + pairs)))
        result: list[str | None] = [None] * len(claims)
        for positions in by_kind.values():
            for position in positions:
                result[position] = next(stored)
        return result

    async def reverse(self, scope: str, kind: IdKind, pseudonyms: Collection[str]) -> dict[str, str]:
        asked = list(pseudonyms)
        if not asked:
            return {}
        claim_key = f"{scope_tag(scope)}:{kind.value}:claim"
        # The client decodes responses, so the bytes half of redis-py's declared type never occurs.
        owners = cast("list[str | None]", await self._bounded(self._client.hmget(claim_key, asked)))
        sealed = {pseudo: owner.partition(" ")[2] for pseudo, owner in zip(asked, owners, strict=True) if owner}
        return {pseudo: value for pseudo, value in sealed.items() if value}

    async def legacy_mappings(self, batch: int) -> AsyncIterator[list[LegacyMapping]]:
        for scope, kind, key in await self._legacy_keys():
            reverse_key = f"{key}:reverse"
            rows: list[LegacyMapping] = []
            async for real, pseudo in self._client.hscan_iter(key, count=batch):
                rows.append(LegacyMapping(scope, kind, real, pseudo, False))
                if len(rows) == batch:
                    yield await self._with_reverse(reverse_key, rows)
                    rows = []
            if rows:
                yield await self._with_reverse(reverse_key, rows)

    async def drop_legacy(self) -> None:
        for _, _, key in await self._legacy_keys():
            await self._bounded(self._client.delete(key, f"{key}:reverse"))
        await forget_clear_history(self._client, timeout=self._timeout, log=log)

    async def ping(self) -> None:
        await self._bounded(self._client.ping())

    async def aclose(self) -> None:
        for close in self._closers:
            await close()

    async def _legacy_keys(self) -> list[tuple[str, IdKind, str]]:
        """(scope, kind, key) of every forward hash of the old layout."""

        async def scan() -> list[tuple[str, IdKind, str]]:
            found = []
            async for key in self._client.scan_iter(match="gw:{*}:*", count=1000):
                tag, _, suffix = key.removeprefix("gw:{").rpartition("}:")
                if tag and suffix in _LEGACY_SUFFIXES:
                    found.append((_scope_of(tag), _LEGACY_SUFFIXES[suffix], key))
            return found

        # A SCAN walks the whole keyspace in many calls; it is bounded as a whole, and more loosely.
        return await bounded(scan(), timeout=max(self._timeout, _SCAN_TIMEOUT_S), unavailable=StoreUnavailable.because)

    async def _with_reverse(self, reverse_key: str, rows: list[LegacyMapping]) -> list[LegacyMapping]:
        reals = await self._bounded(self._client.hmget(reverse_key, [row.pseudonym for row in rows]))
        return [replace(row, reversed=real == row.real) for row, real in zip(rows, reals, strict=True)]

    async def _bounded(self, call: Awaitable[T]) -> T:
        return await bounded(call, timeout=self._timeout, unavailable=StoreUnavailable.because)
