"""Identifying patterns any text may hold, whoever it is about: phone numbers, e-mail addresses, URLs, postal
codes, long digit runs and ID-like tokens (dates are in `scrub_dates`). Also the vocabulary of the scrubber:
the categories of what it finds, and `fold`, which every matcher runs on.

Clinical text is full of tokens that look like IDs and are not: 512x512, 120kVp, TR2000, W400L40, T1W3D,
DWI b1000. A token of letters and digits is ID-like only with six characters or more, three digits or more,
and a shape that is not parameters, numbers and units (`_TECHNICAL`); a run of six digits or more is ID-like
whatever surrounds it, since no clinical quantity in a description needs six digits.

Phone numbers are what libphonenumber finds valid for Japan or the US, plus any digits after a label (Tel,
Fax, 電話, 内線). Postal codes are 〒 codes, NNN-NNNN in a Japanese text, and US ZIP codes after a state code or
"ZIP" (a bare five-digit number is too often something else).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from phonenumbers import Leniency, PhoneNumberMatcher


class Category(StrEnum):
    """What a removed span was. The own-* categories come from the instance's own identifiers, and no
    allow-list keeps them; deny is the role's own deny-list; the rest are generic patterns."""

    OWN_NAME = "own-name"
    OWN_ID = "own-id"
    OWN_PLACE = "own-place"
    OWN_DATE = "own-date"
    DENY = "deny"
    NAME = "name"
    DATE = "date"
    PHONE = "phone"
    EMAIL = "email"
    URL = "url"
    POSTAL = "postal"
    ID_LIKE = "id-like"


PRECEDENCE = tuple(Category)  # where two spans overlap, the category of their union is the earlier one


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    category: Category


# Full-width ASCII (ＭＲＮ１２３４５), the ideographic space and the dashes, one character for one: matching runs
# on the folded text, and its spans are the original's.
_FOLD = str.maketrans({**{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)},
                       "\u3000": " ", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-"})
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
PHONE_REGIONS = ("JP", "US")


def fold(text: str) -> str:
    return text.translate(_FOLD)


_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_URL = re.compile(r"(?:https?|ftp)://[^\s<>\"'「」、。]+|(?<![\w@.])www\.[^\s<>\"'「」、。]+", re.IGNORECASE)
_URL_TAIL = ".,;:!?)]}'\""
_POSTAL_MARK = re.compile(r"〒\s*\d{3}-?\d{4}(?!\d)")
_POSTAL_JA = re.compile(r"(?<![\d-])\d{3}-\d{4}(?![\d-])")
_STATES = ("AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
           "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
           "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY")
_ZIP = re.compile(r"(?:(?<![A-Za-z])(?:" + "|".join(_STATES) + r")|(?i:zip(?:\s*code)?:?))\s+(?P<zip>\d{5}(?:-\d{4})?)"
                  r"(?![\d-])")
# libphonenumber is thorough and slow (tens of microseconds a region on a whole text): it reads only runs of
# 10 to 15 digits with the separators a number is written with, so a hostile run of digits costs little.
_PHONE_HINT = re.compile(r"\+?\(?\d(?:[\s().-]{0,3}\d){9,14}\)?")
_PHONE_CHECKS = 16  # runs checked per text; a text with more (a hostile one) loses the rest unchecked
_PHONE_LABEL = re.compile(r"(?:\b(?:tel|phone|fax|mobile|cell)|電話|携帯|内線|連絡先)(?:番号)?[\s.:#]*"
                          r"(?P<number>\+?\(?\d[\d().-]*(?: \d[\d().-]*){0,3})", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_UID = re.compile(r"(?<![\d.])\d+(?:\.\d+){3,}(?![\d.])")
_DIGITS = re.compile(r"(?<!\d)(?<!\d[.,])\d{6,}(?!\d)")
_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z0-9]{6,}|[A-Za-z]{1,5}[-_]\d{4,})(?![A-Za-z0-9])")
_UNITS = ("mm|cm|um|nm|m|ms|sec|s|min|hr|h|kvp|kv|mas|ma|mgy|mt|t|khz|mhz|hz|deg|ch|sl|ml|cc|mg|kg|g|bpm|hu|ppm|fps|"
          "mbq|gbq|mci|x|w|i|d|y")
_PARAMS = ("b|c|w|l|t|tr|te|ti|fa|fov|ww|wl|nex|etl|bw|st|sl|se|ser|im|img|series|echo|phase|slice|dlp|ctdi|pitch|mb|"
           "sense|iso|res|mat|matrix|thk|kernel")
