"""Synthetic studies full of realistic (fake) identifiers, built with pydicom, no downloads.

    a_ct        patient A, CT chest, 20 slices 128x128 16-bit, plus a Basic Text SR series
    a_followup  patient A, CT chest four months later, 5 slices (for date-interval tests)
    b_cr        patient B (Japanese, ISO 2022 IR 87, three-component name), 2 CR images
    c_mr        patient C (Latin-1 name), one Enhanced MR multi-frame instance, 8 frames
    c_us        patient C, one ultrasound image with BurnedInAnnotation YES

`sample_instances()` gives every instance as Part 10 bytes (Explicit VR Little Endian); `write_samples(dir)`
writes them as files. `PLANTED` lists every identifying value planted; `STUDY_UIDS` names the studies.
`large_ct_study()` lazily yields a ~263 MB CT study (`LARGE_STUDY_UID`, patient A) for benchmarks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

from pydicom.dataset import Dataset

from gateway.demo import factory as f
from gateway.demo.modules import (
    PATIENT_A,
    PATIENT_B,
    PATIENT_C,
    Study,
    add_equipment,
    add_patient,
    add_private_block,
    add_request,
    add_study,
)
from gateway.demo.planted import PLANTED, PLANTED_DATES, encoded_forms
from gateway.demo.planted import PLANTED as P
from gateway.demo.special import cr_instance, mr_multiframe, sr_report, us_burned_in

__all__ = [
    "LARGE_STUDY_UID",
    "PLANTED",
    "PLANTED_DATES",
    "STUDY_UIDS",
    "UID_ROOT",
    "encoded_forms",
    "large_ct_study",
    "sample_instances",
    "sample_studies",
    "write_samples",
]

UID_ROOT = f.UID_ROOT

A_CT = Study("a_ct", PATIENT_A, f.uid(1, 1), f"CT CHEST follow-up {P['name.patient_a_given']} "
             f"{P['name.patient_a_family']} ref Dr Okonkwo", P["name.referring_a"], P["institution.a"])
A_FOLLOWUP = Study("a_followup", PATIENT_A, f.uid(1, 2), "CT CHEST interval", P["name.referring_a"],
                   P["institution.a"])
B_CR = Study("b_cr", PATIENT_B, f.uid(2, 1), "胸部X線 山田様", P["name.referring_b"], P["institution.b"])
C_MR = Study("c_mr", PATIENT_C, f.uid(3, 1), "RM rodilla Fernández", "", P["institution.c"])
C_US = Study("c_us", PATIENT_C, f.uid(3, 2), "Ecografía abdominal", "", P["institution.c"])

STUDY_UIDS: dict[str, str] = {s.key: s.uid for s in (A_CT, A_FOLLOWUP, B_CR, C_MR, C_US)}

LARGE_STUDY = Study("bench", PATIENT_A, f.uid(9, 1), "CT benchmark", P["name.referring_a"], P["institution.a"])
LARGE_STUDY_UID = LARGE_STUDY.uid


def ct_series(study: Study, *, series: int, slices: int, rows: int = 128, cols: int = 128) -> list[Dataset]:
    """An axial CT series of patient A with identifiers in many Annex E attributes."""
    return [_ct_slice(study, series, index, rows, cols) for index in range(1, slices + 1)]


def _ct_slice(study: Study, series: int, index: int, rows: int, cols: int) -> Dataset:
    key = study.key
    ds = f.new_instance(f.CT_IMAGE, f"{study.uid}.{series}.{index}")
    add_patient(ds, study.patient)
    add_study(ds, study, date=P[f"date.{key}_study"], time=P[f"time.{key}_study"],
              accession=P[f"accession.{key}"], study_id=P[f"study_id.{key}"])
    add_request(ds, accession=ds.AccessionNumber, description=f"CT thorax for {P['name.patient_a_family']}")
    add_equipment(ds, study, modality="CT", operator=P["name.operator_a"])
    add_private_block(ds)
    _ct_geometry(ds, study, series, index)
    ds.AcquisitionDateTime = f"{ds.StudyDate}{ds.StudyTime}"
    ds.ImageComments = f"Patient {P['name.patient_a_family']} moved slightly; repeated by H. Lindqvist"
    f.set_ct_pixels(ds, f.phantom(rows, cols, index))
    return ds


def _ct_geometry(ds: Dataset, study: Study, series: int, index: int) -> None:
    ds.SeriesInstanceUID = f"{study.uid}.{series}"
    ds.SeriesNumber = series
    ds.SeriesDescription = "Axial 5mm"
    ds.FrameOfReferenceUID = f"{study.uid}.{series}.0"
    ds.InstanceNumber = index
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.PatientPosition = "HFS"
    ds.ImagePositionPatient = [-160.0, -160.0, -5.0 * index]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = -5.0 * index
    ds.SliceThickness = "5"
    ds.PixelSpacing = [2.5, 2.5]
    ds.KVP = "120"
    ds.BodyPartExamined = "CHEST"


def _build() -> dict[str, list[Dataset]]:
    return {
        "a_ct": [*ct_series(A_CT, series=1, slices=20), sr_report(A_CT, series=2)],
        "a_followup": ct_series(A_FOLLOWUP, series=1, slices=5),
        "b_cr": [cr_instance(B_CR, index) for index in (1, 2)],
        "c_mr": [mr_multiframe(C_MR, frames=8)],
        "c_us": [us_burned_in(C_US)],
    }


@functools.cache
def _encoded() -> dict[str, tuple[bytes, ...]]:
    return {key: tuple(f.to_part10(ds) for ds in datasets) for key, datasets in _build().items()}


def sample_studies() -> dict[str, list[bytes]]:
    """Each sample study (keyed as in STUDY_UIDS) as a list of Part 10 instances."""
    return {key: list(instances) for key, instances in _encoded().items()}


def sample_instances() -> list[bytes]:
    """Every sample instance as Part 10 bytes."""
    return [instance for instances in _encoded().values() for instance in instances]


def write_samples(directory: str | Path) -> list[Path]:
    """Write every sample instance to `directory` as `<study>-<n>.dcm`; returns the paths written."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, instances in _encoded().items():
        for number, data in enumerate(instances, start=1):
            path = root / f"{key}-{number:03d}.dcm"
            path.write_bytes(data)
            paths.append(path)
    return paths


