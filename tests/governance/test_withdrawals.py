"""Which patients an opt-out withdraws: a PatientID given without an issuer covers that ID under every issuer."""

from __future__ import annotations

from gateway.cache.model import patient_key
from gateway.governance.model import OptOut
from gateway.governance.oversight import Withdrawals

BRIGID = patient_key("MRN4471953", "STBRIGID-MRN")


def _withdrawn(*optouts: OptOut) -> Withdrawals:
    return Withdrawals(frozenset(o.key for o in optouts), 1)


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
