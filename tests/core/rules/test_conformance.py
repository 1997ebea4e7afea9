"""Decide by what an element is: a VR that is not the attribute's, or a value that does not conform, goes.

Each case plants a name (or garbage) the way a careless or hostile archive would, then scans the engine's
output bytes for it, for both de-identifying roles and on both paths (Part 10 and DICOM JSON).
"""

from __future__ import annotations

import base64
import struct
from typing import Any

import pydicom
import pytest

from gateway.core.rules.conformance import conforms, stated_vr
from gateway.core.rules.engine import Engine
from gateway.core.rules.header import read
from gateway.core.rules.own_identifiers import matcher
from gateway.core.rules.profile import compile_profile
from gateway.errors import Withheld

from .conftest import mappings_for
from .factories import ct_instance, deidentify, split_pixels

NAME = b"Whitaker^Eleanor"
ROLES = ("researcher", "external")
SHORT = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH", "SL", "SS", "ST", "TM",
         "UI", "UL", "US"}


def explicit(tag: int, vr: str, value: bytes) -> bytes:
    """One Explicit VR Little Endian element, as a hostile origin would write it."""
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    if vr in SHORT:
        return head + struct.pack("<H", len(value)) + value
    return head + b"\0\0" + struct.pack("<L", len(value)) + value


def with_elements(*elements: bytes, **attributes: Any) -> bytes:
    """A CT instance with raw elements spliced in at the start of its dataset (the reader keeps no order)."""
    data = ct_instance(**attributes)
    meta_end = 132 + 12 + struct.unpack_from("<L", data, 140)[0]
    return data[:meta_end] + b"".join(elements) + data[meta_end:]


def output(engine: Engine, data: bytes) -> bytes:
    return deidentify(engine, data)[1]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("tag", "vr"),
    [
        (0x00080001, "LO"),  # LengthToEnd: retired, UL by the dictionary
        (0x00280030, "DS"),  # PixelSpacing as DS, holding text
        (0x00280030, "LO"),
        (0x00280010, "LO"),  # Rows as text
        (0x00102180, "OB"),  # Occupation (kept by researcher) as OB
        (0x00102180, "UN"),
        (0x00080070, "OB"),  # Manufacturer (kept) as OB
        (0x00180050, "DS"),  # SliceThickness
        (0x00080060, "CS"),  # Modality as a name: not a code string
    ],
)
def test_a_value_that_is_not_what_its_tag_says_is_removed(engines: dict[str, Engine], role: str, tag: int,
                                                          vr: str) -> None:
    data = with_elements(explicit(tag, vr, NAME))
    try:
        out = output(engines[role], data)
    except Withheld:
        return  # a Type 1 attribute that had to go: the instance is withheld, which leaks nothing either
    assert NAME not in out and b"Whitaker" not in out


@pytest.mark.parametrize("role", ROLES)
def test_a_code_string_in_content_sequence_that_holds_a_name_is_removed(engines: dict[str, Engine],
                                                                         role: str) -> None:
    item = explicit(0x0040A010, "CS", b"Whitaker^Eleanor") + explicit(0x0040A040, "CS", b"TEXT ")
    sequence = explicit(0x0040A730, "SQ", struct.pack("<HHL", 0xFFFE, 0xE000, len(item)) + item)
    out = output(engines[role], with_elements(sequence))
    assert b"Whitaker" not in out
    assert b"TEXT" in out  # the conforming code string beside it stays


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("tag", "vr", "value"),
    [
        (0x00080022, "DA", b"20240311\\Whitaker^Eleanor"),  # AcquisitionDate whose length swallowed more
        (0x00080022, "DA", b"2024031Whitaker "),
        (0x00080032, "TM", b"101112Whitaker^E"),  # AcquisitionTime
        (0x0008002A, "DT", b"20240311101112Whitaker"),  # AcquisitionDateTime
        (0x00101010, "AS", b"Whitaker"),  # PatientAge
    ],
)
def test_a_date_or_time_that_does_not_parse_is_removed(engines: dict[str, Engine], role: str, tag: int, vr: str,
                                                       value: bytes) -> None:
    out = output(engines[role], with_elements(explicit(tag, vr, value)))
    assert b"Whitaker" not in out
    element = read(split_pixels(out)[0])._dict.get(tag)
    assert element is None or not element.value  # removed, or emptied by Z: never shifted or passed on


