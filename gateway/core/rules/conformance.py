"""Whether an element is what its tag says it is, and whether a value conforms to its VR (PS3.5 6.2).

The engine decides by what an element is, not by what the dictionary says it should be. A value arrives in
the VR its sender chose: a name re-tagged to a numeric attribute, an Occupation sent as OB, a date whose length
field swallowed the next elements. Kept as they are, those bytes carry whatever they carry. So every value the
engine keeps is checked here, and what does not conform is removed:

- an encoded VR outside the dictionary's alternatives (US/SS, OB/OW and the like) is not that attribute;
- UN (or implicit VR) is checked under the dictionary's VR, and kept re-encoded with it when it conforms;
- text VRs are checked for their grammar (CS, IS, DS, UI, AS, DA, TM, DT, AE) or for control characters;
- binary VRs for the length multiple of their element size.

Retired attributes that no row of Table E.1-1 names are removed by the profile (`retained.py`): their values
are binary or numbers that a check here cannot tell from four bytes of text.
"""

from __future__ import annotations

import datetime
import re
from functools import lru_cache

from pydicom.datadict import get_entry

_PAD = rb"[ \0]*"


def _values(value: bytes, longest: int) -> bytes:
    """A pattern for backslash-separated values of at most `longest` bytes each, trailing padding allowed: one
    C-level match per element, since this runs for every element the engine keeps."""
    one = rb"(?=[^\\]{0,%d}(?:\\|[ \0]*\Z))" % longest + value
    return one + rb"(?:\\" + one + rb")*" + _PAD


_GRAMMAR: dict[str, re.Pattern[bytes]] = {
    "CS": re.compile(_values(rb"[A-Z0-9_ ]*", 16)),
    "IS": re.compile(_values(rb" *[+-]?[0-9]{1,11} *", 12)),
    "DS": re.compile(_values(rb" *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *", 16)),
    # UIDs with leading zeros exist in archives; they are digits and dots, which can carry no name.
    "UI": re.compile(_values(rb"[0-9]+(?:\.[0-9]+)*", 64)),
    "AS": re.compile(_values(rb"[0-9]{3}[DWMY]", 4)),
    "AE": re.compile(_values(rb"[\x20-\x5b\x5d-\x7e]*", 16)),
    "DA": re.compile(_values(rb"[0-9]{8}", 8)),
    "TM": re.compile(_values(rb"(?:[01][0-9]|2[0-3])(?:[0-5][0-9](?:(?:[0-5][0-9]|60)(?:\.[0-9]{1,6})?)?)? *", 16)),
    "DT": re.compile(_values(
        rb"[0-9]{4}(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:\.[0-9]{1,6})?)?)?)?)?)?"
        rb"(?:[+-][0-9]{4})? *", 26)),
    # Text may hold ESC (ISO 2022 code extensions); paragraphs of free text also CR, LF, FF and TAB.
    "LO": (_TEXT := re.compile(rb"[^\x00-\x08\x0a-\x1a\x1c-\x1f\x7f]*" + _PAD)),
    "SH": _TEXT,
    "PN": _TEXT,
    "UC": _TEXT,
    "LT": (_FREE_TEXT := re.compile(rb"[^\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]*" + _PAD)),
    "ST": _FREE_TEXT,
    "UT": _FREE_TEXT,
    "UR": _FREE_TEXT,
}
# What a pattern cannot say: that a date exists, and that an integer string fits 32 bits.
_PARSED = frozenset({"DA", "DT", "IS"})
# PS3.5 Table 6.2-1 maximum lengths in characters (a PN per component group, three groups). A character takes
# one byte in ASCII and at most four in any other character set, which is all the bytes can say.
MAX_CHARS = {"SH": 16, "LO": 64, "PN": 3 * 64 + 2, "ST": 1024, "LT": 10240}
ELEMENT_SIZE = {"US": 2, "SS": 2, "OW": 2, "UL": 4, "SL": 4, "FL": 4, "AT": 4, "OF": 4, "OL": 4, "FD": 8,
                "SV": 8, "UV": 8, "OD": 8, "OV": 8, "OB": 1}
