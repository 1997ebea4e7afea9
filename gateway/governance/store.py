"""The governance store protocol. Two implementations (SQLite and Redis) pass one contract suite.

Every call is one bounded round trip (a ledger append may retry its compare-and-set within the bound) and
raises GovernanceUnavailable on any back-end failure.
"""

from __future__ import annotations

from typing import Protocol

from gateway.governance.model import Draft, Head, LedgerEntry, OptOut, StoredProfile, Versions


class GovernanceStore(Protocol):
    async def versions(self) -> Versions:
        """The change counters, read together: the cheap call every replica polls."""

    # -- opt-out registry -------------------------------------------------------------------------------
    async def add_optout(self, optout: OptOut) -> bool:
        """Register a withdrawal; False when the patient was already registered (nothing changes)."""

    async def remove_optout(self, key: str) -> bool:
        """Withdraw a withdrawal by patient key; False when there was none."""

    async def optouts(self) -> list[OptOut]: ...

    # -- role profiles edited at run time ---------------------------------------------------------------
    async def put_profile(
        self, role: str, text: str, *, actor: str, updated_at: str, expected_version: int | None
    ) -> StoredProfile:
        """Store the next version of a role's profile. With `expected_version`, raise VersionConflict unless
        the role's current version is that one (0 = never edited)."""

    async def profiles(self) -> dict[str, StoredProfile]:
        """The current stored version of every edited role."""

    # -- disclosure ledger ------------------------------------------------------------------------------
    async def append(self, draft: Draft) -> LedgerEntry:
        """Chain `draft` after the current last entry, atomically across processes."""

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[LedgerEntry]:
        """Entries with seq > `after`, in order. A damaged entry is returned as found (verify judges it)."""

    async def head(self) -> Head: ...

    async def witnessed(self) -> Head | None:
        """The head the ledger's witness recorded (witness.py); None without a witness or before any append."""

    # -- operations ---------------------------------------------------------------------------------------
    async def durability_problem(self) -> str | None:
        """Why an append that returned could still be lost on a crash, or None when it cannot."""

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...