def test_conforming_dates_are_still_shifted(engines: dict[str, Engine]) -> None:
    out = read(split_pixels(output(engines["researcher"], with_elements(explicit(0x00080022, "DA", b"20240311"))))[0])
    assert out._dict[0x00080022].value not in (b"", b"20240311")


def test_un_that_conforms_to_the_dictionary_vr_is_kept_with_it(engines: dict[str, Engine]) -> None:
    out = read(split_pixels(output(engines["researcher"], with_elements(explicit(0x00180050, "UN", b"2.5 "))))[0])
    assert out._dict[0x00180050].VR == "DS" and out._dict[0x00180050].value == b"2.5 "


@pytest.mark.parametrize("role", ROLES)
def test_patient_name_sent_as_un_or_ob_still_gets_its_pseudonym(engines: dict[str, Engine], role: str) -> None:
    for vr in ("UN", "OB", "LO"):
        data = ct_instance(PatientName="Müller^Hans")
        data = data.replace(explicit(0x00100010, "PN", "Müller^Hans ".encode("latin-1")),
                            explicit(0x00100010, vr, NAME))
        assert NAME in data
        out = output(engines[role], data)
        assert NAME not in out
        assert read(split_pixels(out)[0])._dict[0x00100010].VR == "PN"


@pytest.mark.parametrize("role", ROLES)
def test_implicit_vr_text_in_a_numeric_attribute_is_removed(engines: dict[str, Engine], role: str) -> None:
    ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(ct_instance()))
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    buffer = pydicom.filebase.DicomBytesIO()
    ds.save_as(buffer, implicit_vr=True, little_endian=True, enforce_file_format=True)
    data = buffer.getvalue()
    meta_end = 132 + 12 + struct.unpack_from("<L", data, 140)[0]
    injected = struct.pack("<HHL", 0x0028, 0x0030, len(NAME)) + NAME  # PixelSpacing, DS by the dictionary
    out = output(engines[role], data[:meta_end] + injected + data[meta_end:])
    assert b"Whitaker" not in out


# -- DICOM JSON -----------------------------------------------------------------------------------------------
def json_of(**attributes: Any) -> dict[str, Any]:
    obj = pydicom.dcmread(pydicom.filebase.DicomBytesIO(ct_instance())).to_json_dict()
    obj.update(attributes)
    return obj


def json_out(engine: Engine, obj: dict[str, Any]) -> bytes:
    out = engine.apply_json(obj, mappings_for(engine.profile, engine.needs_json(obj)))
    return repr(out).encode()


INLINE_NAME = base64.b64encode(NAME).decode()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("key", "attribute"),
    [
        ("00100010", {"vr": "UN", "InlineBinary": INLINE_NAME}),  # PatientName as UN in a QIDO answer
        ("00102180", {"vr": "OB", "InlineBinary": INLINE_NAME}),  # Occupation as OB
        ("00102180", {"vr": "SH", "InlineBinary": INLINE_NAME}),  # text as bytes
        ("00080070", {"vr": "LO", "BulkDataURI": "http://x/Whitaker"}),  # Manufacturer by reference
        ("00080070", {"vr": "LO", "Value": ["ACME"], "Note": "Whitaker^Eleanor"}),  # a member F.2 does not have
        ("00280030", {"vr": "DS", "Value": ["Whitaker^Eleanor"]}),
        ("00280030", {"vr": "LO", "Value": ["Whitaker^Eleanor"]}),
        ("00080001", {"vr": "UL", "Value": ["Whitaker^Eleanor"]}),
        ("00080060", {"vr": "CS", "Value": ["Whitaker^Eleanor"]}),
        ("00080021", {"vr": "DA", "Value": ["20240311Whitaker"]}),
        ("00080031", {"vr": "TM", "Value": ["Whitaker"]}),
        ("00280010", {"vr": "US", "Value": ["Whitaker"]}),
        ("00100040", {"vr": "CS", "Value": [{"Alphabetic": "Whitaker"}]}),
    ],
)
def test_json_attributes_are_checked_like_part10(engines: dict[str, Engine], role: str, key: str,
                                                 attribute: dict[str, Any]) -> None:
    try:
        out = json_out(engines[role], json_of(**{key: attribute}))
    except Withheld:
        return
    assert b"Whitaker" not in out and INLINE_NAME.encode() not in out


