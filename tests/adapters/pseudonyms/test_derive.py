from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.keys import DataKey, Keyring
from gateway.core.pseudonyms import derive as deriving
from gateway.core.pseudonyms.derive import ALPHABET, check_scheme
from gateway.core.pseudonyms.model import IdKind, PseudonymScheme, ScopeSpec

SECRET = b"derive-test-secret-0123456789abc"
SCOPE = ScopeSpec("research", reversible=True)
UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
reals = st.text(min_size=1, max_size=64)


def derive(
    kind: IdKind, real: str, scope: ScopeSpec = SCOPE, version: int = 1, secret: bytes = SECRET, attempt: int = 0
) -> str:
    return deriving.derive(Keyring(secret).first_key(f"key-v{version}"), scope, kind, real, attempt)


@given(reals)
def test_uids_are_valid_and_drop_the_original_root(real: str) -> None:
    uid = derive(IdKind.UID, "1.2.840.113619.2.55." + real)
    assert UID.fullmatch(uid) and len(uid) <= 64
    assert uid.startswith("2.25.") and "113619" not in uid.split(".", 2)[1]


def test_a_long_uid_root_still_gives_valid_uids_of_at_most_64_characters() -> None:
    root = "1.2.826.0.1.3680043.10.543.12345"
    scope = ScopeSpec("s", reversible=True, scheme=PseudonymScheme(uid_root=root))
    uids = [derive(IdKind.UID, f"1.2.3.{i}", scope) for i in range(200)]
    assert all(UID.fullmatch(uid) and len(uid) <= 64 and uid.startswith(root + ".") for uid in uids)


@given(reals)
def test_patient_pseudonyms_use_the_unambiguous_alphabet(real: str) -> None:
    pseudonym = derive(IdKind.PATIENT, real)
    assert pseudonym.startswith("RID-") and len(pseudonym) == 4 + 10
    assert set(pseudonym[4:]) <= set(ALPHABET) and not set("ILOU") & set(pseudonym[4:])


@given(reals)
def test_accession_and_study_ids_fit_sh(real: str) -> None:
    accession, study_id = derive(IdKind.ACCESSION, real), derive(IdKind.STUDY_ID, real)
    assert len(accession) == len(study_id) == 16
    assert accession.startswith("ACC-") and study_id.startswith("S")
    assert set(accession[4:]) | set(study_id[1:]) <= set(ALPHABET)


@pytest.mark.parametrize("max_days", [1, 7, 365])
def test_date_shifts_fall_in_minus_max_to_minus_one(max_days: int) -> None:
    scope = ScopeSpec("s", reversible=True, scheme=PseudonymScheme(max_date_shift_days=max_days))
    shifts = {int(derive(IdKind.DATE_SHIFT, f"P{i}", scope)) for i in range(2000)}
    assert min(shifts) >= -max_days and max(shifts) <= -1
    assert len(shifts) >= min(max_days, 300)  # and they spread over the range


def test_values_are_stable_across_instances_and_differ_by_scope_version_and_kind() -> None:
    assert derive(IdKind.PATIENT, "P1") == derive(IdKind.PATIENT, "P1")
    other_scope = ScopeSpec("teaching", reversible=False)
    others = {
        derive(IdKind.PATIENT, "P1", other_scope),
        derive(IdKind.PATIENT, "P1", version=2),
        derive(IdKind.PATIENT, "P2"),
        derive(IdKind.PATIENT, "P1", secret=b"another-secret-0123456789abcdefg"),
        derive(IdKind.PATIENT, "P1", attempt=1),
    }
    assert derive(IdKind.PATIENT, "P1") not in others and len(others) == 5
    assert derive(IdKind.ACCESSION, "X")[4:] != derive(IdKind.STUDY_ID, "X")[1:]


def test_keys_stay_out_of_repr_and_the_secret_must_be_long_enough() -> None:
    keyring = Keyring(SECRET)
    data_key = DataKey(keyring.first_key("key-v1"))
    assert "secret" in repr(keyring) and SECRET.decode() not in repr(keyring)
    assert "hidden" in repr(data_key) and data_key.raw.hex() not in repr(data_key)
    with pytest.raises(ValueError):
        Keyring(b"short")


@pytest.mark.parametrize(
    "scheme",
    [
        PseudonymScheme(uid_root="1.02.3"),
        PseudonymScheme(uid_root="1.2.x"),
        PseudonymScheme(uid_root="1." + "2" * 40),
        PseudonymScheme(patient_length=0),
        PseudonymScheme(accession_prefix="ACCESSION-"),
        PseudonymScheme(max_date_shift_days=0),
    ],
)
def test_schemes_that_cannot_give_valid_values_are_refused(scheme: PseudonymScheme) -> None:
    with pytest.raises(ValueError):
        check_scheme(scheme)
    check_scheme(PseudonymScheme())
