"""The shared governance store on Redis (standalone, Sentinel or Cluster, through gateway.cache.redis_urls).

Layout (one hash tag, so every script is cluster-safe):

    gwgov:{g}:versions       hash    optouts, profiles -> change counters (HINCRBY in the same script)
    gwgov:{g}:optouts        hash    patient key -> JSON {patient_id, issuer, added_at}
    gwgov:{g}:profiles       hash    role -> JSON of the current StoredProfile
    gwgov:{g}:ledger         stream  one entry per ledger record, stream ID "<seq>-1", field `entry` (JSON)
    gwgov:{g}:ledger:head    hash    seq, hash of the last entry; genesis, the hash of entry 1

A ledger append is a compare-and-set: the client seals the entry after the head it last saw and a script
adds it only if that is still the head; otherwise it returns the current head and the client seals again.
Redis has no SHA-256 in Lua, so the hash is computed here; the script only guards the order.

An append returns once Redis has it on disk: the gateway refuses to start on a Redis that does not fsync every
write (`appendonly yes`, `appendfsync always`), and each append then advances the witness (witness.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from typing import TypeVar, cast

from gateway.cache.redis_urls import bounded, connect
from gateway.governance.chain import canonical, seal
from gateway.governance.errors import GovernanceUnavailable, VersionConflict
from gateway.governance.model import EMPTY_HEAD, Draft, Head, LedgerEntry, OptOut, StoredProfile, Versions
from gateway.governance.witness import Witness

T = TypeVar("T")
log = logging.getLogger("gateway.governance")
_P = "gwgov:{g}:"
VERSIONS, OPTOUTS, PROFILES, LEDGER, HEAD = (_P + name for name in ("versions", "optouts", "profiles", "ledger",
                                                                   "ledger:head"))

# KEYS: optouts, versions. ARGV: 'add' or 'remove', key, record.
_OPTOUT = """
local changed
if ARGV[1] == 'add' then changed = redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
else changed = redis.call('HDEL', KEYS[1], ARGV[2]) end
if changed == 1 then redis.call('HINCRBY', KEYS[2], 'optouts', 1) end
return changed
"""

# KEYS: profiles, versions. ARGV: role, expected version ('' = any), text, actor, updated_at.
# Returns the new version, or -1 - current version on a conflict.
_PUT_PROFILE = """
local current = 0
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then current = cjson.decode(old)['version'] end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= current then return -1 - current end
local new = {role = ARGV[1], version = current + 1, text = ARGV[3], actor = ARGV[4], updated_at = ARGV[5]}
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(new))
redis.call('HINCRBY', KEYS[2], 'profiles', 1)
return current + 1
"""

# KEYS: head, ledger. ARGV: the seq the entry follows, its seq, its JSON, its hash.
# Returns {-1, genesis} once added, else {current seq, current hash}.
_APPEND = """
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if seq ~= tonumber(ARGV[1]) then return {seq, redis.call('HGET', KEYS[1], 'hash') or ''} end
redis.call('XADD', KEYS[2], ARGV[2] .. '-1', 'entry', ARGV[3])
redis.call('HSET', KEYS[1], 'seq', ARGV[2], 'hash', ARGV[4])
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'genesis', ARGV[4]) end
return {-1, redis.call('HGET', KEYS[1], 'genesis') or ''}
"""
_DURABLE = {"appendonly": "yes", "appendfsync": "always"}
_APPEND_TRIES = 64
_PAGE = 1000


class RedisGovernance:
    def __init__(
        self, url: str, *, timeout: float = 1.0, max_connections: int = 8, witness: Witness | None = None
    ) -> None:
        connected = connect(url, timeout=timeout, max_connections=max_connections)
        self._client = connected.client
        self._closers = connected.closers
        self._timeout = timeout
        self._optout = self._client.register_script(_OPTOUT)
        self._put_profile = self._client.register_script(_PUT_PROFILE)
        self._append = self._client.register_script(_APPEND)
        self._last_head = EMPTY_HEAD  # a guess that saves a round trip when this replica wrote last
        self._witness = witness

    def __repr__(self) -> str:
        return "RedisGovernance(<url hidden>)"

    async def versions(self) -> Versions:
        optouts, profiles = await self._bounded(self._client.hmget(VERSIONS, ["optouts", "profiles"]))
        return Versions(int(optouts or 0), int(profiles or 0))

    async def add_optout(self, optout: OptOut) -> bool:
        record = canonical({"patient_id": optout.patient_id, "issuer": optout.issuer, "added_at": optout.added_at})
        return bool(await self._bounded(self._optout([OPTOUTS, VERSIONS], ["add", optout.key, record])))

    async def remove_optout(self, key: str) -> bool:
        return bool(await self._bounded(self._optout([OPTOUTS, VERSIONS], ["remove", key, ""])))

    async def optouts(self) -> list[OptOut]:
        records = await self._bounded(self._client.hvals(OPTOUTS))
        found = [OptOut(**json.loads(record)) for record in records]
        return sorted(found, key=lambda o: (o.added_at, o.key))

    async def put_profile(
        self, role: str, text: str, *, actor: str, updated_at: str, expected_version: int | None
    ) -> StoredProfile:
        expected = "" if expected_version is None else str(expected_version)
        args = [role, expected, text, actor, updated_at]
        version = int(await self._bounded(self._put_profile([PROFILES, VERSIONS], args)))
        if version < 0:
            raise VersionConflict()
        return StoredProfile(role, version, text, actor, updated_at)

    async def profiles(self) -> dict[str, StoredProfile]:
        # The client decodes responses, so the bytes half of redis-py's declared types never occurs.
        records = cast("dict[str, str]", await self._bounded(self._client.hgetall(PROFILES)))
        return {role: StoredProfile(**json.loads(record)) for role, record in records.items()}

    async def append(self, draft: Draft) -> LedgerEntry:
        async def cas() -> LedgerEntry:
            head = self._last_head
            for _ in range(_APPEND_TRIES):
                entry = seal(draft, head)
                args: list[str | int] = [head.seq, entry.seq, canonical(entry.as_dict()), entry.hash]
                seq, current = await self._append([HEAD, LEDGER], args)
                if int(seq) < 0:
                    self._last_head = Head(entry.seq, entry.hash)
                    if self._witness is not None:
                        await self._witness.advance(Head(entry.seq, entry.hash, str(current)))
                    return entry
                head = Head(int(seq), str(current) or EMPTY_HEAD.hash)
            raise TimeoutError  # contention beyond reason: fail like a timeout

        return await self._bounded(cas())

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[LedgerEntry]:
        found: list[LedgerEntry] = []
        start = f"({after}-1"
        while limit is None or len(found) < limit:
            count = _PAGE if limit is None else min(_PAGE, limit - len(found))
            page = cast(
                "list[tuple[str, dict[str, str]]]",
                await self._bounded(self._client.xrange(LEDGER, min=start, max="+", count=count)),
            )
            found += [_entry(stream_id, fields) for stream_id, fields in page]
            if len(page) < count:
                break
            start = f"({page[-1][0]}"
        return found

    async def head(self) -> Head:
        seq, value, genesis = await self._bounded(self._client.hmget(HEAD, ["seq", "hash", "genesis"]))
        return Head(int(seq), str(value), str(genesis or "")) if seq else EMPTY_HEAD

    async def witnessed(self) -> Head | None:
        return None if self._witness is None else await self._witness.read()

    async def durability_problem(self) -> str | None:
        found = {name: await self._config(name) for name in _DURABLE}
        if any(value is not None and value != _DURABLE[name] for name, value in found.items()):
            return "the ledger's Redis must fsync every write: run it with appendonly yes and appendfsync always"
        if None in found.values():  # managed services may rename CONFIG: say so, loudly, and carry on
            log.warning("cannot confirm that the ledger's Redis fsyncs every write", extra={"kind": "durability"})
        return None

    async def _config(self, name: str) -> str | None:
        try:
            answer = cast("dict[str, str]", await self._bounded(self._client.config_get(name)))
        except GovernanceUnavailable:
            return None
        return answer.get(name)

    async def ping(self) -> None:
        await self._bounded(self._client.ping())

    async def aclose(self) -> None:
        for close in self._closers:
            await close()

    async def _bounded(self, call: Awaitable[T]) -> T:
        return await bounded(call, timeout=self._timeout, unavailable=_governance_unavailable)


def _entry(stream_id: str, fields: dict[str, str]) -> LedgerEntry:
    seq = int(stream_id.split("-")[0])
    try:
        return LedgerEntry.from_dict(json.loads(fields["entry"]))
    except (ValueError, KeyError, TypeError):
        return LedgerEntry(seq, "", "", {"unreadable": True})


def _governance_unavailable(kind: str) -> GovernanceUnavailable:
    return GovernanceUnavailable(f"{GovernanceUnavailable.public_message} ({kind})")