def test_conforming_json_stays(engines: dict[str, Engine]) -> None:
    engine = engines["researcher"]
    obj = json_of(**{"00180050": {"vr": "DS", "Value": [2.5]}, "00080070": {"vr": "LO", "Value": ["ACME"]}})
    out = engine.apply_json(obj, mappings_for(engine.profile, engine.needs_json(obj)))
    assert out["00180050"] == {"vr": "DS", "Value": [2.5]} and out["00080070"] == {"vr": "LO", "Value": ["ACME"]}


# -- the checks themselves --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("vr", "value", "ok"),
    [
        ("CS", b"ORIGINAL\\PRIMARY", True),
        ("CS", b"lower", False),
        ("CS", b"A" * 17, False),
        ("IS", b" -12 ", True),
        ("IS", b"1.5", False),
        ("DS", b"1.5e-3\\-2", True),
        ("DS", b"1,5", False),
        ("UI", b"1.2.840.10008.1.2\0", True),
        ("UI", b"1.2.x", False),
        ("AS", b"045Y", True),
        ("AS", b"45Y ", False),
        ("DA", b"20240230", False),
        ("DA", b"20240229", True),
        ("TM", b"235960.123456", True),
        ("TM", b"2460", False),
        ("DT", b"20240311101112.5+0100", True),
        ("US", b"\x01", False),
        ("FD", b"\0" * 16, True),
        ("LO", b"Name\x07", False),
        ("LT", b"line one\r\nline two", True),
        ("UN", b"", False),
    ],
)
def test_value_grammar(vr: str, value: bytes, ok: bool) -> None:
    assert conforms(vr, value) is ok


def test_the_encoded_vr_must_be_one_the_attribute_can_have() -> None:
    assert stated_vr(0x00280106, "SS") == "SS"  # SmallestImagePixelValue: US or SS
    assert stated_vr(0x7FE00010, "OB") == "OB"
    assert stated_vr(0x00280030, "LO") is None
    assert stated_vr(0x00280030, "UN") == "DS"
    assert stated_vr(0x00280030, None) == "DS"
    assert stated_vr(0x00091010, "LO") == "LO"  # private: nothing says otherwise


@pytest.mark.parametrize("role", ROLES)
def test_a_type_1_attribute_that_does_not_conform_withholds_the_instance(engines: dict[str, Engine],
                                                                          role: str) -> None:
    data = ct_instance().replace(explicit(0x00080060, "CS", b"CT"), explicit(0x00080060, "CS", b"Whitaker"))
    with pytest.raises(Withheld, match=r"non-conforming-type-1 \(0008,0060\)"):
        output(engines[role], data)
    obj = json_of(**{"00280010": {"vr": "US", "Value": ["Whitaker"]}})
    with pytest.raises(Withheld, match=r"non-conforming-type-1 \(0028,0010\)"):
        json_out(engines[role], obj)


def test_a_safe_private_value_is_checked_against_the_vr_of_table_e_3_10_1() -> None:
    profile = compile_profile("safe", {"permissions": ["search"], "scope": {"reversible": False},
                                       "options": ["retain-safe-private"]}, source="safe.yaml")
    engine = Engine(profile)
    creator = explicit(0x70530010, "LO", b"Philips PET Private Group ")
    kept = read(split_pixels(output(engine, with_elements(creator, explicit(0x70531009, "UN", b"2.5 "))))[0])
    assert kept._dict[0x70531009].VR == "DS" and kept._dict[0x70531009].value == b"2.5 "
    out = output(engine, with_elements(creator, explicit(0x70531009, "UN", NAME)))
    assert b"Whitaker" not in out
    out = output(engine, with_elements(creator, explicit(0x70531009, "LO", NAME)))  # not the VR the table gives
    assert b"Whitaker" not in out


