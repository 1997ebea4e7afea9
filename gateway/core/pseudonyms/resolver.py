"""Resolve what an instance needs into values of record: derive candidates, then one store round trip.

The store sees only indexes, candidates and sealed values (store.py); the real values and the keys stay here.
A value of record never changes once stored (the first claim wins, in every process), so each one read is kept
in a bounded in-process cache, in both directions, in memory only: a part whose values are all known makes no
store call, and a store outage fails only what this process has never seen, which is not a fail-open.
Every store call the request path makes goes through here, so this is where round trips are timed and their
failures counted for /metrics.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from gateway import metrics
from gateway.core.keys import DataKey, Keyring, pseudonym_key_name
from gateway.core.pseudonyms.derive import check_scheme, derive
from gateway.core.pseudonyms.model import IdKind, Mappings, Needs, ScopeSpec
from gateway.core.pseudonyms.reversal import keeps_reverse, require_reverse
from gateway.core.pseudonyms.store import Claim, PseudonymStore, data_key
from gateway.core.recent import Recent
from gateway.errors import PseudonymsExhausted

# A value whose first 64 candidates all name other values lives in a scope whose pseudonyms are far too short.
MAX_CANDIDATES = 64
# Values of record kept per direction: a few studies' worth of UIDs many times over, in a few tens of MB.
CACHE_SIZE = 100_000
Key = tuple[str, IdKind, str]  # scope name, kind, the value looked up


class Resolver:
    """Resolves needs for any scope. `key_version` is the current one: it applies to new scopes."""

    def __init__(
        self, store: PseudonymStore, keyring: Keyring, key_version: int, *, cache_size: int = CACHE_SIZE
    ) -> None:
        self._store = store
        self._forward: Recent[Key, str] = Recent(cache_size)  # (scope, kind, real) -> pseudonym of record
        self._reverse: Recent[Key, str] = Recent(cache_size)  # (scope, kind, pseudonym) -> real value
        self._keyring = keyring
        self._key_version = key_version
        # A scope's key version and a version's data key never change once stored, so caching them costs
        # nothing in consistency; the unwrapped keys live in memory only.
        self._scope_versions: dict[str, int] = {}
        self._keys: dict[int, DataKey] = {}

    async def resolve(self, scope: ScopeSpec, needs: Needs) -> Mappings:
        """Pseudonyms for every need. Stored values beat derived; they may come from elsewhere."""
        if not needs:
            return Mappings({})
        resolved: dict[IdKind, dict[str, str]] = {kind: {} for kind in needs.values}
        wanted = []
        for kind, reals in needs.values.items():
            for real in reals:
                known = self._forward.get((scope.name, kind, real))
                if known is None:
                    wanted.append((kind, real))
                else:
                    resolved[kind][real] = known
        if not wanted:
            return Mappings(resolved)
        key = await self._scope_key(scope)
        attempt = 0
        while wanted:
            if attempt == MAX_CANDIDATES:
                raise PseudonymsExhausted()
            claims = [
                _claim(scope, key, kind, real, derive(key.raw, scope, kind, real, attempt)) for kind, real in wanted
            ]
            with metrics.store_round_trip("get_or_create"):
                stored = await self._store.claim(scope.name, claims)
            taken = []
            for (kind, real), of_record in zip(wanted, stored, strict=True):
                if of_record is None:
                    taken.append((kind, real))
                else:
                    resolved[kind][real] = of_record
                    self._remember(scope, kind, real, of_record)
            wanted, attempt = taken, attempt + 1
        return Mappings(resolved)

    async def real_values(self, scope: ScopeSpec, kind: IdKind, pseudonyms: Collection[str]) -> dict[str, str]:
        """Pseudonym -> real value. Unknown pseudonyms are absent; irreversible scopes only reverse UIDs."""
        require_reverse(scope, kind)
        found: dict[str, str] = {}
        unknown = []
        for pseudo in pseudonyms:
            real = self._reverse.get((scope.name, kind, pseudo))
            if real is None:
                unknown.append(pseudo)
            else:
                found[pseudo] = real
        if not unknown:
            return found
        key = await self._scope_key(scope)
        with metrics.store_round_trip("reverse"):
            sealed = await self._store.reverse(scope.name, kind, unknown)
        for pseudo, value in sealed.items():
            found[pseudo] = real = key.open(value, scope.name, kind.value, pseudo)
            self._remember(scope, kind, real, pseudo)
        return found

    async def record(self, scope: ScopeSpec, kind: IdKind, pairs: Mapping[str, str]) -> dict[str, str]:
        """Record values made elsewhere (STOW: UIDs kept as they are). Returns the values of record.

        A value that already has a pseudonym keeps it. A value whose proposal already names another value gets
        a derived pseudonym instead, so one pseudonym never names two values.
        """
        if not pairs:
            return {}
        key = await self._scope_key(scope)
        claims = [_claim(scope, key, kind, real, proposal) for real, proposal in pairs.items()]
        with metrics.store_round_trip("get_or_create"):
            stored = dict(zip(pairs, await self._store.claim(scope.name, claims), strict=True))
        collided = Needs({kind: {real for real, of_record in stored.items() if of_record is None}})
        derived = (await self.resolve(scope, collided)).values.get(kind, {})
        for real, of_record in stored.items():
            if of_record is not None:
                self._remember(scope, kind, real, of_record)
        return {real: stored[real] or derived[real] for real in pairs}

    def cached(self) -> int:
        """How many values of record this process holds, both directions counted."""
        return len(self._forward) + len(self._reverse)

    def _remember(self, scope: ScopeSpec, kind: IdKind, real: str, pseudonym: str) -> None:
        self._forward.put((scope.name, kind, real), pseudonym)
        if keeps_reverse(kind, reversible=scope.reversible):  # not even memory maps anonymized patients back
            self._reverse.put((scope.name, kind, pseudonym), real)

    async def _scope_key(self, scope: ScopeSpec) -> DataKey:
        if scope.name not in self._scope_versions:
            check_scheme(scope.scheme)
            with metrics.store_round_trip("scope_key_version"):
                version = await self._store.scope_key_version(scope.name, self._key_version)
            self._scope_versions[scope.name] = version
        version = self._scope_versions[scope.name]
        if version not in self._keys:
            with metrics.store_round_trip("wrapped_key"):
                self._keys[version] = await data_key(self._store, self._keyring, pseudonym_key_name(version))
        return self._keys[version]


def _claim(scope: ScopeSpec, key: DataKey, kind: IdKind, real: str, pseudonym: str) -> Claim:
    recoverable = keeps_reverse(kind, reversible=scope.reversible)
    return Claim.of(key, scope.name, kind, real, pseudonym, recoverable=recoverable)
