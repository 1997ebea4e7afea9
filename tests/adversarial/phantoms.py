"""The planted-identifier phantoms as the attacker sees them: Part 10 bytes split into elements, and DICOM JSON.

Everything here is Explicit VR Little Endian, as `gateway.demo.samples` writes it. `elements(data)` lists the
top-level elements (file meta included) as byte spans, walking undefined-length sequences, so a mutation can
cut, re-tag, re-length or duplicate one element without pydicom re-encoding (and tidying) anything.
"""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass
from typing import Any

import pydicom

from gateway.demo.planted import PLANTED
from gateway.demo.samples import sample_studies

LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
UNDEFINED = 0xFFFFFFFF
PIXEL_DATA = 0x7FE00010


@dataclass(frozen=True)
class Element:
    tag: int
    vr: bytes
    start: int  # first byte of the tag
    value_start: int
    end: int  # one past the value (or past the sequence delimiter)

    @property
    def value_length(self) -> int:
        return self.end - self.value_start

    @property
    def long_form(self) -> bool:
        return self.vr in LONG_VRS


@dataclass(frozen=True)
class Phantom:
    name: str  # which sample: a_ct, a_sr, b_cr, c_mr
    part10: bytes
    json: dict[str, Any]  # DICOM JSON without PixelData (a BulkDataURI stands in for it)
    study_uid: str
    series_uid: str
    sop_uid: str

    @functools.cached_property
    def elements(self) -> list[Element]:
        return elements(self.part10)

    @property
    def header_end(self) -> int:
        """Where the top-level PixelData starts (or the end of the file)."""
        return next((e.start for e in self.elements if e.tag == PIXEL_DATA), len(self.part10))


def encode(tag: int, vr: bytes, value: bytes, *, length: int | None = None) -> bytes:
    """One Explicit VR Little Endian element; `length` overrides the length field (corrupt lengths)."""
    n = len(value) if length is None else length
    group, elem = tag >> 16, tag & 0xFFFF
    if vr in LONG_VRS or len(vr) != 2:
        return struct.pack("<HH2sHL", group, elem, vr[:2].ljust(2, b" "), 0, n & 0xFFFFFFFF) + value
    return struct.pack("<HH2sH", group, elem, vr, n & 0xFFFF) + value


def pad(value: bytes, multiple: int = 2, fill: bytes = b" ") -> bytes:
    return value + fill * (-len(value) % multiple)


def item(content: bytes, *, undefined: bool = True) -> bytes:
    if undefined:
        return struct.pack("<HHL", 0xFFFE, 0xE000, UNDEFINED) + content + struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
    return struct.pack("<HHL", 0xFFFE, 0xE000, len(content)) + content


def sequence(tag: int, items: list[bytes], *, undefined: bool = True) -> bytes:
    body = b"".join(items)
    if undefined:
        return encode(tag, b"SQ", body + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0), length=UNDEFINED)
    return encode(tag, b"SQ", body)


def elements(data: bytes) -> list[Element]:
    """Top-level elements after the preamble: file meta and data set, in file order."""
    out: list[Element] = []
    pos = 132
    while pos + 8 <= len(data):
        element = _one(data, pos)
        out.append(element)
        pos = element.end
    return out


def _one(data: bytes, pos: int) -> Element:
    group, elem = struct.unpack_from("<HH", data, pos)
    tag = group << 16 | elem
    vr = data[pos + 4 : pos + 6]
    if vr in LONG_VRS:
        (length,) = struct.unpack_from("<L", data, pos + 8)
        value_start = pos + 12
    else:
        (length,) = struct.unpack_from("<H", data, pos + 6)
        value_start = pos + 8
    if length == UNDEFINED:
        return Element(tag, vr, pos, value_start, _skip_undefined(data, value_start))
    return Element(tag, vr, pos, value_start, value_start + length)


def _skip_undefined(data: bytes, pos: int) -> int:
    """Past a sequence (or item) of undefined length: items and elements up to the matching delimiter."""
    while pos + 8 <= len(data):
        group, elem, length = struct.unpack_from("<HHL", data, pos)
        tag = group << 16 | elem
        if tag == 0xFFFEE0DD:
            return pos + 8
        if tag == 0xFFFEE000:
            if length == UNDEFINED:
                pos = _skip_item(data, pos + 8)
            else:
                pos += 8 + length
            continue
        raise ValueError("unexpected element in a sequence")
    raise ValueError("sequence runs past the data")


def _skip_item(data: bytes, pos: int) -> int:
    while pos + 8 <= len(data):
        group, elem = struct.unpack_from("<HH", data, pos)
        if group << 16 | elem == 0xFFFEE00D:
            return pos + 8
        pos = _one(data, pos).end
    raise ValueError("item runs past the data")


def bulk_uri(base: str, phantom_uids: tuple[str, str, str]) -> str:
    study, series, sop = phantom_uids
    return f"{base}/studies/{study}/series/{series}/instances/{sop}/bulk/7fe00010"


def to_json(ds: pydicom.Dataset, base: str) -> dict[str, Any]:
    """DICOM JSON as an origin would give it: pixel data by BulkDataURI, other binary values inline."""
    uids = (str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID))
    obj = ds.to_json_dict(bulk_data_threshold=1 << 30)
    obj.pop("7FE00010", None)
    if "PixelData" in ds:
        obj["7FE00010"] = {"vr": "OW", "BulkDataURI": bulk_uri(base, uids)}
    return obj


PHANTOM_PICKS = {"a_ct": ("a_ct", 0), "a_sr": ("a_ct", -1), "b_cr": ("b_cr", 0), "c_mr": ("c_mr", 0)}


@functools.cache
def phantoms(base: str = "http://127.0.0.1:1/dicom-web") -> dict[str, Phantom]:
    """Four phantoms with every kind of planted value: a CT (Latin-1), an SR, a Japanese CR, a multi-frame MR."""
    studies = sample_studies()
    out = {}
    for name, (study, index) in PHANTOM_PICKS.items():
        data = studies[study][index]
        ds = pydicom.dcmread(io.BytesIO(data))
        out[name] = Phantom(name, data, to_json(ds, base), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID),
                            str(ds.SOPInstanceUID))  # fmt: skip
    return out


# Planted values a mutation moves around (names, ids, addresses, institutions, accession numbers) and a real UID.
MOVABLE = {
    key: value
    for key, value in PLANTED.items()
    if key.startswith(("name.", "id.", "address.", "phone.", "institution.", "accession.", "study_id.", "request.",
                       "device."))
}
MOVABLE["real_uid"] = PLANTED["uid_root"] + "1.1"


@functools.cache
def own_values(name: str) -> dict[str, str]:
    """The movable values phantom `name` really holds, and its own study UID as the real UID: what a mutation
    moves is the instance's own identifying data, re-tagged or re-encoded (issue 11), never another record's."""
    p = phantoms()[name]
    public = _without_private(p.part10)  # the engine reads no private value it does not keep (issue 11 notes)
    held = {key: value for key, value in MOVABLE.items()
            if key != "real_uid" and any(form in public for form in _forms(value))}
    return {**held, "real_uid": p.study_uid}


def _without_private(data: bytes) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(data))
    ds.remove_private_tags()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def _forms(value: str) -> list[bytes]:
    forms = [value.encode("utf-8")]
    for codec in ("latin-1", "iso2022_jp"):
        try:
            forms.append(value.encode(codec))
        except UnicodeEncodeError:
            continue
    return forms
