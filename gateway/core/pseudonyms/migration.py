"""Move a pseudonym store from the clear layout (before issue 12) to indexes, claims and sealed values.

Every row keeps its pseudonym: the row's real value becomes an index, and where the old layout kept the reverse
direction the real value is sealed into the claim. Running it again finds nothing to move. Nothing of the old
layout is dropped until every row has been claimed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gateway.core.keys import DataKey, Keyring, pseudonym_key_name
from gateway.core.pseudonyms.store import Claim, PseudonymStore, data_key
from gateway.errors import UnmigratedStore

BATCH = 500


@dataclass
class Migrated:
    """What a migration moved, by kind; `conflicts` counts rows whose pseudonym already named another value."""

    moved: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0


async def has_legacy(store: PseudonymStore) -> bool:
    async for _ in store.legacy_mappings(1):
        return True
    return False


async def unlock(store: PseudonymStore, keyring: Keyring) -> None:
    """Check that the gateway may serve on this store: UnmigratedStore while the old clear layout is there,
    KeyMismatch when a data key it holds was wrapped under another secret."""
    if await has_legacy(store):
        raise UnmigratedStore()
    for name, wrapped in (await store.wrapped_keys()).items():
        keyring.unwrap(name, wrapped)


async def migrate(store: PseudonymStore, keyring: Keyring, *, key_version: int) -> Migrated:
    """Claim every row of the old layout, then drop it. `key_version` is the one new scopes would take."""
    migrated = Migrated()
    keys: dict[str, DataKey] = {}
    async for rows in store.legacy_mappings(BATCH):
        for scope in {row.scope for row in rows}:
            if scope not in keys:
                keys[scope] = await _scope_key(store, keyring, scope, key_version)
            mine = [row for row in rows if row.scope == scope]
            claims = [
                Claim.of(keys[scope], scope, row.kind, row.real, row.pseudonym, recoverable=row.reversed)
                for row in mine
            ]
            stored = await store.claim(scope, claims)
            for row, of_record in zip(mine, stored, strict=True):
                if of_record == row.pseudonym:
                    migrated.moved[row.kind.value] += 1
                else:
                    migrated.conflicts += 1
    if not migrated.conflicts:
        await store.drop_legacy()
    return migrated


async def _scope_key(store: PseudonymStore, keyring: Keyring, scope: str, key_version: int) -> DataKey:
    # The old code stored a scope's key version before its first mapping, so this reads the version of record.
    return await data_key(store, keyring, pseudonym_key_name(await store.scope_key_version(scope, key_version)))
