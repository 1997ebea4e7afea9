"""gateway.core.stow in-process: pseudonyms back to real values at any depth, and the refusals."""

from __future__ import annotations

import io
import pathlib

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from gateway.core.pseudonyms.model import IdKind
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import Profile, load_profiles
from gateway.core.stow import (
    DOES_NOT_MATCH,
    PROCESSING_FAILURE,
    Level,
    RealPatient,
    Refusal,
    StorePlan,
    apply,
    check_patient,
    collect,
    reverse,
)

ROLES = pathlib.Path(__file__).resolve().parents[2] / "conf" / "roles"
REAL = {"2.25.1": "1.9.1", "2.25.2": "1.9.1.1", "2.25.3": "1.9.1.1.1", "2.25.4": "1.9.1.1.0"}  # pseudonym -> real
PATIENT = RealPatient("Whitaker^Eleanor", "MRN1", "ISSUER", "19500101", "F")
SHIFT = -10


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profiles(ROLES)["ai-service"]


def _item(**values: object) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _sent(study: str = "2.25.1", referenced: str = "2.25.3", patient: str = "AID-1") -> Dataset:
    """A derived instance as the AI service sends it: pseudonyms, shifted dates, its own new UIDs."""
    ds = _item(PatientID=patient, PatientName="AID-1=AID-1=AID-1", StudyInstanceUID=study, StudyDate="20240301",
               SeriesInstanceUID="1.2.3.100", SOPInstanceUID="1.2.3.100.1", SOPClassUID="1.2.840.10008.5.1.4.1.1.88.33",
               FrameOfReferenceUID="2.25.4", AccessionNumber="ACC-1")  # fmt: skip
    ref = _item(ReferencedSOPClassUID="1.2.840.10008.5.1.4.1.1.2", ReferencedSOPInstanceUID=referenced)
    ds.ReferencedSeriesSequence = [_item(SeriesInstanceUID="2.25.2", ReferencedInstanceSequence=[ref])]
    image = _item(RelationshipType="CONTAINS", ValueType="IMAGE", ReferencedSOPSequence=[ref])
    ds.ContentSequence = [_item(ValueType="CONTAINER", ContentSequence=[_item(ContentSequence=[image])])]
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.preamble = b"\0" * 128
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return Engine(load_profiles(ROLES)["ai-service"]).read_header(buffer.getvalue())


def _maps(**extra: dict[str, str]) -> dict[IdKind, dict[str, str]]:
    maps = {IdKind.UID: dict(REAL), IdKind.PATIENT: {"AID-1": PATIENT.key}, IdKind.ACCESSION: {"ACC-1": "A123"}}
    maps.update({IdKind(kind): values for kind, values in extra.items()})
    return maps


def _plan(ds: Dataset) -> StorePlan:
    plan = reverse(collect(ds), _maps())
    assert isinstance(plan, StorePlan)
    return plan


def test_claims_find_references_at_every_depth() -> None:
    claims = collect(_sent())
    assert claims.references[Level.INSTANCE] == {"2.25.3"}
    assert claims.references[Level.SERIES] == {"2.25.2"}  # nested only: the top-level series is the service's
    assert claims.references[Level.STUDY] == {"2.25.1"}
    assert {"1.2.3.100", "1.2.3.100.1", "2.25.4"} <= claims.uids
    assert claims.kinds()[IdKind.PATIENT] == {"AID-1"}


def test_apply_restores_real_values_and_keeps_new_uids(profile: Profile) -> None:
    ds = _sent()
    plan = _plan(ds)
    assert plan.new_uids == {"1.2.3.100", "1.2.3.100.1"}
    assert plan.owned[Level.INSTANCE] == {"1.9.1.1.1"}
    apply(ds, plan, PATIENT, SHIFT, profile)
    assert (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID) == ("1.9.1", "1.2.3.100", "1.2.3.100.1")
    assert ds.file_meta.MediaStorageSOPInstanceUID == "1.2.3.100.1"
    assert ds.FrameOfReferenceUID == "1.9.1.1.0"
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == "1.9.1.1"
    deep = ds.ContentSequence[0].ContentSequence[0].ContentSequence[0].ReferencedSOPSequence[0]
    assert deep.ReferencedSOPInstanceUID == "1.9.1.1.1"
    assert ds.StudyDate == "20240311"  # shifted back by the patient's shift
    assert (str(ds.PatientName), ds.PatientID, ds.IssuerOfPatientID) == ("Whitaker^Eleanor", "MRN1", "ISSUER")
    assert (ds.PatientBirthDate, ds.PatientSex, ds.AccessionNumber) == ("19500101", "F", "A123")


def test_non_ascii_real_name_declares_utf8(profile: Profile) -> None:
    ds = _sent()
    apply(ds, _plan(ds), RealPatient("Fernández^José", "MRN1", "", "", "M"), SHIFT, profile)
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert str(ds.PatientName) == "Fernández^José"
    assert "IssuerOfPatientID" not in ds


@pytest.mark.parametrize(
    ("ds", "reason"),
    [
        (_sent(study="2.25.99"), "pseudonym-not-issued (0020,000D)"),
        (_sent(referenced="2.25.98"), "pseudonym-not-issued (0008,1155)"),
        (_sent(patient="AID-FORGED"), "pseudonym-not-issued (0010,0020)"),
    ],
)
def test_forged_pseudonyms_are_refused(ds: Dataset, reason: str) -> None:
    assert reverse(collect(ds), _maps()) == Refusal(PROCESSING_FAILURE, reason)


def test_a_real_instance_is_never_overwritten() -> None:
    claims = collect(_sent())
    refusal = reverse(claims, _maps(uid={**REAL, "1.2.3.100.1": "1.9.1.1.7"}))
    assert refusal == Refusal(PROCESSING_FAILURE, "existing-instance (0008,0018)")


def test_study_in_the_path_must_match() -> None:
    assert reverse(collect(_sent()), _maps(), path_study="2.25.50") == Refusal(
        PROCESSING_FAILURE, "study-mismatch (0020,000D)"
    )


def test_mixed_patients_are_refused() -> None:
    plan = _plan(_sent())
    assert check_patient(plan, PATIENT, {"1.9.1": PATIENT.key, "1.9.1.1.1": PATIENT.key}) is None
    other = check_patient(plan, PATIENT, {"1.9.1.1.1": "OTHER"})
    assert other == Refusal(DOES_NOT_MATCH, "mixed-patients (0008,1155)")
    named = reverse(collect(_sent()), _maps(patient={"AID-1": "OTHER"}))
    assert isinstance(named, StorePlan)
    assert check_patient(named, PATIENT, {}) == Refusal(DOES_NOT_MATCH, "mixed-patients (0010,0020)")
    assert check_patient(plan, None, {}) == Refusal(PROCESSING_FAILURE, "study-not-found (0020,000D)")
