"""The governance records in clear, over a back end that keeps them sealed (sealing.py).

The gateway, the admin API and the CLI all use the records through this one class, so sealing happens in one
place and the back ends only ever store indexes, sealed strings and the chain. The data key is unlocked on
first use and then kept in memory: a store that is down at start-up is not refused (as with durability), and
every call fails closed until it answers. A store sealed under another secret raises KeyMismatch; one that
still holds the clear layout of an earlier version raises UnmigratedStore until it is migrated (migration.py).
The round trips a DICOMweb request waits on (the ledger append, and the refresh of opt-outs and edited profiles)
go through here, so this is where they are timed and their failures counted for /metrics.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway import metrics
from gateway.core.governance.model import Draft, Head, LedgerEntry, OptOut, StoredProfile, Versions, Withdrawals
from gateway.core.governance.sealing import KEY_NAME, GovernanceSeal
from gateway.core.governance.store import GovernanceBackend
from gateway.core.keys import DataKey, Keyring
from gateway.core.pseudonyms.store import KeyringStore, data_key
from gateway.errors import UnmigratedStore


async def governance_key(store: KeyringStore, keyring: Keyring) -> DataKey:
    """The store's governance data key, created (from the secret) by the first process that asks."""
    return await data_key(store, keyring, KEY_NAME)


class SealedGovernance:
    def __init__(self, store: GovernanceBackend, keyring: Keyring) -> None:
        self._store = store
        self._keyring = keyring
        self._seal: GovernanceSeal | None = None

    def __repr__(self) -> str:
        return f"SealedGovernance({self._store!r})"

    async def unlock(self) -> GovernanceSeal:
        """The seal of this store. Start-up calls it early, to refuse a store it cannot open before serving."""
        if self._seal is None:
            if await self._store.legacy_layout():
                raise UnmigratedStore()
            self._seal = GovernanceSeal(await governance_key(self._store, self._keyring))
        return self._seal

    # -- sealed on the way in, opened on the way out --------------------------------------------------------
    async def add_optout(self, optout: OptOut) -> bool:
        return await self._store.add_optout((await self.unlock()).sealed_optout(optout))

    async def remove_optout(self, optout: OptOut) -> bool:
        return await self._store.remove_optout((await self.unlock()).index(optout))

    async def optouts(self) -> list[OptOut]:
        seal = await self.unlock()
        opened = [seal.opened_optout(sealed) for sealed in await self._store.optouts()]
        return sorted(opened, key=lambda o: (o.added_at, o.key))

    async def withdrawals(self, version: int) -> Withdrawals:
        with metrics.governance_round_trip("withdrawals"):
            seal = await self.unlock()
            indexes = frozenset(sealed.index for sealed in await self._store.optouts())
        return Withdrawals(indexes, version, seal.key)

    async def optout_index(self, optout: OptOut) -> str:
        return (await self.unlock()).index(optout)

    async def feed_seed(self) -> bytes:
        return (await self.unlock()).key.subkey("withdrawal feed")

    async def append(self, draft: Draft) -> LedgerEntry:
        with metrics.governance_round_trip("append"):
            return await self._store.append(draft, (await self.unlock()).kept)

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[LedgerEntry]:
        seal = await self.unlock()
        return [seal.opened(entry) for entry in await self._store.entries(after=after, limit=limit)]

    # -- nothing sealed: as the back end has it ----------------------------------------------------------------
    async def versions(self) -> Versions:
        with metrics.governance_round_trip("versions"):
            return await self._store.versions()

    async def put_profile(
        self, role: str, text: str, *, actor: str, updated_at: str, expected_version: int | None
    ) -> StoredProfile:
        return await self._store.put_profile(
            role, text, actor=actor, updated_at=updated_at, expected_version=expected_version
        )

    async def profiles(self) -> dict[str, StoredProfile]:
        with metrics.governance_round_trip("profiles"):
            return await self._store.profiles()

    async def head(self) -> Head:
        return await self._store.head()

    async def witnessed(self) -> Head | None:
        return await self._store.witnessed()

    async def wrapped_key(self, name: str, proposed: str) -> str:
        return await self._store.wrapped_key(name, proposed)

    async def wrapped_keys(self) -> dict[str, str]:
        return await self._store.wrapped_keys()

    async def replace_wrapped_keys(self, keys: Mapping[str, str]) -> None:
        await self._store.replace_wrapped_keys(keys)

    async def legacy_layout(self) -> bool:
        return await self._store.legacy_layout()

    async def durability_problem(self) -> str | None:
        return await self._store.durability_problem()

    async def ping(self) -> None:
        await self._store.ping()

    async def aclose(self) -> None:
        await self._store.aclose()
