"""Resolve what an instance needs into values of record: derive proposals, then one store round trip.

Every store call the request path makes goes through here, so this is where round trips are timed and their
failures counted for /metrics.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from gateway import metrics
from gateway.cache.derive import Deriver, check_scheme
from gateway.cache.model import IdKind, Mappings, Needs, ScopeSpec
from gateway.cache.reversal import require_reverse
from gateway.cache.store import PseudonymStore


class Resolver:
    """Resolves needs for any scope. `key_version` is the current one: it applies to new scopes."""

    def __init__(self, store: PseudonymStore, deriver: Deriver, key_version: int) -> None:
        self._store = store
        self._deriver = deriver
        self._key_version = key_version
        # A scope's key version never changes once stored, so caching it costs nothing in consistency.
        self._scope_versions: dict[str, int] = {}

    async def resolve(self, scope: ScopeSpec, needs: Needs) -> Mappings:
        """Pseudonyms for every need. Stored values beat derived; they may come from elsewhere."""
        if not needs:
            return Mappings({})
        proposals = self._deriver.propose(scope, await self._scope_version(scope), needs)
        with metrics.store_round_trip("get_or_create"):
            return Mappings(await self._store.get_or_create(scope.name, proposals, reversible=scope.reversible))

    async def real_values(self, scope: ScopeSpec, kind: IdKind, pseudonyms: Collection[str]) -> dict[str, str]:
        """Pseudonym -> real value. Unknown pseudonyms are absent; irreversible scopes only reverse UIDs."""
        require_reverse(scope, kind)
        with metrics.store_round_trip("reverse"):
            return await self._store.reverse(scope.name, kind, pseudonyms)

    async def record(self, scope: ScopeSpec, kind: IdKind, pairs: Mapping[str, str]) -> dict[str, str]:
        """Record values made elsewhere (STOW: UIDs kept as they are). Returns the values of record."""
        with metrics.store_round_trip("get_or_create"):
            stored = await self._store.get_or_create(scope.name, {kind: pairs}, reversible=scope.reversible)
        return stored[kind]

    async def _scope_version(self, scope: ScopeSpec) -> int:
        if scope.name not in self._scope_versions:
            check_scheme(scope.scheme)
            with metrics.store_round_trip("scope_key_version"):
                version = await self._store.scope_key_version(scope.name, self._key_version)
            self._scope_versions[scope.name] = version
        return self._scope_versions[scope.name]