def large_ct_study(n: int = 500, rows: int = 512, cols: int = 512) -> Iterator[bytes]:
    """Lazily yield an n-slice CT study (500 x 512x512 x 16-bit is ~263 MB) as Part 10 instances."""
    study = LARGE_STUDY
    for index in range(1, n + 1):
        ds = f.new_instance(f.CT_IMAGE, f"{study.uid}.1.{index}")
        add_patient(ds, study.patient)
        add_study(ds, study, date="20240101", time="120000", accession="BENCH0001", study_id="BENCH")
        add_equipment(ds, study, modality="CT", operator=P["name.operator_a"])
        _ct_geometry(ds, study, 1, index)
        f.set_ct_pixels(ds, f.phantom(rows, cols, index))
        yield f.to_part10(ds)


def small_studies(n: int = 1000) -> Iterator[bytes]:
    """Lazily yield `n` one-slice 32x32 CT studies (of patient C): a study list sized for QIDO benchmarks."""
    for number in range(1, n + 1):
        study = Study(f"small{number}", PATIENT_C, f.uid(8, number), "CT bench", "", P["institution.c"])
        ds = f.new_instance(f.CT_IMAGE, f"{study.uid}.1.1")
        add_patient(ds, PATIENT_C)
        add_study(ds, study, date=f"2023{1 + number % 12:02d}{1 + number % 28:02d}", time="080000",
                  accession=f"BA{number:08d}", study_id=f"B{number}")  # fmt: skip
        add_equipment(ds, study, modality="CT")
        _ct_geometry(ds, study, 1, 1)
        f.set_ct_pixels(ds, f.phantom(32, 32, number))
        yield f.to_part10(ds)
