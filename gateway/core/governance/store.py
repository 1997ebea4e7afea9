"""The governance store protocols: what the gateway uses, and what the two back ends keep.

    GovernanceStore     the records in clear, as the gateway, the admin API and the CLI see them
                        (sealed.SealedGovernance, the one implementation)
    GovernanceBackend   what SQLite (sqlite.py) and Redis (redis_store.py) keep, one contract suite for both:
                        opt-outs by index with their pair sealed, the ledger with its real identifiers sealed,
                        and the keyring that wraps the data key they were sealed with (the keyring protocol is
                        the pseudonym store's, so `store rekey` rewraps both alike). No real value in clear.

Every call is one bounded round trip (a ledger append may retry its compare-and-set within the bound) and
raises GovernanceUnavailable on any back-end failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gateway.core.governance.model import (
    Draft,
    Head,
    LedgerEntry,
    OptOut,
    SealedOptOut,
    StoredProfile,
    Versions,
    Withdrawals,
)
from gateway.core.governance.sealing import GovernanceSeal
from gateway.core.pseudonyms.store import KeyringStore

# What a back end keeps of a chained entry: the same entry with its real identifiers sealed (sealing.py).
Keep = Callable[[LedgerEntry], LedgerEntry]


class _Common(KeyringStore, Protocol):
    """What both protocols share: nothing in it holds a real identifier."""

    async def versions(self) -> Versions:
        """The change counters, read together: the cheap call every replica polls."""

    async def put_profile(
        self, role: str, text: str, *, actor: str, updated_at: str, expected_version: int | None
    ) -> StoredProfile:
        """Store the next version of a role's profile. With `expected_version`, raise VersionConflict unless
        the role's current version is that one (0 = never edited)."""

    async def profiles(self) -> dict[str, StoredProfile]:
        """The current stored version of every edited role."""

    async def head(self) -> Head: ...

    async def witnessed(self) -> Head | None:
        """The head the ledger's witness recorded (witness.py); None without a witness or before any append."""

    async def legacy_layout(self) -> bool:
        """Whether the store still holds records in the clear layout of an earlier version (migration.py)."""

    async def durability_problem(self) -> str | None:
        """Why an append that returned could still be lost on a crash, or None when it cannot."""

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


class GovernanceStore(_Common, Protocol):
    # -- opt-out registry -------------------------------------------------------------------------------
    async def add_optout(self, optout: OptOut) -> bool:
        """Register a withdrawal; False when the patient was already registered (nothing changes)."""

    async def remove_optout(self, optout: OptOut) -> bool:
        """Withdraw the withdrawal of this PatientID and issuer; False when there was none."""

    async def optouts(self) -> list[OptOut]:
        """Every opt-out, opened: for the admin only."""

    async def withdrawals(self, version: int) -> Withdrawals:
        """The registry as indexes only, for matching; `version` is the counter read just before."""

    async def optout_index(self, optout: OptOut) -> str:
        """The keyed hash the registry keys this opt-out by: what the withdrawal feed names it with."""

    async def feed_seed(self) -> bytes:
        """Secret material for the withdrawal feed's signing key, the same on every replica of this store."""

    # -- disclosure ledger ------------------------------------------------------------------------------
    async def append(self, draft: Draft) -> LedgerEntry:
        """Chain `draft` after the current last entry, atomically across processes."""

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[LedgerEntry]:
        """Entries with seq > `after`, in order, opened. A damaged entry is returned as found (verify judges
        it), and so is one whose sealed field does not open."""


class GovernanceBackend(_Common, Protocol):
    # -- opt-out registry: by index; the first writer of an index wins ------------------------------------
    async def add_optout(self, optout: SealedOptOut) -> bool: ...

    async def remove_optout(self, index: str) -> bool: ...

    async def optouts(self) -> list[SealedOptOut]: ...

    # -- disclosure ledger ------------------------------------------------------------------------------
    async def append(self, draft: Draft, keep: Keep) -> LedgerEntry:
        """Chain `draft` after the current last entry, atomically across processes; store `keep` of it and
        return it as chained (the hash covers the entry in clear)."""

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[LedgerEntry]:
        """Entries with seq > `after`, in order, as kept. A damaged entry is returned as found."""

    # -- the clear layout of an earlier version ------------------------------------------------------------
    async def migrate_legacy(self, seal: GovernanceSeal) -> dict[str, int]:
        """Convert every record of the clear layout with `seal`, keeping each entry's seq, and delete the clear
        layout: {"optouts": n, "entries": n} converted. Idempotent: a store without it converts nothing."""
