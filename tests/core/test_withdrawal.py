"""The withdrawal feed's model: what a scope was given of a patient, the loop, and the page signature."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.core.governance.model import LedgerEntry
from gateway.core.governance.withdrawal import (
    ACK,
    DELIVER,
    WITHDRAW,
    FeedSigner,
    Page,
    PatientObjects,
    given,
    loop_status,
    since_last_withdrawal,
    withdrawal_draft,
)

A = PatientObjects({"1.1": "ISS\\A", "1.2": "ISS\\A"}, frozenset({"1.1.1", "1.2.1"}), frozenset({"1.1.1.1", "1.2.1.1"}))


def _entry(seq: int, action: str, scope: str, **body: Any) -> LedgerEntry:
    return LedgerEntry(seq, "", "", {"action": action, "scope": scope, "time": f"t{seq}", **body})


def _disclose(seq: int, scope: str, real: dict[str, list[str]], pseudo: dict[str, list[str]]) -> LedgerEntry:
    return _entry(seq, "disclose", scope, real=real, pseudonymous=pseudo)


def test_given_takes_only_the_patients_objects_from_mixed_disclosures() -> None:
    entries = [
        # a search across patients: studies of A and of someone else, series of both
        _disclose(
            1,
            "r",
            {"studies": ["1.1", "9.9"], "series": ["1.1.1", "9.9.1"]},
            {"studies": ["P1", "P9"], "series": ["S1", "S9"]},
        ),
        _disclose(2, "r", {"studies": ["1.2"], "instances": ["1.2.1.1"]}, {"studies": ["P2"], "instances": ["I2"]}),
        _disclose(3, "x", {"studies": ["9.9"]}, {"studies": ["X9"]}),  # another scope, another patient
        _disclose(4, "x", {"studies": ["1.1"], "instances": ["1.1.1.1"]}, {"studies": ["X1"], "instances": [""]}),
        _entry(5, "admin.optouts.add", "", real={"studies": ["1.1"]}, pseudonymous={"studies": ["Z"]}),
    ]
    found = given(entries, A)
    assert set(found) == {"r", "x"}
    assert found["r"].uids == {"studies": {"P1", "P2"}, "series": {"S1"}, "instances": {"I2"}}
    assert found["r"].patients == {"ISS\\A"}
    assert found["x"].uids == {"studies": {"X1"}, "series": set(), "instances": set()}  # "" names nothing


def test_nothing_disclosed_gives_no_scope() -> None:
    assert given([_disclose(1, "r", {"studies": ["9.9"]}, {"studies": ["P9"]})], A) == {}


def test_a_repeated_opt_out_covers_only_what_came_after_its_last_withdrawal() -> None:
    entries = [
        _disclose(1, "r", {"studies": ["1.1"]}, {"studies": ["P1"]}),
        _entry(2, WITHDRAW, "r", detail={"optout": "idx"}),
        _disclose(3, "r", {"studies": ["1.2"]}, {"studies": ["P2"]}),
        _entry(4, WITHDRAW, "r", detail={"optout": "other"}),
    ]
    assert [e.seq for e in since_last_withdrawal(entries, "idx")] == [3, 4]
    assert [e.seq for e in since_last_withdrawal(entries, "new")] == [1, 2, 3, 4]


def test_the_loop_shows_fetch_and_acknowledgement_per_scope() -> None:
    draft = withdrawal_draft("admin", "r", "idx", "t0", {"studies": {"P1"}, "series": set(), "instances": set()},
                             ["RID-1"])  # fmt: skip
    assert draft.pseudonymous == {"patients": ["RID-1"], "studies": ["P1"]} and not draft.real
    entries = [
        LedgerEntry(10, "", "", draft.body()),
        _entry(11, WITHDRAW, "x", detail={"optout": "idx", "opted_out_at": "t0"}, pseudonymous={}),
        _entry(12, DELIVER, "r", detail={"since": "0", "next": "9"}),  # an older page: not this entry
        _entry(13, DELIVER, "r", detail={"since": "0", "next": "10"}),
        _entry(14, ACK, "x", detail={"cursor": "10"}),  # another scope's ack does not count for r
        _entry(15, ACK, "r", detail={"cursor": "10"}),
    ]
    rows = {row["scope"]: row for row in loop_status(entries, "idx")}
    assert rows["r"]["fetched_at"] == "t13" and rows["r"]["acknowledged_at"] == "t15"
    assert rows["r"]["identifiers"] == {"patients": 1, "studies": 1, "series": 0, "instances": 0}
    assert rows["x"]["fetched_at"] is None and rows["x"]["acknowledged_at"] is None  # its ack is for cursor 10
    assert loop_status(entries, "unknown") == []


def test_a_signed_page_verifies_with_the_published_key_and_nothing_else() -> None:
    signer = FeedSigner(b"seed" * 8)
    page = Page("r", 0, 100, (_entry(10, WITHDRAW, "r", detail={"opted_out_at": "t0"}, pseudonymous={}),))
    signed = signer.signed(page.as_dict())
    assert signed["page"]["next"] == 10 and signed["page"]["entries"][0]["cursor"] == 10
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(signer.published()["public_key"]))
    message = json.dumps(signed["page"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    public.verify(base64.b64decode(signed["signature"]), message)
    assert FeedSigner(b"seed" * 8).signed(page.as_dict()) == signed  # deterministic: every replica agrees
    other = FeedSigner(b"else" * 8)
    assert other.key_id != signer.key_id
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(base64.b64decode(other.published()["public_key"])).verify(
            base64.b64decode(signed["signature"]), message
        )
