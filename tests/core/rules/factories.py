"""Small factories for datasets with planted identifiers, and for running them through an engine."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pydicom
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from gateway.core.rules import annex_e_table
from gateway.core.rules.actions import Action
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import Profile

from .conftest import mappings_for

UID_ROOT = "1.2.826.0.1.3680043.10.999"
PLANTED_DATE = "19710203"
JAPANESE_NAME = "Yamada^Tarou=山田^太郎=やまだ^たろう"
JAPANESE_PARTS = ("山田", "太郎", "やまだ", "たろう")
ASCII_MARKERS = ("PLNT", "Yamada", "Tarou", UID_ROOT, PLANTED_DATE)
CHARSETS = {"ISO_IR 192": "utf-8", "\\ISO 2022 IR 87": "iso2022_jp", "ISO_IR 100": "latin-1"}


def marker(tag: int, suffix: str = "") -> str:
    return f"PLNT{tag:08X}{suffix}"


def planted_value(tag: int, vr: str) -> Any:
    """A value valid for `vr` that carries a marker (None: this VR cannot carry one)."""
    if vr in ("LO", "LT", "ST", "UT", "UC"):
        return f"{marker(tag)} Yamada Tarou"
    if vr in ("SH", "AE", "CS"):
        return marker(tag)
    if vr == "PN":
        return f"{marker(tag)}^Tarou"
    if vr == "UI":
        return f"{UID_ROOT}.{tag}"
    if vr == "UR":
        return f"http://example.org/{marker(tag)}"
    return {"DA": PLANTED_DATE, "DT": PLANTED_DATE + "101112"}.get(vr)


def item_for(tag: int) -> Dataset:
    item = Dataset()
    item.PersonName = f"{marker(tag, 'I')}^Item"
    item.StudyDescription = f"{marker(tag, 'D')} Yamada Tarou"
    item.ReferencedSOPInstanceUID = f"{UID_ROOT}.{tag}.1"
    item.ReferencedSOPClassUID = CTImageStorage
    return item


def _plantable(profile: Profile) -> Iterator[tuple[int, str]]:
    """(tag, VR) of every concrete E.1-1 row the role does not keep. Rows newer than pydicom's dictionary
    are planted as LO: the engine decides by tag, whatever the VR says."""
    for text, _keyword, _codes in annex_e_table.ROWS:
        if "x" in text or "g" in text:
            continue
        tag = int(text.replace(",", ""), 16)
        entry = DicomDictionary.get(tag)
        if tag >> 16 in (0x0000, 0x0002) or profile.action_for(tag) is Action.KEEP:
            continue
        yield tag, entry[0] if entry else "LO"


def planted_dataset(profile: Profile, charset: str = "ISO_IR 192") -> Dataset:
    """Every applicable E.1-1 attribute carries an identifier, plus nested sequences and private blocks."""
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    for tag, vr in _plantable(profile):
        if vr == "SQ":
            ds[tag] = DataElement(tag, "SQ", [item_for(tag)])
        elif (value := planted_value(tag, vr)) is not None:
            ds[tag] = DataElement(tag, vr, value)
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.PatientID = "PLNTPATIENT01"
    ds.PatientName = JAPANESE_NAME if "2022" in charset or "192" in charset else "Yamada^Tarou"
    ds.OtherPatientIDsSequence = [_other_patient_id()]
    ds.RequestAttributesSequence = [_request_attributes()]
    ds.ContentSequence = [_sr_text(), _sr_person()]
    ds.InstitutionCodeSequence = [_code("PLNTINST", "Yamada Tarou Memorial Hospital")]
    _private_block(ds)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def _other_patient_id() -> Dataset:
    item = Dataset()
    item.PatientID = "PLNTOTHERID"
    item.IssuerOfPatientID = "PLNTISSUER"
    return item


def _request_attributes() -> Dataset:
    item = Dataset()
    # Free text is scrubbed, not blanked (issue 15): what it carries here is the instance's own identifiers.
    item.RequestedProcedureDescription = "CT for Yamada Tarou, request PLNTRPID"
    item.RequestedProcedureID = "PLNTRPID"
    item.ScheduledProcedureStepDescription = "PLNTPATIENT01 Yamada"
    item.StudyInstanceUID = f"{UID_ROOT}.77"
    return item


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "99LOCAL"
    item.CodeMeaning = meaning
    return item


def _sr_text() -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = [_code("121071", "Finding")]
    item.TextValue = "PLNTPATIENT01 Mr Yamada Tarou, seen 1971-02-03"
    nested = Dataset()
    nested.RelationshipType = "HAS OBS CONTEXT"
    nested.ValueType = "DATETIME"
    nested.DateTime = PLANTED_DATE + "101112"
    nested.UID = f"{UID_ROOT}.88"
    item.ContentSequence = [nested]
    return item


def _sr_person() -> Dataset:
    item = Dataset()
    item.RelationshipType = "HAS OBS CONTEXT"
    item.ValueType = "PNAME"
    item.PersonName = "PLNTSRPN^Yamada"
    return item


def _private_block(ds: Dataset) -> None:
    block = ds.private_block(0x0009, "ACME 1.0", create=True)
    block.add_new(0x10, "LO", "PLNTPRIVATE Yamada Tarou")
    block.add_new(0x11, "UI", f"{UID_ROOT}.99")
    safe = ds.private_block(0x0019, "GEMS_ACQU_01", create=True)
    safe.add_new(0x23, "DS", "1.5")


def part10(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@dataclass
class Result:
    header: bytes
    json_text: str
    dataset: Dataset
    json_object: dict[str, Any]


def run(engine: Engine, source: bytes) -> Result:
    """Both paths, as the gateway calls them: Part 10 bytes in and out, and the DICOM JSON of the same input."""
    obj = pydicom.dcmread(io.BytesIO(source)).to_json_dict()
    ds = engine.read_header(source)
    mappings = mappings_for(engine.profile, merged(engine.needs(ds), engine.needs_json(obj)))
    engine.apply(ds, mappings)
    header = engine.write_header(ds)
    json_object = engine.apply_json(obj, mappings)
    return Result(header, json.dumps(json_object, ensure_ascii=False), ds, json_object)


def merged(*needs: Any) -> Any:
    first = needs[0]
    for other in needs[1:]:
        first.merge(other)
    return first


def encoded_forms(text: str) -> list[bytes]:
    """How `text` can appear in output bytes: UTF-8, and ISO 2022 IR 87 without its escape sequences."""
    forms = [text.encode("utf-8")]
    jis = text.encode("iso2022_jp")
    forms.append(jis[3:-3] if jis.startswith(b"\x1b$B") else jis)
    return forms


def ct_instance(
    patient_id: str = "PAT-1",
    study_uid: str = f"{UID_ROOT}.1",
    sop_uid: str = f"{UID_ROOT}.1.1.1",
    study_date: str = "20200101",
    **attributes: Any,
) -> bytes:
    """A small 4x4 16-bit CT instance with pixel data, as Part 10 bytes in Explicit VR Little Endian."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = study_uid + ".1"
    ds.FrameOfReferenceUID = study_uid + ".9"
    ds.PatientID = patient_id
    ds.PatientName = "Müller^Hans"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date
    ds.StudyTime = "101112"
    ds.StudyDescription = "CT head for Hans Müller"
    ds.ReferringPhysicianName = "Dr^Who"
    ds.Modality = "CT"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(1, 33))
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.file_meta.TransferSyntaxUID = ds.file_meta.get("TransferSyntaxUID") or ExplicitVRLittleEndian
    return part10(ds)


def split_pixels(data: bytes) -> tuple[bytes, bytes]:
    """(header cut before the top-level PixelData element, the PixelData element's bytes)."""
    index = data.rfind(b"\xe0\x7f\x10\x00")
    return data[:index], data[index:]


def deidentify(engine: Engine, data: bytes, mappings: Any = None) -> tuple[Dataset, bytes]:
    header, pixels = split_pixels(data)
    ds = engine.read_header(header)
    mappings = mappings or mappings_for(engine.profile, engine.needs(ds))
    engine.apply(ds, mappings)
    return ds, engine.write_header(ds) + pixels