# -- conforming values that are the instance's own identifiers ----------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_a_conforming_value_that_is_the_instances_own_identifier_is_removed(engines: dict[str, Engine],
                                                                             role: str) -> None:
    """An MRN is a valid code string and a family name a valid Short String: the instance's own are looked for."""
    code = explicit(0x00080100, "SH", b"M\xfcller ")  # CodeValue carrying the family name (Latin-1)
    item = code + explicit(0x00080102, "SH", b"DCM ")
    sequence = explicit(0x00400260, "SQ", struct.pack("<HHL", 0xFFFE, 0xE000, len(item)) + item)
    data = with_elements(sequence, PatientID="PAT00042")
    image_type = explicit(0x00080008, "CS", b"ORIGINAL\\PRIMARY\\AXIAL")
    assert image_type in data
    data = data.replace(image_type, explicit(0x00080008, "CS", b"ORIGINAL\\PAT00042"))  # ImageType with the ID
    out = output(engines[role], data)
    assert b"PAT00042" not in out and "Müller".encode("latin-1") not in out
    assert b"DCM" in out  # the coding scheme beside it stays


def test_json_values_that_are_the_objects_own_identifiers_are_removed(engines: dict[str, Engine]) -> None:
    obj = json_of(**{"00080008": {"vr": "CS", "Value": ["PAT-1"]},
                     "00400260": {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["Müller"]}}]}})
    out = json_out(engines["researcher"], obj)
    assert b"PAT-1" not in out and "Müller".encode() not in out


def test_a_time_sent_as_a_sequence_is_not_a_sequence(engines: dict[str, Engine]) -> None:
    out = output(engines["researcher"], with_elements(explicit(0x00080033, "SQ", b"160844")))
    assert b"160844" not in out


def test_an_unregistered_class_uid_is_replaced(engines: dict[str, Engine]) -> None:
    data = ct_instance().replace(explicit(0x00080016, "UI", b"1.2.840.10008.5.1.4.1.1.2\0"),
                                 explicit(0x00080016, "UI", b"1.2.826.0.1.3680043.10.999.7\0"))
    out = read(split_pixels(output(engines["researcher"], data))[0])
    assert out._dict[0x00080016].value.startswith(b"2.25.")
    assert b"1.2.826.0.1.3680043.10.999" not in output(engines["researcher"], data)


def test_a_duplicate_element_withholds_the_instance(engines: dict[str, Engine]) -> None:
    """Which one is the attribute? And an unchanged sequence goes back out byte for byte, both included."""
    item = explicit(0x0040A040, "CS", b"WHITAKER") + explicit(0x0040A040, "CS", b"TEXT")
    sequence = explicit(0x0040A730, "SQ", struct.pack("<HHL", 0xFFFE, 0xE000, len(item)) + item)
    with pytest.raises(Withheld, match=r"duplicate-element \(0040,A040\)"):
        output(engines["researcher"], with_elements(sequence))


@pytest.mark.parametrize(
    ("vr", "value", "ok"),
    [
        ("SH", b"A" * 16, True),
        ("SH", b"1 Infirmary Road, Bristol", False),  # 25 characters: no Short String
        ("SH", "山田太郎".encode(), True),
        ("LO", b"A" * 65, False),
        ("LO", b"A" * 64 + b"\\" + b"B" * 64, True),
    ],
)
def test_text_lengths_of_ps3_5(vr: str, value: bytes, ok: bool) -> None:
    assert conforms(vr, value) is ok


def test_own_identifiers_match_whatever_the_case_and_encoding() -> None:
    """Bytes fold only ASCII case: "Úrsula" in Latin-1 must still be found as written."""


    own = matcher({"Clínica Santa Úrsula", "MRN4471953", "1.2.826.0.1.3680043.10.999.1"})
    assert own is not None
    assert own.in_bytes("CLÍNICA SANTA ÚRSULA".encode("latin-1")) is False  # non-ASCII case is not folded
    assert own.in_bytes("x Clínica Santa Úrsula".encode("latin-1"))
    assert own.in_bytes("Clínica Santa Úrsula".encode())
    assert own.in_bytes(b"ORIGINAL\\MRN4471953") and own.in_bytes(b"mrn4471953")
    assert own.in_text("see 1.2.826.0.1.3680043.10.999.1") and not own.in_bytes(b"1.2.840.10008.1.2")
