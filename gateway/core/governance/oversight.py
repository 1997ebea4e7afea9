"""This replica's view of the governance records: who opted out, and which stored profiles are live.

Every de-identifying request asks `current()`. The view is reused while it is younger than `refresh_s`;
after that one request reads the change counters (one round trip, shared by concurrent requests) and reloads
only what changed. So an opt-out or a rule update made on any replica is in force here within `refresh_s`
plus one store round trip, and on the replica that made it at once (`invalidate`). A store that cannot be
read fails the request closed (503): a stale list of withdrawals is never trusted past its age.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from gateway.core.governance.model import StoredProfile, Versions, Withdrawals
from gateway.core.governance.store import GovernanceStore
from gateway.errors import ConfigError, ProfileSyncFailed

log = logging.getLogger("gateway.governance")
ApplyProfiles = Callable[[Mapping[str, StoredProfile]], None]


class Oversight:
    def __init__(
        self,
        store: GovernanceStore,
        apply_profiles: ApplyProfiles,
        *,
        refresh_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._apply_profiles = apply_profiles
        self._refresh_s = refresh_s
        self._clock = clock
        self._withdrawn = Withdrawals()
        self._seen = Versions(-1, -1)
        self._checked: float | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> Withdrawals:
        if not self._fresh():
            async with self._lock:  # concurrent requests share one refresh
                if not self._fresh():
                    await self._refresh()
        return self._withdrawn

    def invalidate(self) -> None:
        """Forget the age of the view: the next `current()` reads the store (after a change made here)."""
        self._checked = None

    def _fresh(self) -> bool:
        return self._checked is not None and self._clock() - self._checked < self._refresh_s

    async def _refresh(self) -> None:
        started = self._clock()
        versions = await self._store.versions()
        if versions.optouts != self._seen.optouts:
            self._withdrawn = await self._store.withdrawals(versions.optouts)
            count = len(self._withdrawn.indexes)
            log.info("opt-out registry loaded", extra={"count": count, "version": versions.optouts})
        if versions.profiles != self._seen.profiles:
            self._sync_profiles(await self._store.profiles())
        self._seen = versions
        self._checked = started  # the view is as old as the read that began it

    def _sync_profiles(self, stored: Mapping[str, StoredProfile]) -> None:
        try:
            self._apply_profiles(stored)
        except ConfigError as exc:
            # Fail closed: no role is served under rules other than the ones of record.
            log.error("stored profile does not compile", extra={"file": exc.file, "key": exc.key})
            raise ProfileSyncFailed() from None
        log.info("role profiles synced", extra={"edited_roles": len(stored)})
