"""What one response disclosed, recorded in the ledger once, before the response completes.

Handlers record each object as it is de-identified (its real and its pseudonymous UIDs); `seal` appends one
ledger entry for the whole response. Buffered responses are sealed after the body is built and before it is
sent; streamed ones before the closing boundary, so a ledger that cannot be written cuts the stream and the
client never holds a complete response that is not on record. A response that knows everything it will
disclose before it asks the origin (a frame names its one instance) starts the append then (`seal_ahead`), so
the ledger's commit runs while the pixels are fetched; it still sends nothing before the append returns. An
origin that then fails leaves an entry for an answer that never completed: the ledger errs by over-recording,
never by under-recording. An exchange that disclosed nothing leaves no entry. Patient identifiers are not
recorded: for irreversible scopes the pairing would be the very correspondence table that anonymization forbids
keeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.core.auth import Principal
from gateway.core.dicom import Uids
from gateway.core.governance.model import LEVELS, Draft, LedgerEntry, Withdrawals
from gateway.core.roles import Role

Append = Callable[[Draft], Awaitable[LedgerEntry]]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Disclosure:
    actor: str
    role: str
    scope: str
    profile_version: str
    append: Append
    transaction: str = ""
    _pairs: dict[str, dict[str, str]] = field(default_factory=lambda: {level: {} for level in LEVELS})
    sealed: bool = False
    _ahead: asyncio.Future[None] | None = None

    def record(self, real: Uids, pseudonymous: Uids) -> None:
        """One object disclosed. A pseudonym may be unknown ("") where the response named none (thumbnails)."""
        if self.sealed:  # the entry is written or being written: what is recorded now would never be on record
            raise RuntimeError("a disclosure was recorded after its ledger entry was sealed")
        for level, real_uid, pseudo_uid in zip(LEVELS, _levels(real), _levels(pseudonymous), strict=True):
            if real_uid:
                pairs = self._pairs[level]
                pairs[real_uid] = pseudo_uid or pairs.get(real_uid, "")

    def draft(self) -> Draft | None:
        if not any(self._pairs.values()):
            return None
        ordered = {level: sorted(pairs.items()) for level, pairs in self._pairs.items() if pairs}
        return Draft(
            actor=self.actor,
            role=self.role,
            action="disclose",
            time=now(),
            scope=self.scope,
            profile_version=self.profile_version,
            real={level: [r for r, _ in pairs] for level, pairs in ordered.items()},
            pseudonymous={level: [p for _, p in pairs] for level, pairs in ordered.items()},
            detail={"transaction": self.transaction} if self.transaction else {},
        )

    def seal_ahead(self) -> None:
        """Begin the append now; `seal` then waits for it. Nothing may be recorded after this."""
        if not self.sealed:
            self.sealed = True
            self._ahead = asyncio.ensure_future(self._append())
            # Retrieved here too, so that a response cancelled before its `seal` logs no unretrieved error.
            self._ahead.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def seal(self) -> None:
        """Append the entry (once), or wait for the append `seal_ahead` began. Raises GovernanceUnavailable when
        the ledger cannot be written."""
        if self._ahead is not None:  # waited for once: a later call returns, as it does after a plain seal
            ahead, self._ahead = self._ahead, None
            await asyncio.shield(ahead)  # a caller that gives up leaves the entry to be written
            return
        if self.sealed:
            return
        self.sealed = True
        await self._append()

    async def _append(self) -> None:
        draft = self.draft()
        if draft is not None:
            await self.append(draft)


def _levels(uids: Uids) -> tuple[str, str, str]:
    return uids.study, uids.series, uids.instance




@dataclass(frozen=True)
class Audit:
    """The governance side of one de-identifying exchange: who is withdrawn, and what is being disclosed."""

    withdrawn: Withdrawals
    disclosure: Disclosure

    @classmethod
    def begin(
        cls, withdrawn: Withdrawals, principal: Principal, role: Role, transaction: str, append: Append
    ) -> Audit:
        scope = role.profile.scope.name if role.profile.scope is not None else ""
        disclosure = Disclosure(principal.name, role.name, scope, role.profile.version, append, transaction)
        return cls(withdrawn, disclosure)
