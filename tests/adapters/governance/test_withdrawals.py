"""Which patients an opt-out withdraws: a PatientID given without an issuer covers that ID under every issuer."""

from __future__ import annotations

from gateway.core.dicom import patient_key
from gateway.core.governance.model import OptOut, Withdrawals
from gateway.core.governance.sealing import GovernanceSeal
from gateway.core.keys import DataKey

BRIGID = patient_key("MRN4471953", "STBRIGID-MRN")
SEAL = GovernanceSeal(DataKey(b"k" * 32))


def _withdrawn(*optouts: OptOut) -> Withdrawals:
    """The registry as a replica holds it: indexes only."""
    return Withdrawals(frozenset(SEAL.sealed_optout(o).index for o in optouts), 1, SEAL.key)


def test_an_optout_without_issuer_covers_the_id_under_every_issuer() -> None:
    withdrawn = _withdrawn(OptOut("MRN4471953", "", "t"))
    assert withdrawn.covers(BRIGID) and withdrawn.covers(patient_key("MRN4471953", "OTHER"))
    assert withdrawn.covers(patient_key("MRN4471953"))
    assert not withdrawn.covers(patient_key("MRN4471954", "STBRIGID-MRN"))


def test_an_optout_with_issuer_covers_that_issuer_only() -> None:
    withdrawn = _withdrawn(OptOut("MRN4471953", "STBRIGID-MRN", "t"))
    assert withdrawn.covers(BRIGID)
    assert not withdrawn.covers(patient_key("MRN4471953", "OTHER")) and not withdrawn.covers("MRN4471953")


def test_one_optout_answers_the_same_as_the_registry() -> None:
    optout = OptOut("MRN4471953", "", "t")
    for patient in (BRIGID, "MRN4471953", patient_key("X", "STBRIGID-MRN")):
        assert optout.covers(patient) == _withdrawn(optout).covers(patient)


def test_the_registry_holds_no_patient_id() -> None:
    withdrawn = _withdrawn(OptOut("MRN4471953", "STBRIGID-MRN", "t"), OptOut("MRN0001", "", "t"))
    assert not any("MRN" in index for index in withdrawn.indexes)
    assert withdrawn.covers(BRIGID) and withdrawn.covers(patient_key("MRN0001", "ANY"))


def test_indexes_made_with_another_key_withdraw_no_one() -> None:
    other = Withdrawals(_withdrawn(OptOut("MRN4471953", "", "t")).indexes, 1, DataKey(b"o" * 32))
    assert not other.covers(BRIGID) and not Withdrawals().covers(BRIGID)
