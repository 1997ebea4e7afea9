"""The instance's own identifiers as the scrubber looks for them in free text: names, IDs, places and dates.

The engine has read them already (`own_identifiers`); here they are kept by kind, since each kind is written
differently in text:

- names: see `scrub_names`;
- IDs of four characters or more (after separators are dropped), with any of `-`, space, `.`, `/`, `_`
  between any two characters, and a digit-only ID without its leading zeros: 12345678 is also 1234-5678;
  shorter IDs (a Study ID of 1) are in every text and identify no one;
- places (institution, department, station, address): the whole value with any spacing, and its distinctive
  words: Latin words of four letters or more and Japanese pieces of two characters or more (an address cut at
  都道府県 and 市区町村, a name without 病院, 大学 and the like), never the generic words every hospital has
  (Hospital, Radiology, 病院, 放射線科), so a department called Radiology takes nothing away;
- dates: as days; a date in text is the instance's own when any of its readings is one of them.

Matching runs on the folded text in lower case, with patterns that start with a literal character, so that the
regular-expression engine skips quickly to where a candidate can begin.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterator
from enum import StrEnum
from functools import lru_cache

from pydicom.datadict import tag_for_keyword

from gateway.core.rules.scrub_dates import find_dates
from gateway.core.rules.scrub_names import LATIN, LETTERS, initials, is_latin, name_alternatives, word_start
from gateway.core.rules.scrub_patterns import Category, Found, fold

MIN_ID = 4
MIN_LATIN_PLACE_WORD = 4
_MAX_PLACE_RUN = 6  # words in a run of a place's words looked for as one
_SEPARATORS = re.compile(r"[-\s./_:#]")
_ID_GAP = r"[-\s./_]?"
_PLACE_WORDS = frozenset(("hospital", "hospitals", "clinic", "clinics", "center", "centre", "centers", "medical",
    "medicine", "general", "university", "univ", "college", "school", "institute", "foundation", "memorial",
    "department", "dept", "division", "unit", "units", "service", "services", "radiology", "radiological", "imaging",
    "diagnostic", "diagnostics", "nuclear", "health", "healthcare", "care", "city", "county", "prefecture", "street",
    "avenue", "road", "suite", "floor", "building", "north", "south", "east", "west", "central", "national",
    "regional", "community", "children", "childrens", "women", "womens", "the", "and", "for", "of", "at", "ku",
    "shi", "cho", "machi", "mura", "gun", "ken", "japan", "usa", "ward", "room", "station", "scanner", "console",
    "reading", "main", "branch", "annex", "campus", "emergency", "outpatient", "inpatient", "cardiology",
    "neurology", "oncology", "surgery", "pediatrics", "orthopedics", "urology"))
_JA_AFFIXES = re.compile(
    r"^(?:医療法人|社会福祉法人|独立行政法人|学校法人|国立|県立|市立|都立|府立|私立|立)+|"
    r"(?:医療センター|センター|病院|医院|クリニック|診療所|大学|附属|付属|総合|記念|中央|放射線科|放射線部|画像診断科|"
    r"画像診断部|放射線診断科|科|部|室)+$")
_JA_WORDS = frozenset({"病院", "医院", "クリニック", "診療所", "センター", "放射線科", "放射線部", "画像診断科",
                       "画像診断部", "放射線診断科", "大学", "総合", "中央", "本院", "分院"})
_JA_UNITS = re.compile(r"^.{2,3}?[都道府県]|.+?[市区町村郡]")
_JA_RUNS = re.compile(r"[^\W\d_A-Za-z]+|\d+(?:-\d+)*")
_PLACE_TAGS = frozenset(tag_for_keyword(keyword) for keyword in (
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "StationName", "PatientAddress",
    "RegionOfResidence", "ScheduledProcedureStepLocation", "PerformedLocation", "ScheduledStationName",
    "PerformedStationName", "ScheduledStudyLocation", "CurrentPatientLocation", "PatientInstitutionResidence",
))


class IdentifierKind(StrEnum):
    NAME = "name"
    ID = "id"
    PLACE = "place"
    DATE = "date"


_CATEGORIES = {"name": Category.OWN_NAME, "id": Category.OWN_ID, "place": Category.OWN_PLACE}


def kind_of(tag: int, vr: str) -> IdentifierKind | None:
    """How the scrubber looks for the value of an identifying attribute; None for a UID, which differs per
    instance (and would defeat the per-study cache) and is removed as an ID-like pattern anyway."""
    if vr == "UI":
        return None
    if vr == "PN":
        return IdentifierKind.NAME
    if vr in ("DA", "DT"):
        return IdentifierKind.DATE
    return IdentifierKind.PLACE if tag in _PLACE_TAGS else IdentifierKind.ID


class Identifiers:
    """One instance's own identifiers, by kind. The instances of a study carry equal ones, and `key` is what
    the scrubber caches its compiled patterns by."""

    def __init__(self) -> None:
        self._values: set[tuple[IdentifierKind, str]] = set()
        self._key: frozenset[tuple[IdentifierKind, str]] | None = None

    def add(self, kind: IdentifierKind, raw: str) -> Identifiers:
        """Add a raw value (backslash-separated values too); a date is kept as its day, whatever its time."""
        for value in (part.strip(" \0") for part in raw.split("\\")):
            if kind is IdentifierKind.DATE:
                self._values.update((kind, day) for day in _day_texts(value))
            elif value:
                self._values.add((kind, value))
        self._key = None
        return self

    @property
    def key(self) -> frozenset[tuple[IdentifierKind, str]]:
        if self._key is None:
            self._key = frozenset(self._values)
        return self._key


@lru_cache(maxsize=4096)
def _day_texts(value: str) -> tuple[str, ...]:
    """`_days` as ISO text, remembered: a search answer repeats its dates (study, birth) from study to study."""
    return tuple(day.isoformat() for day in _days(value))


def _days(value: str) -> Iterator[datetime.date]:
    """The day of a DA or DT (20240401, 20240401101530.000), or of a date in any form the text ones take."""
    for found in find_dates(fold(value)[:8] if value[:8].isdigit() else fold(value)):
        if found.unambiguous:
            yield found.readings[0]


class OwnPatterns:
    """The compiled patterns of one set of identifiers, shared by every instance that carries it."""

    def __init__(self, key: frozenset[tuple[IdentifierKind, str]]) -> None:
        values = {kind: sorted(value for k, value in key if k is kind) for kind in IdentifierKind}
        self.dates = frozenset(datetime.date.fromisoformat(value) for value in values[IdentifierKind.DATE])
        self._values = values
        self._clues = _Clues(values)
        self._compiled = False

    def _compile(self) -> None:
        """Compiling a study's patterns costs about a millisecond (their character classes), so it waits for a
        text that `_Clues` cannot rule out: a search answer of a thousand patients' studies mostly never does."""
        self._compiled = True
        values = self._values
        groups = [(name, alternatives) for name, alternatives in (
            ("name", [alt for value in values[IdentifierKind.NAME] for alt in name_alternatives(value.lower())]),
            ("id", [alt for value in values[IdentifierKind.ID] for alt in _id_alternatives(value)]),
            ("place", [alt for value in values[IdentifierKind.PLACE] for alt in _place_alternatives(value)]),
        ) if alternatives]
        self._pattern = re.compile("|".join(
            f"(?P<{name}>{'|'.join(sorted(set(alts), key=len, reverse=True))})" for name, alts in groups
        )) if groups else None
        letters = initials(values[IdentifierKind.NAME])
        self._after = re.compile(rf"(?:\s*,?\s*[{letters}](?:\.|(?![{LATIN}])))+") if letters else None
        self._letters = letters

    def find(self, folded: str) -> list[Found]:
        if not self._compiled:
            if not self._clues.may_hold(folded):
                return []
            self._compile()
        if self._pattern is None:
            return []
        lowered = _lowered(folded)
        found = []
        for match in self._pattern.finditer(lowered):
            start, end = match.span()
            if match.lastgroup == "name":
                start, end = self._initials_before(folded, start), self._initials_after(folded, end)
            found.append(Found(start, end, _CATEGORIES[match.lastgroup or "place"]))
        return found

    def _initials_before(self, text: str, start: int) -> int:
        """T. Yamada, T Yamada, J. R. Smith: upper-case initials of the name, each followed by a space or a dot."""
        while True:
            position = start
            while position and text[position - 1] in " ,":
                position -= 1
            if position and text[position - 1] == ".":
                position -= 1
            if position == start or not position or text[position - 1] not in self._letters:
                return start
            if position > 1 and re.match(f"[{LATIN}]", text[position - 2]):
                return start
            start = position - 1

    def _initials_after(self, text: str, end: int) -> int:
        if self._after is None:
            return end
        match = self._after.match(text, end)
        return match.end() if match else end


