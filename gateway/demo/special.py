"""The non-CT samples: a Japanese CR, a multi-frame Enhanced MR, a burned-in ultrasound and a text SR."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from gateway.demo import factory as f
from gateway.demo.modules import Study, add_equipment, add_patient, add_study
from gateway.demo.planted import PLANTED as P


def _start(study: Study, sop_class: str, series: int, number: int, *, modality: str) -> Dataset:
    """A new instance with the patient, study, series and equipment modules filled in."""
    ds = f.new_instance(sop_class, f"{study.uid}.{series}.{number}")
    add_patient(ds, study.patient)
    key = study.key
    add_study(ds, study, date=P[f"date.{key}_study"], time=P[f"time.{key}_study"],
              accession=P[f"accession.{key}"], study_id=P.get(f"study_id.{key}", "1"))
    add_equipment(ds, study, modality=modality, operator=P.get(f"name.operator_{study.patient.key}"))
    ds.SeriesInstanceUID = f"{study.uid}.{series}"
    ds.SeriesNumber = series
    ds.InstanceNumber = number
    return ds


def cr_instance(study: Study, number: int) -> Dataset:
    """Patient B's chest radiograph: Japanese names and descriptions in ISO 2022 IR 87."""
    ds = _start(study, f.CR_IMAGE, 1, number, modality="CR")
    ds.SeriesDescription = "胸部 正面" if number == 1 else "胸部 側面"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA" if number == 1 else "LL"
    pixels = (f.phantom(64, 64, number).astype(np.int32) + 1024).clip(0, 4095).astype(np.uint16)
    ds.set_pixel_data(pixels, "MONOCHROME2", 12, generate_instance_uid=False)
    return ds


def mr_multiframe(study: Study, *, frames: int) -> Dataset:
    """Patient C's Enhanced MR: one instance, `frames` frames of 64x64 16-bit."""
    ds = _start(study, f.ENHANCED_MR_IMAGE, 1, 1, modality="MR")
    ds.SeriesDescription = "T1 sag rodilla"
    ds.FrameOfReferenceUID = f"{study.uid}.1.0"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.AcquisitionDateTime = f"{ds.StudyDate}{ds.StudyTime}"
    ds.SharedFunctionalGroupsSequence = Sequence([_mr_shared_group()])
    ds.PerFrameFunctionalGroupsSequence = Sequence([_mr_frame_group(n) for n in range(1, frames + 1)])
    pixels = (f.phantom(64, 64, 1, frames=frames).astype(np.int32) + 1000).clip(0, 4095).astype(np.uint16)
    ds.set_pixel_data(pixels, "MONOCHROME2", 12, generate_instance_uid=False)
    return ds


def _mr_shared_group() -> Dataset:
    measures, orientation, group = Dataset(), Dataset(), Dataset()
    measures.PixelSpacing = [3.0, 3.0]
    measures.SliceThickness = "4"
    orientation.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    group.PixelMeasuresSequence = Sequence([measures])
    group.PlaneOrientationSequence = Sequence([orientation])
    return group


def _mr_frame_group(number: int) -> Dataset:
    content, position, group = Dataset(), Dataset(), Dataset()
    content.StackID = "1"
    content.InStackPositionNumber = number
    content.DimensionIndexValues = [1, number]
    position.ImagePositionPatient = [-20.0 + 4.0 * number, -96.0, 96.0]
    group.FrameContentSequence = Sequence([content])
    group.PlanePositionSequence = Sequence([position])
    return group


def us_burned_in(study: Study) -> Dataset:
    """Patient C's ultrasound: RGB 8-bit, flagged BurnedInAnnotation YES (text drawn into the pixels)."""
    ds = _start(study, f.US_IMAGE, 1, 1, modality="US")
    ds.SeriesDescription = "Abdomen"
    ds.BurnedInAnnotation = "YES"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"]
    pixels = f.rgb_pattern(96, 128)
    pixels[4:12, 4:100] = 255  # where a scanner would burn in the patient's name
    ds.set_pixel_data(pixels, "RGB", 8, generate_instance_uid=False)
    return ds


def sr_report(study: Study, *, series: int) -> Dataset:
    """Patient A's Basic Text SR, with names three levels deep in ContentSequence."""
    ds = _start(study, f.BASIC_TEXT_SR, series, 1, modality="SR")
    ds.SeriesDescription = "Radiology report"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([f.code_item("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    ds.VerifyingObserverSequence = Sequence([_verifier(ds)])
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])
    ds.PerformedProcedureCodeSequence = Sequence([])
    ds.ContentSequence = Sequence([_observer(), _findings()])
    return ds


def _verifier(ds: Dataset) -> Dataset:
    item = Dataset()
    item.VerifyingObserverName = P["name.sr_observer_a"]
    item.VerifyingObserverIdentificationCodeSequence = Sequence([])
    item.VerifyingOrganization = P["institution.a"]
    item.VerificationDateTime = f"{ds.StudyDate}{ds.StudyTime}"
    return item


def _content(relationship: str, value_type: str, code: tuple[str, str, str]) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = Sequence([f.code_item(*code)])
    return item


def _observer() -> Dataset:
    item = _content("HAS OBS CONTEXT", "PNAME", ("121008", "DCM", "Person Observer Name"))
    item.PersonName = P["name.sr_observer_a"]
    return item


def _findings() -> Dataset:
    finding = _content("CONTAINS", "TEXT", ("121071", "DCM", "Finding"))
    finding.TextValue = (f"Stable 8 mm nodule. Discussed with Dr {P['name.referring_a_family']} and with the "
                         f"patient's daughter {P['name.patient_a_relative']}.")
    compared = _content("CONTAINS", "DATE", ("111536", "DCM", "Comparison study date"))
    compared.Date = P["date.a_followup_study"]
    conclusion = _content("CONTAINS", "TEXT", ("121077", "DCM", "Conclusion"))
    conclusion.TextValue = f"No change since prior. {P['name.patient_a']} to return in 4 months."
    inner = _content("CONTAINS", "CONTAINER", ("121076", "DCM", "Conclusions"))
    inner.ContinuityOfContent = "SEPARATE"
    inner.ContentSequence = Sequence([conclusion, compared])
    outer = _content("CONTAINS", "CONTAINER", ("121070", "DCM", "Findings"))
    outer.ContinuityOfContent = "SEPARATE"
    outer.ContentSequence = Sequence([finding, inner])
    return outer
