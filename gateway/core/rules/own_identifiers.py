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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from pydicom.datadict import DicomDictionary

from gateway.core.rules.actions import Action
from gateway.core.rules.scrub import IdentifierKind, Identifiers, kind_of
from gateway.core.rules.scrub_cued_names import names_in
from gateway.core.rules.scrub_patterns import fold
from gateway.core.rules.values import is_registered_uid

SOURCE_VRS = frozenset({"AE", "LO", "PN", "SH", "ST", "UC", "DA", "UI"})  # ST: InstitutionAddress
MIN_BYTES = 4  # shorter pieces ("M", "CT", "Dr") are in too many good values; 山田 is six bytes in UTF-8
_SPLIT = re.compile(r"[\\^=]")
_WORDS = re.compile(r"[\\^= ,]")  # a person's name goes by its words too: "Fernández" of "Fernández García"
_ENCODINGS = ("utf-8", "latin-1", "iso2022_jp")
_SEEN_SIZE = 4096
_COMPILE_AFTER = 256  # searches of one set of pieces before it is compiled (`_Patterns`)
_UID = re.compile(r"[0-9]+(?:\.[0-9]+)+")
_NAME_SEPARATORS = re.compile(r"[\^=,.'\s-]+")
FREE_TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UC", "UT"})


class Matcher:
    """One instance's identifiers: names, IDs and dates as compiled patterns over text and over bytes (in the
    encodings a value could be written in, for kept binary values, which have no character set), and its UIDs.

    The patterns are shared by every instance of a study (`_compiled` is keyed by the pieces); the UIDs differ
    from one instance to the next, so they are looked for as plain substrings rather than compiled each time."""

    def __init__(self, patterns: _Patterns | None, uids: tuple[str, ...]) -> None:
        self._patterns, self._uids = patterns, uids
        self._uid_bytes = tuple(uid.encode("ascii") for uid in uids)

    @property
    def names(self) -> object:
        """What this matcher shares with the other instances of its study (all but the UIDs): a memo key."""
        return self._patterns

    def with_uids(self, uids: tuple[str, ...]) -> Matcher:
        """This matcher and more UIDs (`matcher` of the pieces and the UIDs, without sorting the pieces again)."""
        return Matcher(self._patterns, tuple(sorted(set(self._uids).union(uids))))

    def uid_in(self, texts: tuple[str, ...]) -> bool:
        """Whether a text holds one of this instance's own UIDs (the part of `in_text` no two instances share)."""
        return any(any(map(text.__contains__, self._uids)) for text in texts)

    def in_text(self, value: str) -> bool:
        if len(value) * 4 < MIN_BYTES:
            return False
        if self._patterns is not None and self._patterns.in_text(value):
            return True
        return "." in value and any(map(value.__contains__, self._uids))

    def in_bytes(self, value: bytes) -> bool:
        if len(value) < MIN_BYTES:
            return False  # no piece fits: most kept numbers are two or four bytes
        if self._patterns is not None and self._patterns.in_bytes(value):
            return True
        return b"." in value and any(map(value.__contains__, self._uid_bytes))


class _Patterns:
    """Case is folded once, on both sides, so a match is a plain substring of a folded value; verdicts are
    remembered, since a study repeats its values. A search list (QIDO, one study per result) looks at each set of
    pieces a few dozen times: the pieces are tried one by one, and only a set used more often (the instances of a
    series) is compiled into one alternation, which the regex engine scans for by first characters."""

    def __init__(self, pieces: frozenset[str]) -> None:
        self._pieces = pieces
        self._texts = tuple(sorted({piece.lower() for piece in pieces}, key=len, reverse=True))
        self._forms: tuple[bytes, ...] | None = None  # made when bytes are first looked at (JSON has none)
        self._text: re.Pattern[str] | None = None
        self._data: re.Pattern[bytes] | None = None
        self._searches = 0
        self._seen: dict[bytes | str, bool] = {}

    def in_text(self, value: str) -> bool:
        return self._remembered(value, lambda: self._text_found(value.lower()))

    def in_bytes(self, value: bytes) -> bool:
        return self._remembered(value, lambda: self._data_found(value.lower()))

    def _text_found(self, folded: str) -> bool:
        if self._compiling():
            self._text = self._text or re.compile("|".join(map(re.escape, self._texts)))
            return self._text.search(folded) is not None
        return any(map(folded.__contains__, self._texts))

    def _data_found(self, folded: bytes) -> bool:
        if self._forms is None:
            # Bytes fold ASCII only (b"\xda".lower() stays), so the forms are encoded first and folded after.
            forms = {form.lower() for piece in self._pieces for form in _encoded(piece)}
            self._forms = tuple(sorted(forms, key=len, reverse=True))
        if self._compiling():
            self._data = self._data or re.compile(b"|".join(map(re.escape, self._forms)))
            return self._data.search(folded) is not None
        return any(map(folded.__contains__, self._forms))

    def _compiling(self) -> bool:
        self._searches += 1
        return self._searches > _COMPILE_AFTER

    def _remembered(self, value: bytes | str, search: Callable[[], bool]) -> bool:
        found = self._seen.get(value)
        if found is None:
            found = search()
            if len(self._seen) >= _SEEN_SIZE:
                self._seen.clear()
            self._seen[value] = found
        return found


