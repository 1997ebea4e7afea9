"""DICOM modules shared by the synthetic samples: who the patient is, which study, which equipment.

Every value comes from `PLANTED`, so the leak tests and the samples cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from gateway.demo.planted import PLANTED as P


@dataclass(frozen=True)
class Patient:
    key: str  # a, b or c
    charset: str | list[str]
    sex: str
    age: str


@dataclass(frozen=True)
class Study:
    key: str  # the label used in STUDY_UIDS, e.g. "a_ct"
    patient: Patient
    uid: str
    description: str
    referring: str
    institution: str


PATIENT_A = Patient("a", "ISO_IR 100", "F", "066Y")
PATIENT_B = Patient("b", ["", "ISO 2022 IR 87"], "M", "052Y")
PATIENT_C = Patient("c", "ISO_IR 100", "F", "035Y")


def add_patient(ds: Dataset, patient: Patient) -> None:
    """Patient module, plus the extra Annex E attributes patient A carries."""
    ds.SpecificCharacterSet = patient.charset
    ds.PatientName = P[f"name.patient_{patient.key}"]
    ds.PatientID = P[f"id.patient_{patient.key}"]
    ds.PatientBirthDate = P[f"date.patient_{patient.key}_birth"]
    ds.PatientSex = patient.sex
    ds.PatientAge = patient.age
    if patient.key == "a":
        _add_patient_a_extras(ds)


def _add_patient_a_extras(ds: Dataset) -> None:
    ds.IssuerOfPatientID = P["id.patient_a_issuer"]
    other = Dataset()
    other.PatientID = P["id.patient_a_other"]
    other.IssuerOfPatientID = "NHS"
    other.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = Sequence([other])
    ds.PatientAddress = P["address.patient_a"]
    ds.PatientTelephoneNumbers = P["phone.patient_a"]
    ds.PatientComments = f"Lives with daughter {P['name.patient_a_relative']}; call {P['phone.patient_a']}"
    ds.PatientWeight = "61.5"
    ds.PatientSize = "1.64"


def add_study(ds: Dataset, study: Study, *, date: str, time: str, accession: str, study_id: str) -> None:
    """General Study module, with the request that led to it."""
    ds.StudyInstanceUID = study.uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = time
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    ds.AccessionNumber = accession
    ds.StudyID = study_id
    ds.StudyDescription = study.description
    ds.ReferringPhysicianName = study.referring
    ds.InstitutionName = study.institution


def add_request(ds: Dataset, *, accession: str, description: str) -> None:
    """Request Attributes and Performed Procedure Step (patient A's CT studies)."""
    request = Dataset()
    request.RequestedProcedureID = P["request.a_procedure_id"]
    request.ScheduledProcedureStepID = P["request.a_step_id"]
    request.RequestedProcedureDescription = description
    request.AccessionNumber = accession
    ds.RequestAttributesSequence = Sequence([request])
    ds.RequestingPhysician = P["name.requesting_a"]
    ds.PerformedProcedureStepID = P["request.a_performed_step_id"]
    ds.PerformedProcedureStepStartDate = ds.StudyDate
    ds.PerformedProcedureStepStartTime = ds.StudyTime
    ds.PerformedProcedureStepDescription = description


def add_equipment(ds: Dataset, study: Study, *, modality: str, operator: str | None = None) -> None:
    """General Series and General Equipment modules (the series UID and number are set by the caller)."""
    ds.Modality = modality
    ds.Manufacturer = "ACME Medical Systems"
    ds.ManufacturerModelName = f"Synthetica {modality}"
    ds.SoftwareVersions = "4.2.1"
    if operator:
        ds.OperatorsName = operator
    if study.patient.key == "a":
        ds.InstitutionAddress = P["institution.a_address"]
        ds.InstitutionalDepartmentName = P["institution.a_department"]
        ds.StationName = P["device.a_station"]
        ds.DeviceSerialNumber = P["device.a_serial"]
        ds.PerformingPhysicianName = P["name.performing_a"]


def add_private_block(ds: Dataset) -> None:
    """A private block with a creator, a person's name, an ID and a date in it."""
    block = ds.private_block(0x0011, "ACME GATEWAY TEST 1.0", create=True)
    block.add_new(0x01, "PN", P["name.private_a"])
    block.add_new(0x02, "LO", P["id.patient_a"])
    block.add_new(0x03, "DA", P["date.patient_a_birth"])
    block.add_new(0x04, "LT", f"Reviewed by {P['name.private_a_family']} before transfer")
