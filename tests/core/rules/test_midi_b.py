"""The MIDI-B check types, plus the interval between two studies of one patient."""

from __future__ import annotations

import datetime
import io

import pydicom
import pytest

from gateway.core.pseudonyms.model import IdKind
from gateway.core.rules.engine import IMPLEMENTATION_CLASS_UID, Engine

from .conftest import derive, mappings_for
from .factories import UID_ROOT, ct_instance, deidentify, merged, split_pixels


def read(data: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def days(a: str, b: str) -> int:
    return (datetime.date.fromisoformat(f"{b[:4]}-{b[4:6]}-{b[6:]}")
            - datetime.date.fromisoformat(f"{a[:4]}-{a[4:6]}-{a[6:]}")).days


@pytest.mark.parametrize("role", ["researcher", "external", "ai-service"])
def test_tag_retained_text_removed_uid_changed(engines: dict[str, Engine], role: str) -> None:
    out = read(deidentify(engines[role], ct_instance())[1])
    assert out.Modality == "CT" and out.Rows == 4 and list(out.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert out.StudyDescription == "CT head for"  # scrubbed: the patient's name goes, the rest stays
    assert out.ReferringPhysicianName == ""
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
        assert out[keyword].value.startswith("2.25.") and UID_ROOT not in out[keyword].value
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.file_meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert out.PatientIdentityRemoved == "YES"
    assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"


def test_date_shifted_by_the_patient_shift(engines: dict[str, Engine]) -> None:
    engine = engines["researcher"]
    header, _ = split_pixels(ct_instance(study_date="20200101"))
    ds = engine.read_header(header)
    mappings = mappings_for(engine.profile, engine.needs(ds))
    engine.apply(ds, mappings)
    shift = mappings.date_shift("PAT-1")
    assert shift < 0
    assert days("20200101", ds.StudyDate) == shift
    assert ds.StudyTime == "101112"  # times are kept when dates are shifted
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"


def test_year_only_for_external(engines: dict[str, Engine]) -> None:
    out = read(deidentify(engines["external"], ct_instance(study_date="20200615", PatientAge="095Y"))[1])
    assert out.StudyDate == "20200101" and out.StudyTime == ""
    assert out.PatientAge == "090Y"
    assert read(deidentify(engines["external"], ct_instance(PatientAge="045Y"))[1]).PatientAge == "045Y"


def test_uid_and_patient_id_consistent_across_instances(engines: dict[str, Engine]) -> None:
    engine = engines["researcher"]
    first = ct_instance(sop_uid=f"{UID_ROOT}.1.1.1")
    reference = pydicom.Dataset()
    reference.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    reference.ReferencedSOPInstanceUID = f"{UID_ROOT}.1.1.1"
    second = ct_instance(sop_uid=f"{UID_ROOT}.1.1.2", ReferencedImageSequence=[reference])
    a, b = (read(deidentify(engine, data)[1]) for data in (first, second))
    assert a.StudyInstanceUID == b.StudyInstanceUID and a.SOPInstanceUID != b.SOPInstanceUID
    assert b.ReferencedImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID
    assert b.ReferencedImageSequence[0].ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert a.PatientID == b.PatientID
    other = read(deidentify(engine, ct_instance(patient_id="PAT-2"))[1])
    assert other.PatientID != a.PatientID


def test_interval_between_studies_preserved(engines: dict[str, Engine]) -> None:
    engine = engines["researcher"]
    studies = [ct_instance(study_uid=f"{UID_ROOT}.{n}", sop_uid=f"{UID_ROOT}.{n}.1.1", study_date=date)
               for n, date in ((1, "20200101"), (2, "20210315"))]
    outs = [read(deidentify(engine, data)[1]) for data in studies]
    assert days(outs[0].StudyDate, outs[1].StudyDate) == days("20200101", "20210315")
    assert outs[0].StudyDate != "20200101"


def test_pseudonyms_follow_the_scope(engines: dict[str, Engine]) -> None:
    researcher, ai = engines["researcher"], engines["ai-service"]
    a = read(deidentify(researcher, ct_instance())[1])
    b = read(deidentify(ai, ct_instance())[1])
    assert a.PatientID != b.PatientID and b.PatientID.startswith("AID-")
    assert researcher.profile.scope is not None
    assert a.PatientID == derive(researcher.profile.scope, IdKind.PATIENT, "PAT-1")


def test_issuer_qualifies_the_patient(engines: dict[str, Engine]) -> None:
    engine = engines["researcher"]
    ds = engine.read_header(split_pixels(ct_instance(IssuerOfPatientID="HOSP-A"))[0])
    assert engine.needs(ds).values[IdKind.PATIENT] == {"HOSP-A\\PAT-1"}


def test_ct_pixels_bit_exact(engines: dict[str, Engine]) -> None:
    source = ct_instance()
    _, pixel_element = split_pixels(source)
    for engine in engines.values():
        _, output = deidentify(engine, source)
        assert output.endswith(pixel_element)
        assert read(output).PixelData == bytes(range(1, 33))


def test_identity_changes_nothing(engines: dict[str, Engine]) -> None:
    engine = engines["clinician"]
    source = ct_instance()
    ds = engine.read_header(split_pixels(source)[0])
    assert not engine.needs(ds)
    out = read(deidentify(engine, source)[1])
    assert out.PatientName == "Müller^Hans" and out.SOPInstanceUID == f"{UID_ROOT}.1.1.1"
    assert "PatientIdentityRemoved" not in out


def test_needs_json_matches_part10(engines: dict[str, Engine]) -> None:
    engine = engines["researcher"]
    source = ct_instance()
    ds = engine.read_header(source)
    obj = read(source).to_json_dict()
    assert engine.needs_json(obj).values == engine.needs(ds).values
    mappings = mappings_for(engine.profile, merged(engine.needs(ds)))
    engine.apply(ds, mappings)
    out = engine.apply_json(obj, mappings)
    assert out["0020000D"]["Value"] == [ds.StudyInstanceUID]
    assert out["00080020"]["Value"] == [ds.StudyDate]
    assert out["00100020"]["Value"] == [ds.PatientID]
