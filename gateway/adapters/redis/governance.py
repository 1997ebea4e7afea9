"""The shared governance store on Redis (standalone, Sentinel or Cluster, through gateway.adapters.redis.urls).

Layout (one hash tag, so every script is cluster-safe):

    gwgov:{g}:versions        hash    optouts, profiles -> change counters (HINCRBY in the same script)
    gwgov:{g}:sealed:optouts  hash    opt-out index -> JSON {patient_id, issuer (both sealed), added_at}
    gwgov:{g}:profiles        hash    role -> JSON of the current StoredProfile
    gwgov:{g}:sealed:ledger   stream  one entry per ledger record, stream ID "<seq>-1", field `entry` (JSON,
                                      `real` sealed)
    gwgov:{g}:ledger:head     hash    seq, hash of the last entry; genesis, the hash of entry 1
    gwgov:{g}:keyring         hash    name -> wrapped data key

`gwgov:{g}:optouts` and `gwgov:{g}:ledger` are the clear layout of an earlier version (patient key -> JSON in
clear; entries with `real` in clear), which `migrate_legacy` converts and then deletes.

A ledger append is a compare-and-set: the client seals the entry after the head it last saw and a script
adds it only if that is still the head; otherwise it returns the current head and the client seals again.
Redis has no SHA-256 in Lua, so the hash is computed here; the script only guards the order.

An append returns once Redis has it on disk: the gateway refuses to start on a Redis that does not fsync every
write (`appendonly yes`, `appendfsync always`), and each append then advances the witness (witness.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Mapping
from typing import TypeVar, cast

from gateway.adapters.group_commit import GroupCommit
from gateway.adapters.redis.urls import bounded, connect, forget_clear_history
from gateway.adapters.witness import Witness
from gateway.core.governance.chain import canonical, seal_all
from gateway.core.governance.model import (
    EMPTY_HEAD,
    Draft,
    Head,
    LedgerEntry,
    OptOut,
    SealedOptOut,
    StoredProfile,
    Versions,
)
from gateway.core.governance.sealing import GovernanceSeal
from gateway.core.governance.store import Keep
from gateway.errors import GovernanceUnavailable, UnmigratedStore, VersionConflict

T = TypeVar("T")
log = logging.getLogger("gateway.governance")
_P = "gwgov:{g}:"
VERSIONS, OPTOUTS, PROFILES, LEDGER, HEAD, KEYRING = (
    _P + name for name in ("versions", "sealed:optouts", "profiles", "sealed:ledger", "ledger:head", "keyring")
)
LEGACY_OPTOUTS, LEGACY_LEDGER = _P + "optouts", _P + "ledger"

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

# KEYS: head, ledger. ARGV: the seq the entries follow, then each entry's seq, JSON and hash, in order.
# Returns {-1, genesis} once added, else {current seq, current hash}.
_APPEND = """
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if seq ~= tonumber(ARGV[1]) then return {seq, redis.call('HGET', KEYS[1], 'hash') or ''} end
for i = 2, #ARGV, 3 do redis.call('XADD', KEYS[2], ARGV[i] .. '-1', 'entry', ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'seq', ARGV[#ARGV - 2], 'hash', ARGV[#ARGV])
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'genesis', ARGV[4]) end
return {-1, redis.call('HGET', KEYS[1], 'genesis') or ''}
"""
# KEYS: keyring. ARGV: name, proposed wrapped key. The wrapped key of record.
_WRAPPED_KEY = """
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
"""

# KEYS: legacy opt-outs, legacy ledger, versions. ARGV: opt-outs converted, the last stream ID converted ('' =
# none). Deletes the clear layout only if it still holds exactly what was converted; 1 if deleted.
_DROP_LEGACY = """
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local last_id = ''
if #last > 0 then last_id = last[1][1] end
if redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[1]) or last_id ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HINCRBY', KEYS[3], 'optouts', 1)
return 1
"""
_DURABLE = {"appendonly": "yes", "appendfsync": "always"}
_APPEND_TRIES = 64
_MIGRATION_TRIES = 8  # passes over a clear layout that something still writes to, before giving up
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
        self._wrapped_key = self._client.register_script(_WRAPPED_KEY)
        self._drop_legacy = self._client.register_script(_DROP_LEGACY)
        self._last_head = EMPTY_HEAD  # a guess that saves a round trip when this replica wrote last
        self._witness = witness
        self._commits = GroupCommit(
            self._commit, timeout=timeout, timed_out=lambda: GovernanceUnavailable.because("TimeoutError")
        )

    def __repr__(self) -> str:
        return "RedisGovernance(<url hidden>)"

    async def versions(self) -> Versions:
        optouts, profiles = await self._bounded(self._client.hmget(VERSIONS, ["optouts", "profiles"]))
        return Versions(int(optouts or 0), int(profiles or 0))

    async def add_optout(self, optout: SealedOptOut) -> bool:
        record = canonical({"patient_id": optout.patient_id, "issuer": optout.issuer, "added_at": optout.added_at})
        return bool(await self._bounded(self._optout([OPTOUTS, VERSIONS], ["add", optout.index, record])))

    async def remove_optout(self, index: str) -> bool:
        return bool(await self._bounded(self._optout([OPTOUTS, VERSIONS], ["remove", index, ""])))

    async def optouts(self) -> list[SealedOptOut]:
        records = cast("dict[str, str]", await self._bounded(self._client.hgetall(OPTOUTS)))
        return [SealedOptOut(index, **json.loads(record)) for index, record in records.items()]

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

    async def append(self, draft: Draft, keep: Keep) -> LedgerEntry:
        return await self._commits.submit((draft, keep))

    async def _commit(self, drafts: list[tuple[Draft, Keep]]) -> list[LedgerEntry]:
        """One script call for the batch, after the head this replica last saw; again after the current head
        while another replica moves it."""
        head = self._last_head
        for _ in range(_APPEND_TRIES):
            sealed, after = seal_all((draft for draft, _ in drafts), head)
            args: list[str | int] = [head.seq]
            for entry, (_, keep) in zip(sealed, drafts, strict=True):
                args += [entry.seq, canonical(keep(entry).as_dict()), entry.hash]
            seq, current = await self._bounded(self._append([HEAD, LEDGER], args))
            if int(seq) < 0:
                self._last_head = Head(after.seq, after.hash)
                if self._witness is not None:
                    await self._witness.advance(Head(after.seq, after.hash, str(current)))
                return sealed
            head = Head(int(seq), str(current) or EMPTY_HEAD.hash)
        raise GovernanceUnavailable.because("TimeoutError")  # contention beyond reason: fail like a timeout

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[LedgerEntry]:
        found: list[LedgerEntry] = []
        start = f"({after}-1"
        while limit is None or len(found) < limit:
            count = _PAGE if limit is None else min(_PAGE, limit - len(found))
            page = await self._items(LEDGER, start, count)
            found += [_entry(stream_id, fields) for stream_id, fields in page]
            if len(page) < count:
                break
            start = f"({page[-1][0]}"
        return found

    async def _items(self, stream: str, start: str, count: int) -> list[tuple[str, dict[str, str]]]:
        page = await self._bounded(self._client.xrange(stream, min=start, max="+", count=count))
        return cast("list[tuple[str, dict[str, str]]]", page)

    async def _last_id(self, stream: str) -> str:
        """The ID of the stream's last item; '' when it has none."""
        last = cast("list[tuple[str, dict[str, str]]]", await self._bounded(self._client.xrevrange(stream, count=1)))
        return last[0][0] if last else ""

    async def head(self) -> Head:
        seq, value, genesis = await self._bounded(self._client.hmget(HEAD, ["seq", "hash", "genesis"]))
        return Head(int(seq), str(value), str(genesis or "")) if seq else EMPTY_HEAD

    async def witnessed(self) -> Head | None:
        return None if self._witness is None else await self._witness.read()

    # -- keyring ----------------------------------------------------------------------------------------------
    async def wrapped_key(self, name: str, proposed: str) -> str:
        return str(await self._bounded(self._wrapped_key([KEYRING], [name, proposed])))

    async def wrapped_keys(self) -> dict[str, str]:
        return cast("dict[str, str]", await self._bounded(self._client.hgetall(KEYRING)))

    async def replace_wrapped_keys(self, keys: Mapping[str, str]) -> None:
        if keys:
            await self._bounded(self._client.hset(KEYRING, items=[part for item in keys.items() for part in item]))

    # -- the clear layout of an earlier version ----------------------------------------------------------------
    async def legacy_layout(self) -> bool:
        return bool(await self._bounded(self._client.exists(LEGACY_OPTOUTS, LEGACY_LEDGER)))

    async def migrate_legacy(self, seal: GovernanceSeal) -> dict[str, int]:
        """Copy the clear layout, sealed, then delete it in a script that checks nothing was added meanwhile
        (a replica of the earlier version still running); if something was, copy again. Copying is idempotent:
        HSETNX for opt-outs, and stream items only past the last one copied, under their own stream IDs, so a
        tampered or deleted entry stays exactly as detectable as it was."""
        converted = {"optouts": 0, "entries": 0}
        for _ in range(_MIGRATION_TRIES):
            if not await self.legacy_layout():
                break
            optouts = cast("dict[str, str]", await self._bounded(self._client.hgetall(LEGACY_OPTOUTS)))
            for record in optouts.values():
                converted["optouts"] += await self._copy_optout(seal.sealed_optout(OptOut(**json.loads(record))))
            last_id = await self._copy_ledger(seal, converted)
            args: list[str | int] = [len(optouts), last_id]
            if await self._bounded(self._drop_legacy([LEGACY_OPTOUTS, LEGACY_LEDGER, VERSIONS], args)):
                await forget_clear_history(self._client, timeout=self._timeout, log=log)
                break
        else:
            raise UnmigratedStore()  # something kept writing the clear layout: the gateways were not stopped
        return converted

    async def _copy_optout(self, optout: SealedOptOut) -> int:
        record = canonical({"patient_id": optout.patient_id, "issuer": optout.issuer, "added_at": optout.added_at})
        return int(await self._bounded(self._client.hsetnx(OPTOUTS, optout.index, record)))

    async def _copy_ledger(self, seal: GovernanceSeal, converted: dict[str, int]) -> str:
        """Copy the legacy stream's items past the last one already copied; the last legacy stream ID ('' none)."""
        start = await self._last_id(LEDGER) or "0-0"
        while page := await self._items(LEGACY_LEDGER, f"({start}", _PAGE):
            pipe = self._client.pipeline(transaction=False)
            for stream_id, fields in page:
                pipe.xadd(LEDGER, {"entry": canonical(seal.kept(_entry(stream_id, fields)).as_dict())}, id=stream_id)
            await self._bounded(pipe.execute())
            converted["entries"] += len(page)
            start = page[-1][0]
        return await self._last_id(LEGACY_LEDGER)

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
        await self._commits.drain()
        for close in self._closers:
            await close()

    async def _bounded(self, call: Awaitable[T]) -> T:
        return await bounded(call, timeout=self._timeout, unavailable=GovernanceUnavailable.because)


def _entry(stream_id: str, fields: dict[str, str]) -> LedgerEntry:
    seq = int(stream_id.split("-")[0])
    try:
        return LedgerEntry.from_dict(json.loads(fields["entry"]))
    except (ValueError, KeyError, TypeError):
        return LedgerEntry(seq, "", "", {"unreadable": True})
