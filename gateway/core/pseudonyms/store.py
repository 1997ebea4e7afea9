"""The pseudonym store protocol. Two implementations (SQLite and Redis) pass one contract suite.

A store holds no real value in clear. What it keeps per scope and kind (see keys.py for indexes and sealing):

    index      keyed hash of a real value -> its pseudonym of record    (first writer wins on the real value)
    claim      pseudonym -> the index of the value it names, and that   (first writer wins on the pseudonym)
               value sealed where it must be read back
    key version, and the keyring that wraps each version's data key under the secret

Date shifts are kept in `index` only: many patients share one shift, so a shift claims nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.core.keys import DataKey, Keyring
from gateway.core.pseudonyms.model import IdKind


@dataclass(frozen=True)
class Claim:
    """A request to name one real value (given by its index) with `pseudonym`, unless it already has a name."""

    kind: IdKind
    index: str
    pseudonym: str
    sealed: str = ""  # the real value sealed to this claim's row; "" where nothing may be recoverable

    @classmethod
    def of(cls, key: DataKey, scope: str, kind: IdKind, real: str, pseudonym: str, *, recoverable: bool) -> Claim:
        """The claim of `real` in `scope`: its index, and the value itself sealed to the row if `recoverable`."""
        sealed = key.seal(real, scope, kind.value, pseudonym) if recoverable else ""
        return cls(kind, key.index(scope, kind.value, real), pseudonym, sealed)

    @property
    def unique(self) -> bool:
        return self.kind is not IdKind.DATE_SHIFT


@dataclass(frozen=True)
class LegacyMapping:
    """One row of the layout before issue 12, which kept real values in clear (read only by the migration)."""

    scope: str
    kind: IdKind
    real: str
    pseudonym: str
    reversed: bool  # the old layout kept the reverse direction of this row


class KeyringStore(Protocol):
    """The wrapped data keys a store keeps (keys.Keyring wraps and unwraps them)."""

    async def wrapped_key(self, name: str, proposed: str) -> str:
        """Get-or-create the wrapped key called `name`; atomic, the first writer wins."""

    async def wrapped_keys(self) -> dict[str, str]: ...

    async def replace_wrapped_keys(self, keys: Mapping[str, str]) -> None:
        """Overwrite these entries (rekey: the same data keys, wrapped under a new secret)."""


async def data_key(store: KeyringStore, keyring: Keyring, name: str) -> DataKey:
    """The data key called `name`, created (from the secret) by the first process that asks for it."""
    return DataKey(keyring.unwrap(name, await store.wrapped_key(name, keyring.proposal(name))))


class PseudonymStore(KeyringStore, Protocol):
    async def scope_key_version(self, scope: str, proposed: int) -> int:
        """Get-or-create the key version a scope was created with. New scopes take `proposed`."""

    async def claim(self, scope: str, claims: Sequence[Claim]) -> list[str | None]:
        """For each claim, in order: the pseudonym of record of its index, storing the claim where it has none.

        None where the claimed pseudonym already names another value (a collision): nothing is stored for that
        claim, and the caller claims the value's next candidate. Atomic per claim across processes and
        replicas, and one round trip for the whole batch.
        """

    async def reverse(self, scope: str, kind: IdKind, pseudonyms: Collection[str]) -> dict[str, str]:
        """Pseudonym -> the sealed real value it names (one round trip). Pseudonyms unknown, or whose value was
        not kept sealed, are absent."""

    def legacy_mappings(self, batch: int) -> AsyncIterator[list[LegacyMapping]]:
        """Rows of the old clear layout, `batch` at a time, if the store still has them (none once migrated)."""

    async def drop_legacy(self) -> None:
        """Delete the old clear layout, after the migration has claimed every row."""

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""

    async def aclose(self) -> None: ...