SHORT_VRS = frozenset({"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH", "SL",
                       "SS", "ST", "TM", "UI", "UL", "US"})
_SWAPPABLE = ({"US", "SS"}, {"OB", "OW"})
_ASCII = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI"})
_SINGLE_VALUED = frozenset({"LT", "ST", "UT", "UR"})  # a backslash in these is text, not a separator
# Type 1 at the top level of every image IOD the gateway serves (SOP Common, General Series, Image Pixel):
# removing a non-conforming one would send an invalid instance, so the instance is withheld instead.
TYPE_1 = frozenset({
    0x00080016,  # SOPClassUID
    0x00080060,  # Modality
    0x00280002,  # SamplesPerPixel
    0x00280004,  # PhotometricInterpretation
    0x00280010,  # Rows
    0x00280011,  # Columns
    0x00280100,  # BitsAllocated
    0x00280101,  # BitsStored
    0x00280102,  # HighBit
    0x00280103,  # PixelRepresentation
})


@lru_cache(maxsize=8192)
def dictionary_vrs(tag: int) -> frozenset[str] | None:
    """The VRs the dictionary allows for a public tag (repeating groups included); None when it has none."""
    try:
        vr = get_entry(tag)[0]
    except KeyError:
        return None
    allowed = set(vr.split(" or "))
    for pair in _SWAPPABLE:
        if allowed & pair:
            allowed |= pair
    return frozenset(allowed)


def stated_vr(tag: int, encoded: str | None, private_vr: str | None = None) -> str | None:
    """The VR to treat a value as: the encoded one if the dictionary allows it, the dictionary's first for UN
    or implicit VR, and None when the element is not what its tag says (outside the allowed alternatives).

    A private tag has no dictionary entry; `private_vr` is what Table E.3.10-1 says of it, if anything."""
    private = tag >> 16 & 1
    allowed = (frozenset({private_vr}) if private_vr else None) if private else dictionary_vrs(tag)
    if encoded is not None and encoded != "UN":
        return encoded if allowed is None or encoded in allowed else None
    if allowed is None:
        return encoded  # private or unknown, as UN: nothing says what it is
    return min(allowed)  # deterministic; the alternatives share one grammar


def written_vr(tag: int, stated: str | None) -> str:
    """The VR a new value is written with: the stated one (`stated_vr`), else the dictionary's (implicit VR, UN,
    or a VR the attribute cannot have: Occupation sent as OB still gets Occupation's action)."""
    if stated is not None and stated != "UN":
        return stated
    allowed = dictionary_vrs(tag)
    return min(allowed) if allowed else "UN"


def conforms(vr: str, value: bytes) -> bool:
    """Whether the bytes of one element conform to `vr` (all its values)."""
    size = ELEMENT_SIZE.get(vr)
    if size is not None:
        return len(value) % size == 0
    grammar = _GRAMMAR.get(vr)
    if grammar is None or grammar.fullmatch(value) is None:
        return False  # UN and SQ have nothing to check against: never kept as a value
    if vr in MAX_CHARS:
        limit = MAX_CHARS[vr] * (1 if value.isascii() else 4)
        items = [value] if vr in _SINGLE_VALUED else value.split(b"\\")
        return all(len(item.rstrip(b" \0")) <= limit for item in items)
    return vr not in _PARSED or all(_parses(vr, item.strip(b" \0")) for item in value.split(b"\\"))


def conforms_text(vr: str, value: str) -> bool:
    """One value in its text form (DICOM JSON), under the same grammar as the bytes."""
    try:
        data = value.encode("ascii" if vr in _ASCII else "utf-8")
    except UnicodeEncodeError:
        return False
    if b"\\" in data and vr not in _SINGLE_VALUED:
        return False  # one value: a backslash would be a separator
    if len(value) > MAX_CHARS.get(vr, len(value)):
        return False
    return vr in _GRAMMAR and conforms(vr, data)


def _parses(vr: str, item: bytes) -> bool:
    if not item:
        return True
    if vr == "IS":
        return len(item) < 10 or -(2**31) <= int(item) < 2**31
    return len(item) < 8 or _real_date(item[:8])  # DA, and the date of a DT


def _real_date(digits: bytes) -> bool:
    try:
        datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True
