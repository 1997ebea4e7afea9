"""What a governance store keeps instead of a real identifier (sealing.py), and that the chain is unchanged by it."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.core.governance.chain import canonical, verify
from gateway.core.governance.model import OptOut
from gateway.core.governance.sealing import GovernanceSeal
from gateway.core.keys import DataKey
from gateway.errors import KeyMismatch

from .legacy import chained
from .test_contract import planted_draft, planted_values

SEAL = GovernanceSeal(DataKey(b"d" * 32))


def test_a_kept_entry_holds_no_real_identifier_and_opens_to_the_entry_it_was() -> None:
    entries, head = chained(planted_draft(n) for n in range(4))
    kept = [SEAL.kept(entry) for entry in entries]
    assert not any(value in canonical(entry.as_dict()) for entry in kept for value in planted_values())
    assert [entry.hash for entry in kept] == [entry.hash for entry in entries]  # the chain covers the clear body
    opened = [SEAL.opened(entry) for entry in kept]
    assert opened == entries and verify(opened, head).ok


def test_a_sealed_field_that_does_not_open_makes_its_entry_unreadable() -> None:
    entries, head = chained(planted_draft(n) for n in range(3))
    kept = [SEAL.kept(entry) for entry in entries]
    other_row = dataclasses.replace(kept[1], body={**kept[1].body, "real": kept[0].body["real"]})
    in_clear = dataclasses.replace(kept[2], body=entries[2].body)  # a clear `real` where the layout seals it
    opened = [SEAL.opened(entry) for entry in (kept[0], other_row, in_clear)]
    assert opened[1].body == opened[2].body == {"unreadable": True}
    assert verify(opened, head).bad_seq == 2
    assert GovernanceSeal(DataKey(b"e" * 32)).opened(kept[0]).body == {"unreadable": True}


def test_an_optout_is_kept_by_index_with_its_pair_sealed_to_that_index() -> None:
    optout = OptOut("MRN-PLANTED-4471953", "ISSUER-PLANTED-STBRIGID", "2026-01-01T00:00:00Z")
    kept = SEAL.sealed_optout(optout)
    assert "PLANTED" not in kept.index + kept.patient_id + kept.issuer and kept.added_at == optout.added_at
    assert SEAL.opened_optout(kept) == optout
    assert SEAL.index(OptOut("MRN-PLANTED-4471953", "", "t")) != kept.index
    moved = dataclasses.replace(kept, index=SEAL.index(OptOut("MRN-OTHER", "", "t")))
    with pytest.raises(KeyMismatch):
        SEAL.opened_optout(moved)
