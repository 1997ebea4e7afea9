"""The STOW-RS metadata and bulk data form as PS3.10: what each object becomes, and what is refused."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.encaps import generate_fragments
from pydicom.uid import JPEGBaseline8Bit

from gateway.codec.metadata_form import BulkPart, Part10Instance, metadata_objects, to_part10
from gateway.codec.part10_stream import split_part10
from gateway.errors import MalformedPart10

LOCATION = "http://client.example/bulk/1"


def _object(**extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "00080016": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.7"]},
        "00080018": {"vr": "UI", "Value": ["2.25.1"]},
        "0020000D": {"vr": "UI", "Value": ["2.25.2"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "RID-ABC"}]},
    }
    obj.update(extra)
    return obj


def _file(instance: Part10Instance, pixels: bytes = b"") -> bytes:
    middle = instance.pixel_head + pixels + instance.pixel_tail if instance.pixel_location else b""
    return instance.header + middle


def _convert(obj: dict[str, Any], parts: dict[str, bytes], syntax: str | None = None) -> Part10Instance:
    bulk = {location: BulkPart(len(data), syntax) for location, data in parts.items()}
    return to_part10(obj, bulk, lambda location: parts[location])


def test_native_pixel_data_follows_the_header_with_even_length() -> None:
    obj = _object(**{"7FE00010": {"vr": "OB", "BulkDataURI": LOCATION}})
    pixels = b"\x01\x02\x03"
    instance = _convert(obj, {LOCATION: pixels})
    assert instance.pixel_location == LOCATION
    ds = dcmread(BytesIO(_file(instance, pixels)))
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert ds.file_meta.MediaStorageSOPInstanceUID == "2.25.1"
    assert ds.PixelData == pixels + b"\0"
    split = split_part10(_file(instance, pixels))
    assert split.header.data == instance.header and split.trailer == b""


def test_compressed_frame_is_encapsulated_in_its_transfer_syntax() -> None:
    obj = _object(**{"7FE00010": {"vr": "OB", "BulkDataURI": LOCATION}})
    frame = b"\xff\xd8jpeg\xff\xd9!"
    instance = _convert(obj, {LOCATION: frame}, syntax=JPEGBaseline8Bit)
    ds = dcmread(BytesIO(_file(instance, frame)))
    assert ds.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    assert list(generate_fragments(ds.PixelData)) == [b"", frame + b"\0"]  # the empty offset table, the frame


def test_compressed_multiframe_in_one_part_is_refused() -> None:
    obj = _object(**{"00280008": {"vr": "IS", "Value": [2]}, "7FE00010": {"vr": "OB", "BulkDataURI": LOCATION}})
    with pytest.raises(MalformedPart10, match="compressed-multiframe"):
        _convert(obj, {LOCATION: b"ab"}, syntax=JPEGBaseline8Bit)


def test_inline_and_small_bulk_values_are_written_in_place() -> None:
    obj = _object(
        **{
            "00660023": {"vr": "OF", "BulkDataURI": LOCATION},  # Triangle Point Index List: any bulk value
            "7FE00010": {"vr": "OW", "InlineBinary": "AAECAw=="},
        }
    )
    instance = _convert(obj, {LOCATION: b"\0\0\x80?"})
    assert instance.pixel_location is None
    ds = dcmread(BytesIO(_file(instance)))
    assert ds.PixelData == b"\0\x01\x02\x03"
    assert ds[0x00660023].value == b"\0\0\x80?"


def test_meta_group_and_elements_after_pixel_data_are_not_the_clients() -> None:
    obj = _object(
        **{
            "00020010": {"vr": "UI", "Value": ["1.2.840.10008.1.2"]},
            "00020002": {"vr": "UI", "Value": ["1.2.3"]},
            "FFFAFFFA": {"vr": "SQ", "Value": [{}]},
        }
    )
    ds = dcmread(BytesIO(_file(_convert(obj, {}))))
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert ds.file_meta.MediaStorageSOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    assert 0xFFFAFFFA not in ds


def test_unicode_text_is_declared_utf8() -> None:
    obj = _object(**{"00081030": {"vr": "LO", "Value": ["胸部 CT"]}, "00080005": {"vr": "CS", "Value": ["ISO_IR 100"]}})
    ds = dcmread(BytesIO(_file(_convert(obj, {}))))
    assert ds.SpecificCharacterSet == "ISO_IR 192" and ds.StudyDescription == "胸部 CT"


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (_object(**{"7FE00010": {"vr": "OB", "BulkDataURI": "http://elsewhere/pixels"}}), "bulk-data-not-sent"),
        (_object(**{"00660023": {"vr": "OF", "BulkDataURI": "http://elsewhere/x"}}), "bulk-data-not-sent (0066,0023)"),
        (_object(**{"7FE00010": {"vr": "US", "BulkDataURI": LOCATION}}), "pixel-data-vr"),
        ({"00080018": {"vr": "UI", "Value": ["2.25.1"]}}, "missing-uid"),
        (_object(**{"00100020": {"vr": "XX", "Value": ["a"]}}), "metadata-not-writable"),
        (_object(**{"00100020": {"Value": ["a"]}}), "metadata-not-convertible"),
        (_object(**{"00280010": {"vr": "US", "Value": ["many"]}}), "metadata-not"),
    ],
)
def test_what_cannot_be_converted_is_refused_with_a_tag_never_a_value(obj: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedPart10, match=reason.replace("(", r"\(").replace(")", r"\)")) as raised:
        _convert(obj, {LOCATION: b"ab"})
    assert "many" not in raised.value.reason and "elsewhere" not in raised.value.reason


@pytest.mark.parametrize("body", [b"", b"{}", b"[1]", b"[{}, 2]", b"nope"])
def test_metadata_is_an_array_of_objects(body: bytes) -> None:
    with pytest.raises(MalformedPart10):
        metadata_objects(body)
    assert metadata_objects(json.dumps([_object()]).encode()) == [_object()]