def matcher(pieces: set[str]) -> Matcher | None:
    """The matcher for the identifiers a walk collected with `collect`."""
    if not pieces:
        return None
    uids = tuple(sorted(filter(is_uid_piece, pieces)))
    words = frozenset(pieces.difference(uids))
    return Matcher(_compiled(words) if words else None, uids)


def is_uid_piece(piece: str) -> bool:
    """A piece matched as a UID (a substring), not as a word."""
    return _UID.fullmatch(piece) is not None


def uid_pieces(values: list[str]) -> tuple[str, ...] | None:
    """A UI attribute's pieces as `collect` cuts them; None when one is not shaped as a UID (`matcher` would
    take it for a word)."""
    pieces: set[str] = set()
    collect("UI", values, pieces)
    return tuple(pieces) if all(map(is_uid_piece, pieces)) else None


def source_tags(actions: Mapping[int, Action]) -> frozenset[int]:
    """The public tags whose values feed the list: of a source VR by the dictionary, and not kept. Decided by
    tag, so PatientName sent as DS or UN still counts; once per profile, so a walk only looks tags up."""
    return frozenset(
        tag for tag, action in actions.items()
        if action is not Action.KEEP and tag in DicomDictionary and DicomDictionary[tag][0] in SOURCE_VRS
    )


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


@lru_cache(maxsize=2048)  # two sets per study (own values, the scrubber's guard) for a thousand-study answer
def _compiled(pieces: frozenset[str]) -> _Patterns:
    """The instances of a study share their names, IDs and dates: one compile serves them all."""
    return _Patterns(pieces)


@dataclass
class Texts:
    """What the free-text scrubber is given: the identifying attributes' whole values, by kind
    (`scrub.kind_of`), and whether they were all read as what they are. The scrubber finds only what it is
    told; an identifying attribute it could not read (bulk data, inline bytes, another VR, a value of another
    shape, a key not written as F.2 writes it) could be named in the free text, so then the text is blanked.
    So is a person's name with no letter in it (a UID, a phone number): it says nothing of whom the text names.

    The free text itself adds the names it gives by their cues (`learn_names`): a relative named in the
    comments, the reading physician in a report."""

    values: set[tuple[IdentifierKind, str]] = field(default_factory=set)
    complete: bool = True

    def scrubbing(self) -> tuple[Identifiers | None, Matcher | None]:
        """`scrubbing_of` these texts; (None, None), which blanks the free text, when they are incomplete."""
        return scrubbing_of(frozenset(self.values)) if self.complete else (None, None)


def _readable(text: tuple[IdentifierKind, str]) -> bool:
    kind, value = text
    if kind is not IdentifierKind.NAME:
        return True
    letters = _NAME_SEPARATORS.sub("", value)
    return not letters or any(map(str.isalpha, letters))


def learn_names(values: list[str], texts: Texts) -> None:
    """Add the names one free text gives by their cues, to be looked for in all of the instance's free text."""
    texts.values.update((IdentifierKind.NAME, name) for value in values for name in names_in(fold(value)))


def cleaned_tags(actions: Mapping[int, Action]) -> frozenset[int]:
    """The tags whose text is scrubbed (C): free text, which is what the scrubber works on, not what it is
    given to look for."""
    return frozenset(tag for tag, action in actions.items() if action is Action.CLEAN)


def learned_tags(actions: Mapping[int, Action]) -> frozenset[int]:
    """The scrubbed tags of a text VR by the dictionary: where a walk reads the names free text gives."""
    return frozenset(tag for tag in cleaned_tags(actions)
                     if tag in DicomDictionary and DicomDictionary[tag][0] in FREE_TEXT_VRS)


def collect_texts(tag: int, vr: str, values: list[str], texts: Texts) -> None:
    """Add an identifying attribute's values, whole, for the scrubber (`collect` cuts them into pieces)."""
    kind = kind_of(tag, vr)
    if kind is not None:
        texts.values.update((kind, value) for value in values if value)


@lru_cache(maxsize=2048)  # a search answer holds a thousand studies, each with its own texts
def scrubbing_of(texts: frozenset[tuple[IdentifierKind, str]]) -> tuple[Identifiers | None, Matcher | None]:
    """For a set of identifying texts, built once per study (whose instances share them): the scrubber's
    Identifiers, and the guard every scrubbed value is checked against before it goes. The guard is the texts
    cut into pieces, as kept values are checked (`collect`), in text and in every encoding a careless writer
    uses: the scrubber looks for names as words in a text it decoded, and a text decoded by a wrong character
    set, or a name glued to other letters, can keep one; the value then goes whole. (None, None), which blanks
    the free text, when a person's name has no letter (`Texts`)."""
    if not all(map(_readable, texts)):
        return None, None
    identifiers, pieces = Identifiers(), set[str]()
    for kind, text in sorted(texts):
        identifiers.add(kind, text)
        collect("PN" if kind is IdentifierKind.NAME else "LO", [text], pieces)
    return identifiers, matcher(pieces)
