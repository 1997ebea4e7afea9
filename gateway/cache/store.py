"""The pseudonym store protocol. Two implementations (SQLite and Redis) pass one contract suite."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from gateway.cache.model import IdKind


class PseudonymStore(Protocol):
    async def scope_key_version(self, scope: str, proposed: int) -> int:
        """Get-or-create the key version a scope was created with. New scopes take `proposed`."""

    async def get_or_create(
        self, scope: str, proposals: Mapping[IdKind, Mapping[str, str]], *, reversible: bool
    ) -> dict[IdKind, dict[str, str]]:
        """For every (kind, real) pair, return the stored value, storing the proposal where none exists.

        Atomic per pair across processes and replicas, and done in one round trip for the whole batch.
        Reversible scopes also record the reverse direction.
        """

    async def reverse(self, scope: str, kind: IdKind, pseudonyms: Collection[str]) -> dict[str, str]:
        """Map pseudonyms back to real values (one round trip).

        Unknown pseudonyms are absent from the result.
        """

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""

    async def aclose(self) -> None: ...