_WORDS = ("ct|mr|mri|pet|spect|cta|mra|us|cr|dx|xa|nm|dwi|adc|swi|dti|flair|stir|tse|fse|gre|epi|tof|bold|mip|mpr|"
          "vr|ax|axial|sag|cor|tra|head|neck|chest|abd|lung|bone|std|soft|angio|pd|fs|ffe|tfe|spgr|mprage|space|"
          "cube|vibe|lava|thrive|haste|ssfse|fiesta|trufi|post|pre|gd|gad|delay|art|ven|pv|dyn|cine|scout|loc|"
          "recon|ap|pa|lat|obl|rt|lt|th|nd|rd|ce|dr|to")
# The technical words, and the body parts and words of a protocol that a description writes in capitals: what a
# capitalised word after a cue for a name (MR BRAIN, DR CHEST) is not.
_PROTOCOL_WORDS = """
    brain knee spine hip shoulder pelvis abdomen cardiac heart liver renal kidney breast wrist ankle elbow foot hand
    skull sinus orbit face portable supine prone contrast routine stroke trauma thorax lumbar cervical thoracic
    wbody body whole left right bilateral lesions
"""
CLINICAL_WORDS = frozenset(_WORDS.split("|")) | frozenset(_PROTOCOL_WORDS.split())
_TECHNICAL = re.compile(rf"(?:{_WORDS}|(?:{_PARAMS})?\d+(?:{_UNITS})?)+(?:{_PARAMS})?", re.IGNORECASE)


def generic(folded: str) -> list[Found]:
    """Every generic pattern in `folded` text (dates apart), overlapping as they come."""
    found = [*_emails_and_urls(folded), *_postal(folded), *_phones(folded)]
    if _DIGIT.search(folded):
        found += _id_like(folded)
    return found


def _emails_and_urls(folded: str) -> Iterator[Found]:
    if "@" in folded:
        yield from (Found(*m.span(), Category.EMAIL) for m in _EMAIL.finditer(folded))
    if "://" in folded or "www." in folded.lower():
        for match in _URL.finditer(folded):
            text = match.group().rstrip(_URL_TAIL)
            yield Found(match.start(), match.start() + len(text), Category.URL)


def _postal(folded: str) -> Iterator[Found]:
    yield from (Found(*m.span(), Category.POSTAL) for m in _POSTAL_MARK.finditer(folded))
    if JAPANESE.search(folded):
        yield from (Found(*m.span(), Category.POSTAL) for m in _POSTAL_JA.finditer(folded))
    yield from (Found(*m.span("zip"), Category.POSTAL) for m in _ZIP.finditer(folded))


def _phones(folded: str) -> Iterator[Found]:
    yield from (Found(*m.span("number"), Category.PHONE) for m in _PHONE_LABEL.finditer(folded))
    for index, hint in enumerate(_PHONE_HINT.finditer(folded)):  # libphonenumber reads only where one can be
        if index >= _PHONE_CHECKS:
            yield Found(*hint.span(), Category.PHONE)  # past the bound, a run that could be a number goes
            continue
        for region in PHONE_REGIONS:
            for match in PhoneNumberMatcher(hint.group(), region, leniency=Leniency.VALID):
                yield Found(hint.start() + match.start, hint.start() + match.end, Category.PHONE)


def _id_like(folded: str) -> Iterator[Found]:
    yield from (Found(*m.span(), Category.ID_LIKE) for m in _UID.finditer(folded) if m.end() - m.start() >= 10)
    yield from (Found(*m.span(), Category.ID_LIKE) for m in _DIGITS.finditer(folded))
    for match in _TOKEN.finditer(folded):
        token = match.group()
        if sum(c.isdigit() for c in token) >= 3 and not token.isdigit() and not _TECHNICAL.fullmatch(token):
            yield Found(*match.span(), Category.ID_LIKE)


def term_pattern(term: str) -> re.Pattern[str]:
    """A deny- or allow-list entry: `/regex/` as written (add `(?i)` for any case), any other term as a word in
    any case. Raises ValueError, naming the fault, for what cannot stand in a profile."""
    if len(term) >= 2 and term.startswith("/") and term.endswith("/"):
        try:
            pattern = re.compile(term[1:-1])
        except re.error as error:
            raise ValueError(f"not a regular expression: {error.msg}") from None
        if pattern.search(""):
            raise ValueError("a regular expression that matches empty text would match everywhere")
        return pattern
    text = fold(term).strip()
    if not text:
        raise ValueError("an empty term")
    before = r"(?<![A-Za-z0-9])" if text[0].isascii() and text[0].isalnum() else ""
    after = r"(?![A-Za-z0-9])" if text[-1].isascii() and text[-1].isalnum() else ""
    return re.compile(before + r"\s+".join(map(re.escape, text.split())) + after, re.IGNORECASE)