class _Clues:
    """A necessary condition for any own pattern to match a plain ASCII text, checked without compiling them:
    every pattern holds a word of its value (letters or digits, accents folded) of three characters or more as
    written, or a two-letter name part as a whole run of letters, or an ID's letters and digits in a row once
    the text's separators are dropped. Text with anything but ASCII in it is always looked at in full."""

    def __init__(self, values: dict[IdentifierKind, list[str]]) -> None:
        words = {word for kind in (IdentifierKind.NAME, IdentifierKind.ID, IdentifierKind.PLACE)
                 for value in values[kind] for word in _ALNUM_RUNS.findall(_ascii_folded(value))}
        # A name with a character no name has is also matched with a letter in its place (`scrub_names`): its
        # two-letter pieces may then stand inside a longer word.
        odd = {word for value in values[IdentifierKind.NAME] if _ODD_IN_NAME.search(value)
               for word in _ALNUM_RUNS.findall(_ascii_folded(value)) if len(word) == 2}
        self._long = tuple(sorted(word for word in words if len(word) >= 3 or word in odd))
        self._short = frozenset(word for word in words if len(word) == 2)
        cores = {_NOT_ALNUM.sub("", _ascii_folded(value)) for value in values[IdentifierKind.ID]}
        self._cores = tuple(sorted({form for core in cores for form in (core, core.lstrip("0")) if form}))

    def may_hold(self, folded: str) -> bool:
        if not folded.isascii():
            return True
        lowered = folded.lower()
        if any(word in lowered for word in self._long):
            return True
        if self._short and not self._short.isdisjoint(_LETTER_RUNS.findall(lowered)):
            return True
        squashed = _NOT_ALNUM.sub("", lowered)
        return any(core in squashed for core in self._cores)


