"""The DICOM facts every room uses, defined once: attribute tags, who a patient is, and which object this is.

A patient is known by its patient key: PatientID qualified by IssuerOfPatientID when there is one. The engine
keys pseudonyms and date shifts by it, governance keys opt-outs by it, and STOW-RS finds the real patient by
it, so it is read the same way from a Part 10 header and from DICOM JSON, here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydicom import Dataset

from gateway.core.rules.header import text_of

CHARSET = 0x00080005
SOP_CLASS_UID, SOP_INSTANCE_UID = 0x00080016, 0x00080018
ACCESSION = 0x00080050
REFERENCED_SOP_INSTANCE_UID = 0x00081155
MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00020003
PATIENT_NAME, PATIENT_ID, ISSUER = 0x00100010, 0x00100020, 0x00100021
BIRTH_DATE, SEX, PATIENT_AGE = 0x00100030, 0x00100040, 0x00101010
STUDY_UID, SERIES_UID, STUDY_ID = 0x0020000D, 0x0020000E, 0x00200010
GRAPHIC_ANNOTATIONS = 0x00700001

JsonObject = dict[str, Any]  # one DICOM JSON object (PS3.18 F.2), as parsed


def first_text(obj: JsonObject, key: str) -> str:
    """The first value of an attribute as text; "" for anything absent or not shaped as PS3.18 F.2 says."""
    attribute = obj.get(key)
    values = attribute.get("Value") if isinstance(attribute, dict) else None
    if not isinstance(values, list) or not values or values[0] is None:
        return ""
    return str(values[0]).strip()


def json_key(tag: int) -> str:
    """The attribute's key in a DICOM JSON object (PS3.18 F.2): eight upper-case hex digits."""
    return f"{tag:08X}"


def patient_key(patient_id: str, issuer: str | None = None) -> str:
    """The identity of a patient inside a scope: PatientID qualified by its issuer, if any."""
    return f"{issuer}\\{patient_id}" if issuer else patient_id


def patient_id_of(key: str) -> str:
    """The PatientID a patient key qualifies (neither part holds a backslash: it separates DICOM values)."""
    return key.rpartition("\\")[2]


def json_patient(obj: JsonObject) -> str:
    return patient_key(first_text(obj, json_key(PATIENT_ID)), first_text(obj, json_key(ISSUER)) or None)


def dataset_patient(ds: Dataset) -> str:
    return patient_key("".join(text_of(ds, PATIENT_ID)).strip(), "".join(text_of(ds, ISSUER)).strip() or None)


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


def json_uids(obj: JsonObject) -> Uids:
    return Uids(*(first_text(obj, json_key(tag)) for tag in (STUDY_UID, SERIES_UID, SOP_INSTANCE_UID)))


def dataset_uids(ds: Dataset) -> Uids:
    return Uids(*("".join(text_of(ds, tag)).strip("\0 ") for tag in (STUDY_UID, SERIES_UID, SOP_INSTANCE_UID)))
