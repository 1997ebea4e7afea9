"""The ledger search (gateway.core.governance.ledger_search): each filter alone, together, and the pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.core.governance.ledger_search import LedgerFilter, search, time_bound
from gateway.core.governance.model import LedgerEntry
from gateway.errors import BadRequest

A_STUDY, B_STUDY, PSEUDO_A = "1.2.3.1", "1.2.3.2", "2.25.111"


def _entry(seq: int, **body: Any) -> LedgerEntry:
    base = {"actor": "key:x", "role": "researcher", "action": "disclose", "scope": "researcher",
            "time": f"2026-01-01T10:00:{seq:02d}.000+00:00", "real": {}, "pseudonymous": {}}  # fmt: skip
    return LedgerEntry(seq, "p", "h", {**base, **body})


LEDGER = [
    _entry(1, real={"studies": [A_STUDY]}, pseudonymous={"studies": [PSEUDO_A]}),
    _entry(2, role="external", scope="external", real={"studies": [B_STUDY]}, pseudonymous={"studies": ["2.25.9"]}),
    _entry(3, role="admin", action="admin.optouts.add", scope="", real={"patients": ["ISSUER\\PID-A"]}),
    _entry(4, real={"studies": [A_STUDY, B_STUDY]}, pseudonymous={"studies": [PSEUDO_A, "2.25.8"]}),
    _entry(5, role="admin", action="admin.ledger.verify", scope="", time="not a time"),
]


def _seqs(wanted: LedgerFilter, **page: Any) -> list[int]:
    found = search(LEDGER, wanted, after=page.get("after"), before=page.get("before"), limit=page.get("limit", 100))
    return [e.seq for e in found.entries]


def test_no_filter_matches_everything() -> None:
    assert _seqs(LedgerFilter()) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("wanted", "seqs"),
    [
        (LedgerFilter(role="external"), [2]),
        (LedgerFilter(role="admin"), [3, 5]),
        (LedgerFilter(scope="researcher"), [1, 4]),
        (LedgerFilter(action="admin.optouts.add"), [3]),
        (LedgerFilter(role="researcher", scope="external"), []),
    ],
)
def test_exact_filters(wanted: LedgerFilter, seqs: list[int]) -> None:
    assert _seqs(wanted) == seqs


def test_a_time_range_is_inclusive_and_an_unreadable_time_never_matches() -> None:
    since, until = datetime(2026, 1, 1, 10, 0, 2, tzinfo=UTC), datetime(2026, 1, 1, 10, 0, 4, tzinfo=UTC)
    assert _seqs(LedgerFilter(since=since, until=until)) == [2, 3, 4]
    assert _seqs(LedgerFilter(since=since)) == [2, 3, 4]  # entry 5's time does not parse
    assert _seqs(LedgerFilter(until=since)) == [1, 2]


def test_a_patient_matches_through_its_real_studies_and_its_key() -> None:
    assert _seqs(LedgerFilter(patient_id="PID-A", patient_studies=frozenset({A_STUDY}))) == [1, 3, 4]
    assert _seqs(LedgerFilter(patient_id="PID-B", patient_studies=frozenset())) == []
    assert _seqs(LedgerFilter(patient_id="PID-A", patient_studies=frozenset({A_STUDY}), role="researcher")) == [1, 4]


def test_a_study_matches_by_its_real_or_its_pseudonymous_uid() -> None:
    assert _seqs(LedgerFilter(study=A_STUDY)) == [1, 4]
    assert _seqs(LedgerFilter(study=PSEUDO_A)) == [1, 4]
    assert _seqs(LedgerFilter(study="2.25.9")) == [2]
    assert _seqs(LedgerFilter(study="1.2.3")) == []  # a prefix is not the study


def test_pages_are_taken_after_or_before_a_seq() -> None:
    researcher = LedgerFilter(role="researcher")
    assert _seqs(LedgerFilter(), limit=2) == [4, 5]  # the last page by default
    assert _seqs(LedgerFilter(), after=1, limit=2) == [2, 3]
    assert _seqs(LedgerFilter(), before=4, limit=2) == [2, 3]
    assert _seqs(researcher, after=1) == [4]
    page = search(LEDGER, LedgerFilter(), after=None, before=None, limit=2)
    assert page.more and not search(LEDGER, researcher, after=None, before=None, limit=2).more


def test_time_bounds_need_an_offset() -> None:
    assert time_bound("from", "2026-01-01T10:00:00Z") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert time_bound("from", "") is None
    for bad in ("2026-01-01T10:00:00", "yesterday"):
        with pytest.raises(BadRequest):
            time_bound("from", bad)