_ALNUM_RUNS = re.compile(r"[a-z0-9]+")
_ODD_IN_NAME = re.compile(r"[^\w\s'.^=-]")
_LETTER_RUNS = re.compile(r"[a-z]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _ascii_folded(value: str) -> str:
    """Lower case with accents dropped (Fernández -> fernandez); what is not Latin drops out, since it cannot
    be in an ASCII text."""
    return unicodedata.normalize("NFKD", fold(value)).encode("ascii", "ignore").decode().lower()


def _lowered(text: str) -> str:
    """Lower case, one character for one (İ lowers to two), so that spans stay the text's."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _id_alternatives(value: str) -> Iterator[str]:
    core = _SEPARATORS.sub("", fold(value).lower())
    for form in {core, core.lstrip("0") if core.isdigit() else core}:
        if len(form) < MIN_ID:
            continue
        body = _ID_GAP.join(re.escape(c) for c in form)
        first, last = _edge(form[0]), _edge(form[-1])
        yield (word_start(body, first) if first else body) + (f"(?!{last})" if last else "")


def _edge(char: str) -> str:
    """What may not touch an ID's or a place's end: a digit next to a digit (MRN12345678 holds 12345678), a
    letter next to a letter (Sakura2 holds Sakura)."""
    return "[0-9]" if char.isdigit() else f"[{LETTERS}]" if char.isalpha() else ""


def _place_alternatives(value: str) -> Iterator[str]:
    text = fold(value).lower().strip()
    if is_latin(text):
        yield from _latin_place(text)
    else:
        yield from _japanese_place(text)


def _latin_place(text: str) -> Iterator[str]:
    """The whole value, its distinctive words, and every run of words that holds one (St. Mary's, Sakura
    General): a place is written in part more often than in full."""
    words = [word for word in re.split(r"[\s,]+", text) if word]
    if sum(len(word) for word in words) >= 3 and not all(word in _PLACE_WORDS for word in words):
        yield _latin_words(words)
    distinct = [_distinct(word) for word in words]
    for start in range(len(words)):
        for end in range(start + 2, min(len(words), start + _MAX_PLACE_RUN) + 1):
            if any(distinct[start:end]):
                yield _latin_words(words[start:end])
    for word in words:
        if _has_digits(word):
            yield _latin_words([word])
        else:
            yield from (_latin_words([part]) for part in word.split("-") if _distinct(part))


def _distinct(word: str) -> bool:
    """A word that names this place rather than any place: an address number, or a word of four letters or
    more that is not one every hospital has."""
    if any(c.isdigit() for c in word):
        return _has_digits(word)
    return any(len(part) >= MIN_LATIN_PLACE_WORD and part not in _PLACE_WORDS for part in word.split("-"))


def _has_digits(word: str) -> bool:
    """An address number of three digits or more (2-15-7, 060-0042); 1-1 is in too many texts."""
    return sum(c.isdigit() for c in word) >= 3


def _latin_words(words: list[str]) -> str:
    """Words with any spacing or commas between them, standing apart from the words around them."""
    pattern = r"[\s,]+".join(map(re.escape, words))
    first, last = _edge(words[0][0]), _edge(words[-1][-1])
    return (word_start(pattern, first) if first else pattern) + (f"(?!{last})" if last else "")


def _japanese_place(text: str) -> Iterator[str]:
    pieces = {text.replace(" ", "")}
    for run in _JA_RUNS.findall(text):
        if run[0].isdigit():
            if _has_digits(run):
                yield word_start(re.escape(run), "[0-9]") + "(?![0-9])"
            continue
        units = _JA_UNITS.findall(run)
        rest = run[sum(len(unit) for unit in units):]
        for piece in [*units, rest]:
            pieces.update((piece, piece[:-1] if units and piece in units else piece, _JA_AFFIXES.sub("", piece)))
    yield from (re.escape(piece) for piece in pieces if len(piece) >= 2 and piece not in _JA_WORDS)
