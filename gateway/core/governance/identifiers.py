"""The identifiers governance needs from an object: the patient key and the study/series/instance UIDs.

Read the same way the engine reads them (`gateway.core.pseudonyms.model.patient_key`), from DICOM JSON or from a Part 10
header, without converting or changing the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom import Dataset

from gateway.core.pseudonyms.model import patient_key
from gateway.core.rules.dicom_json import JsonObject, first_text
from gateway.core.rules.header import text_of

PATIENT_ID, ISSUER = 0x00100020, 0x00100021
STUDY, SERIES, INSTANCE = 0x0020000D, 0x0020000E, 0x00080018


@dataclass(frozen=True)
class Uids:
    """Study, series and instance UIDs of one object ("" where the object is above that level)."""

    study: str = ""
    series: str = ""
    instance: str = ""

    @classmethod
    def from_path(cls, path: str) -> Uids:
        """/studies/a/series/b/instances/c -> Uids(a, b, c)."""
        segments = path.strip("/").split("/")
        named = dict(zip(segments[::2], segments[1::2], strict=False))
        return cls(named.get("studies", ""), named.get("series", ""), named.get("instances", ""))


def json_patient(obj: JsonObject) -> str:
    return patient_key(first_text(obj, f"{PATIENT_ID:08X}"), first_text(obj, f"{ISSUER:08X}") or None)


def dataset_patient(ds: Dataset) -> str:
    return patient_key("".join(text_of(ds, PATIENT_ID)).strip(), "".join(text_of(ds, ISSUER)).strip() or None)


def json_uids(obj: JsonObject) -> Uids:
    return Uids(*(first_text(obj, f"{tag:08X}") for tag in (STUDY, SERIES, INSTANCE)))


def dataset_uids(ds: Dataset) -> Uids:
    return Uids(*("".join(text_of(ds, tag)).strip("\0 ") for tag in (STUDY, SERIES, INSTANCE)))
