"""The STOW-RS metadata and bulk data form (PS3.18 10.5.1.4), as PS3.10 instances.

A client may store an instance as one object of a DICOM JSON array (the first part of the request) whose bulk
values are InlineBinary or a BulkDataURI naming a later part by its Content-Location. The origin takes PS3.10
files, and the gateway re-identifies PS3.10 headers, so each object becomes the PS3.10 file it describes:

    objects = metadata_objects(body)                     # the array, or MalformedPart10
    instance = to_part10(objects[0], bulk, read)         # header bytes, and where Pixel Data comes from
    instance.header + instance.pixel_head + <the bulk part's bytes> + instance.pixel_tail

Pixel Data named by a BulkDataURI is not read here: the caller streams it from wherever it kept the part, so an
instance costs its header in memory, not its pixels. Every other bulk value is small and is read through
`read`. A BulkDataURI that names no part of the request is refused, never fetched: the gateway opens no URL a
client gives it. Group 0002 is the gateway's to write (the form carries none), and top-level elements after
Pixel Data are dropped, as they are in the PS3.10 form. Faults raise `MalformedPart10` with a reason that
names a tag, never a value.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from gateway.codec.transfer_syntax import is_encapsulated
from gateway.errors import MalformedPart10

PIXEL_DATA = "7FE00010"
_META_GROUP = "0002"
_SOP_CLASS, _SOP_INSTANCE, _FRAMES = "00080016", "00080018", "00280008"
_ITEM, _SEQUENCE_END = b"\xfe\xff\x00\xe0", b"\xfe\xff\xdd\xe0"
_UNDEFINED = 0xFFFFFFFF


@dataclass(frozen=True)
class BulkPart:
    """One bulk data part as received: its length, and the transfer syntax its media type names (None: the
    native octet-stream form)."""

    length: int
    transfer_syntax: str | None


@dataclass(frozen=True)
class Part10Instance:
    header: bytes  # preamble, file meta and the data set up to Pixel Data
    pixel_location: str | None  # the bulk part that holds Pixel Data's value, to follow `pixel_head`
    pixel_head: bytes = b""  # Pixel Data's tag, VR and length (and the item framing when encapsulated)
    pixel_tail: bytes = b""  # padding to an even length (and the sequence delimiter when encapsulated)


def metadata_objects(body: bytes) -> list[dict[str, Any]]:
    """The metadata part: a JSON array of DICOM JSON objects."""
    try:
        objects = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedPart10("the metadata part is not JSON") from None
    if not isinstance(objects, list) or not all(isinstance(obj, dict) for obj in objects):
        raise MalformedPart10("the metadata part is not an array of DICOM JSON objects")
    return objects


def to_part10(obj: dict[str, Any], bulk: Mapping[str, BulkPart], read: Callable[[str], bytes]) -> Part10Instance:
    """The PS3.10 file one metadata object describes. `bulk` holds the parts received, by Content-Location;
    `read` returns the bytes of one of them."""
    kept = {key: value for key, value in obj.items() if not key.startswith(_META_GROUP) and key <= PIXEL_DATA}
    pixel = kept.get(PIXEL_DATA)
    location, vr = (pixel.get("BulkDataURI"), pixel.get("vr")) if isinstance(pixel, dict) else (None, None)
    syntax = None
    if location is not None:
        part = bulk.get(location) if isinstance(location, str) else None
        if part is None:
            raise MalformedPart10("bulk-data-not-sent (7FE0,0010)")
        syntax = part.transfer_syntax
        del kept[PIXEL_DATA]  # written by the caller, from the part, after the header
    ds = _dataset(kept, bulk, read)
    if not ds.get("SOPClassUID") or not ds.get("SOPInstanceUID"):
        raise MalformedPart10("missing-uid (0008,0016)/(0008,0018)")
    if syntax is not None and int(ds.get("NumberOfFrames") or 1) > 1:
        # One bulk part cannot say where each compressed frame ends.
        raise MalformedPart10("compressed-multiframe-bulk-data (7FE0,0010)")
    header = _write(ds, syntax or ExplicitVRLittleEndian)
    if location is None:
        return Part10Instance(header, None)
    assert isinstance(location, str)
    return _with_pixels(header, location, vr, bulk[location], syntax)


def _dataset(kept: dict[str, Any], bulk: Mapping[str, BulkPart], read: Callable[[str], bytes]) -> Dataset:
    def bulk_value(tag: str, vr: str, uri: str) -> bytes:
        if uri not in bulk:
            raise MalformedPart10(f"bulk-data-not-sent ({tag[:4]},{tag[4:]})")
        return read(uri)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # pydicom warns, then guesses, on what it cannot read: refuse instead
            ds = Dataset.from_json(kept, bulk_data_uri_handler=bulk_value)
            if not orjson.dumps(kept).isascii():
                # The JSON model's text is Unicode whatever (0008,0005) says; UTF-8 writes all of it.
                ds.SpecificCharacterSet = "ISO_IR 192"
    except MalformedPart10:
        raise
    except Exception:  # a client's JSON: refused with a reason, whatever pydicom made of it
        raise MalformedPart10("metadata-not-convertible") from None
    return ds


def _write(ds: Dataset, syntax: str) -> bytes:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.preamble = b"\0" * 128
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dcmwrite(buffer, ds, enforce_file_format=True, implicit_vr=False, little_endian=True)
    except Exception:  # values pydicom will not write (a UID too long, a bad VR for the tag): refused
        raise MalformedPart10("metadata-not-writable") from None
    return buffer.getvalue()


def _with_pixels(header: bytes, location: str, vr: object, part: BulkPart, syntax: str | None) -> Part10Instance:
    if syntax is not None:
        if not is_encapsulated(syntax):
            raise MalformedPart10("bulk-data-transfer-syntax (7FE0,0010)")
        # Encapsulated: an empty Basic Offset Table, the frame as one fragment, then the sequence delimiter.
        padded = part.length + part.length % 2
        head = _element(b"OB", _UNDEFINED) + _ITEM + struct.pack("<I", 0) + _ITEM + struct.pack("<I", padded)
        return Part10Instance(header, location, head, b"\0" * (part.length % 2) + _SEQUENCE_END + b"\0" * 4)
    if vr not in ("OB", "OW"):
        raise MalformedPart10("pixel-data-vr (7FE0,0010)")
    padded = part.length + part.length % 2
    assert isinstance(vr, str)
    return Part10Instance(header, location, _element(vr.encode(), padded), b"\0" * (part.length % 2))


def _element(vr: bytes, length: int) -> bytes:
    """Pixel Data's element head in explicit VR little endian."""
    return b"\xe0\x7f\x10\x00" + vr + b"\0\0" + struct.pack("<I", length)
