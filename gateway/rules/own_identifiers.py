"""The instance's own identifiers, looked for in every value the engine keeps.

A value can conform to its VR and still be a name: an MRN is a valid code string, a family name fits a Short
String. The engine cannot know every name, but it has just read this instance's own: the values of the
identifying attributes it removes or replaces (names, IDs, accession number, institution, station, device
serial, real dates, and its own UIDs). A kept value that contains one of them was put where it does not belong,
and goes.

Only short identifying text feeds the list (person names by component, IDs, codes of places), never free text,
whose ordinary words would remove good values. Matching ignores ASCII case, since a code string is upper case.
"""

from __future__ import annotations

import re
from functools import lru_cache

from gateway.rules.values import is_registered_uid

SOURCE_VRS = frozenset({"AE", "LO", "PN", "SH", "ST", "UC", "DA", "UI"})  # ST: InstitutionAddress
MIN_BYTES = 4  # shorter pieces ("M", "CT", "Dr") are in too many good values; 山田 is six bytes in UTF-8
_SPLIT = re.compile(r"[\\^=]")
_WORDS = re.compile(r"[\\^= ,]")  # a person's name goes by its words too: "Fernández" of "Fernández García"
_ENCODINGS = ("utf-8", "latin-1", "iso2022_jp")


class Matcher:
    """One instance's identifiers as compiled patterns: over text, and over bytes in the encodings a value
    could be written in (for kept binary values, which have no character set)."""

    def __init__(self, pieces: frozenset[str]) -> None:
        ordered = sorted(pieces, key=len, reverse=True)
        self._text = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)
        forms = {form for piece in ordered for form in _encoded(piece)}
        self._bytes = re.compile(b"|".join(map(re.escape, sorted(forms, key=len, reverse=True))), re.IGNORECASE)

    def in_text(self, value: str) -> bool:
        return self._text.search(value) is not None

    def in_bytes(self, value: bytes) -> bool:
        return self._bytes.search(value) is not None


def matcher(pieces: set[str]) -> Matcher | None:
    """The matcher for the identifiers a walk collected with `collect`."""
    return _compiled(frozenset(pieces)) if pieces else None


def collect(vr: str, values: list[str], pieces: set[str]) -> None:
    """Add the pieces of one identifying attribute's values (name components and words, IDs, UIDs)."""
    split = _WORDS if vr == "PN" else _SPLIT
    for value in values:
        pieces.update(piece for piece in (p.strip(" \0") for p in split.split(value))
                      if len(piece.encode("utf-8")) >= MIN_BYTES and not is_registered_uid(piece))


def value_texts(values: object) -> list[str]:
    """The text in a DICOM JSON "Value": strings, person name groups, and numbers as written."""
    if isinstance(values, str | dict):
        values = [values]  # not shaped as F.2 says, and still the object's own text
    if not isinstance(values, list):
        return []
    texts: list[str] = []
    for value in values:
        if isinstance(value, dict):
            texts.extend(text for text in value.values() if isinstance(text, str))
        elif value is not None:
            texts.append(str(value))
    return texts


def _encoded(piece: str) -> list[bytes]:
    forms = []
    for encoding in _ENCODINGS:
        try:
            form = piece.encode(encoding)
        except UnicodeEncodeError:
            continue
        forms.append(form)
        if form.startswith(b"\x1b$B"):  # JIS X 0208 without its escapes, as ISO 2022 IR 87 writes it in PN groups
            forms.append(form.replace(b"\x1b$B", b"").replace(b"\x1b(B", b""))
    return forms


@lru_cache(maxsize=1024)
def _compiled(pieces: frozenset[str]) -> Matcher:
    """The instances of a study share their identifiers: one compile serves them all."""
    return Matcher(pieces)
