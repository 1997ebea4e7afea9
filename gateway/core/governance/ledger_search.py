"""Searching the ledger: which entries match an admin's filters, and one page of them.

The filters are exact (role, scope, action), a time range, and identifiers. A disclosure entry records study,
series and instance UIDs, never a patient: the shell finds a patient's real studies at the origin, and an entry
is the patient's when it names one of them (or, for an admin action, the patient's key). A study is matched by
its real or its pseudonymous UID. No I/O here: the entries come from the store, the studies from the origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.core.governance.model import LedgerEntry, withdrawing_pairs
from gateway.errors import BadRequest


@dataclass(frozen=True)
class LedgerFilter:
    """Every field left empty matches every entry. `patient_studies` is None when no patient was asked for."""

    role: str = ""
    scope: str = ""
    action: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # inclusive
    patient_id: str = ""
    patient_studies: frozenset[str] | None = None  # the patient's real studies at the origin
    study: str = ""  # a real or a pseudonymous StudyInstanceUID

    def matches(self, entry: LedgerEntry) -> bool:
        body = entry.body
        return (
            all(not want or body.get(name) == want for name, want in self._exact())
            and self._in_time(str(body.get("time", "")))
            and self._of_patient(body)
            and self._of_study(body)
        )

    def _exact(self) -> tuple[tuple[str, str], ...]:
        return ("role", self.role), ("scope", self.scope), ("action", self.action)

    def _in_time(self, text: str) -> bool:
        if self.since is None and self.until is None:
            return True
        moment = parse_time(text) if text else None
        if moment is None:
            return False
        return (self.since is None or moment >= self.since) and (self.until is None or moment <= self.until)

    def _of_patient(self, body: Mapping[str, Any]) -> bool:
        if self.patient_studies is None:
            return True
        real = _section(body, "real")
        if self.patient_studies & set(real.get("studies", [])):
            return True
        return any(withdrawing_pairs(key)[0][1] == self.patient_id for key in real.get("patients", []))

    def _of_study(self, body: Mapping[str, Any]) -> bool:
        if not self.study:
            return True
        return any(self.study in _section(body, side).get("studies", []) for side in ("real", "pseudonymous"))


@dataclass(frozen=True)
class Page:
    entries: list[LedgerEntry]
    more: bool  # more matching entries lie beyond this page, in the direction it was taken


def search(
    entries: Iterable[LedgerEntry], wanted: LedgerFilter, *, after: int | None, before: int | None, limit: int
) -> Page:
    """The matching entries in order: the first `limit` after `after`, else the last `limit` before `before`
    (or of the whole ledger)."""
    found = [e for e in entries if (after is None or e.seq > after) and (before is None or e.seq < before)
             and wanted.matches(e)]  # fmt: skip
    if after is not None:
        return Page(found[:limit], len(found) > limit)
    return Page(found[-limit:], len(found) > limit)


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time with its offset (the ledger writes UTC); None when it does not parse or is naive."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def time_bound(name: str, text: str | None) -> datetime | None:
    if not text:
        return None
    moment = parse_time(text)
    if moment is None:
        raise BadRequest(f"{name} is an ISO 8601 time with its offset, e.g. 2026-01-31T08:00:00Z")
    return moment


def _section(body: Mapping[str, Any], name: str) -> Mapping[str, Sequence[str]]:
    value = body.get(name)
    return value if isinstance(value, Mapping) else {}
