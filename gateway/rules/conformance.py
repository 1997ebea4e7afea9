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

# Every value of a multi-valued element is checked; the separator is a backslash in every text VR but these.
_SINGLE_VALUED = frozenset({"LT", "ST", "UT", "UR"})
_PAD = b" \0"
_GRAMMAR: dict[str, re.Pattern[bytes]] = {
    "CS": re.compile(rb" *[A-Z0-9_ ]{0,16}"),
    "IS": re.compile(rb" *[+-]?[0-9]{1,11} *"),
    "DS": re.compile(rb" *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *"),
    # UIDs with leading zeros exist in archives; they are digits and dots, which can carry no name.
    "UI": re.compile(rb"[0-9]+(?:\.[0-9]+)*"),
    "AS": re.compile(rb"[0-9]{3}[DWMY]"),
    "AE": re.compile(rb" *[\x20-\x5b\x5d-\x7e]{0,16}"),
    "DA": re.compile(rb"[0-9]{8}"),
    "TM": re.compile(rb"(?:[01][0-9]|2[0-3])(?:[0-5][0-9](?:(?:[0-5][0-9]|60)(?:\.[0-9]{1,6})?)?)? *"),
    "DT": re.compile(
        rb"[0-9]{4}(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:\.[0-9]{1,6})?)?)?)?)?)?"
        rb"(?:[+-][0-9]{4})? *"
    ),
}
_MAX_LENGTH = {"DS": 16, "IS": 12, "UI": 64}
# Text may hold ESC (ISO 2022 code extensions); paragraphs of free text also CR, LF, FF and TAB.
_TEXT = re.compile(rb"[^\x00-\x08\x0a-\x1a\x1c-\x1f\x7f]*")
_FREE_TEXT = re.compile(rb"[^\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]*")
_TEXT_VRS = frozenset({"LO", "SH", "PN", "UC"})
_FREE_TEXT_VRS = frozenset({"LT", "ST", "UT"})
ELEMENT_SIZE = {"US": 2, "SS": 2, "OW": 2, "UL": 4, "SL": 4, "FL": 4, "AT": 4, "OF": 4, "OL": 4, "FD": 8,
                "SV": 8, "UV": 8, "OD": 8, "OV": 8, "OB": 1}
SHORT_VRS = frozenset({"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH", "SL",
                       "SS", "ST", "TM", "UI", "UL", "US"})
_SWAPPABLE = ({"US", "SS"}, {"OB", "OW"})
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


def conforms(vr: str, value: bytes) -> bool:
    """Whether the bytes of one element conform to `vr` (all its values)."""
    size = ELEMENT_SIZE.get(vr)
    if size is not None:
        return len(value) % size == 0
    if vr == "UN" or vr == "SQ":
        return False  # nothing to check against: never kept as a value
    if vr in _TEXT_VRS:
        return _TEXT.fullmatch(value) is not None
    if vr in _FREE_TEXT_VRS or vr == "UR":
        return _FREE_TEXT.fullmatch(value) is not None
    grammar = _GRAMMAR.get(vr)
    if grammar is None:
        return False
    text = value.rstrip(_PAD)
    if not text:
        return True
    return all(_conforming_value(vr, grammar, item) for item in text.split(b"\\"))


def conforms_text(vr: str, value: str) -> bool:
    """One value in its text form (DICOM JSON), under the same grammar as the bytes."""
    try:
        data = value.encode("ascii") if vr in _GRAMMAR else value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    if vr in _GRAMMAR and b"\\" in data:
        return False
    if vr in _SINGLE_VALUED or vr in _TEXT_VRS or vr in _GRAMMAR:
        return conforms(vr, data)
    return False


def _conforming_value(vr: str, grammar: re.Pattern[bytes], item: bytes) -> bool:
    if grammar.fullmatch(item) is None or len(item) > _MAX_LENGTH.get(vr, 64):
        return False
    if vr == "DA":
        return _real_date(item)
    if vr == "DT":
        return _real_date(item[:8]) if len(item.strip()) >= 8 else True
    if vr == "IS":
        return -(2**31) <= int(item) < 2**31
    return True


def _real_date(digits: bytes) -> bool:
    try:
        datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True
