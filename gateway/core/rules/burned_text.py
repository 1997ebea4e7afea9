"""Burned-in text read by OCR: which instances are at risk, and what the words read in them mean for their pixels.

Ultrasound, secondary captures, photographs, endoscopy and "other" images often carry the patient's name, ID and
the date in their pixels, and many say nothing of it (Burned In Annotation (0028,0301) absent or NO). For a role
with `withhold.ocr`, such an instance is read once by OCR, on its first frame (the web layer fetches it and runs
Tesseract in a process pool: `gateway.adapters.ocr`, `gateway.web.handlers.ocr_verdicts`), and judged here:

- the words of each line are joined into a line of text, which goes through the role's free-text scrubber with
  the instance's own identifiers (names, IDs, dates...) and the generic patterns (dates, IDs, phones, e-mail...),
  dates always removed whatever the role's date rule: a date burned in cannot be shifted;
- a word is identifying when a scrubbed span touches it, when it holds a piece of an own identifier (the guard
  the header's scrubbed values are checked against), or when it is one letter away from one (OCR misreads);
- a line whose letters and digits, run together, hold an own identifier is identifying as a whole (4821 3377);
- the boxes of identifying words, padded, become mask regions, as a pixel rule's do; `on_text: withhold`
  withholds instead, and so does an image with more than `max_words` confident words (a scanned document).

An instance whose identifiers could not all be read (the scrubber would blank its free text) and that shows any
word is withheld. What is not read is not found: the README says what OCR misses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gateway.core.recent import Recent
from gateway.core.rules.pixels import PixelPlan, Region
from gateway.core.rules.scrub import IdentifierKind, Identifiers, Scrubber
from gateway.core.rules.scrub_patterns import JAPANESE, fold
from gateway.errors import Withheld

DEFAULT_MODALITIES = ("US", "SC", "XC", "ES", "OT")
CONFIDENT = 60.0  # Tesseract's 0-100 confidence from which a word counts towards `max_words`
_FUZZY_MIN = 5  # an own piece this long or longer is also found one OCR error away
AROUND = 2.5  # line heights masked above and below a block with an identifying word (four times that sideways)
DIGITS = 4  # a word read with this many digits is a date, a time or an ID as far as OCR can tell
_DIGITS = re.compile(r"\d")
_PIECE = re.compile(r"[\\^=,\s]+")
_ALNUM = re.compile(r"[^0-9A-Za-z\u00c0-\u024f\u3040-\u30ff\u3400-\u9fff]+")
TEXT_READ = "burned-in-text-read (7FE0,0010)"
TEXT_DENSE = "burned-in-text-dense (7FE0,0010)"
IDENTIFIERS_UNREAD = "burned-in-text-identifiers-unread (7FE0,0010)"


class Guard(Protocol):
    """What the header's scrubbed values are checked against (own_identifiers.Matcher): pieces of own identifiers."""

    def in_text(self, value: str) -> bool: ...


@dataclass(frozen=True)
class OcrRule:
    """A role's OCR of burned-in text (withhold.ocr), compiled once."""

    modalities: frozenset[str] = frozenset(DEFAULT_MODALITIES)
    languages: tuple[str, ...] = ("jpn",)  # its model reads Latin letters and digits too; eng+jpn took 2x
    timeout_s: float = 20.0
    on_text: str = "mask"  # or "withhold"
    max_words: int = 40
    padding: int = 3
    scrubber: Scrubber = field(default_factory=lambda: Scrubber(dates="remove"), compare=False, repr=False)


@dataclass(frozen=True)
class Word:
    """One word as OCR read it: its text, Tesseract's confidence (0-100), its box, and which line it is on."""

    text: str
    confidence: float
    box: Region
    line: tuple[int, ...]


@dataclass(frozen=True)
class BurnedText:
    """The OCR verdict on one instance: the regions to mask (none: clean), or why it is withheld."""

    regions: tuple[Region, ...] = ()
    withheld: Withheld | None = None

    @property
    def outcome(self) -> str:
        return "withheld" if self.withheld is not None else "masked" if self.regions else "clean"


CLEAN = BurnedText()


def at_risk(rule: OcrRule | None, header: Mapping[str, str | int | None]) -> bool:
    """Whether the OCR must read this instance: an at-risk modality that does not say YES (a YES is withheld, or
    cleaned by a pixel rule, before OCR would be asked). Anything but YES, a garbled value too, counts as NO."""
    if rule is None or header.get("Modality") not in rule.modalities:
        return False
    return header.get("BurnedInAnnotation") != "YES"


def with_burned_text(plan: PixelPlan, burned: BurnedText) -> PixelPlan:
    """The pixel plan once the OCR verdict is in: Withheld raised, or its regions added to the pixel rules'."""
    if burned.withheld is not None:
        raise burned.withheld
    return PixelPlan(plan.regions + burned.regions) if burned.regions else plan


def judge_words(
    rule: OcrRule, words: Sequence[Word], identifiers: Identifiers | None, guard: Guard | None
) -> BurnedText:
    """The verdict on an instance from the words OCR read in its first frame."""
    words = [word for word in words if word.text.strip()]
    if not words:
        return CLEAN
    if identifiers is None:
        return BurnedText(withheld=Withheld(IDENTIFIERS_UNREAD))
    confident = sum(1 for word in words if word.confidence >= CONFIDENT and len(_ALNUM.sub("", word.text)) >= 2)
    if confident > rule.max_words:
        return BurnedText(withheld=Withheld(TEXT_DENSE))
    pieces = own_pieces(identifiers)
    found = [word for line in _lines(words) for word in _identifying(rule.scrubber, line, identifiers, guard, pieces)]
    if not found:
        return CLEAN
    if rule.on_text == "withhold":
        return BurnedText(withheld=Withheld(TEXT_READ))
    return BurnedText(regions=_block_regions(words, found, rule.padding))


def _block_regions(words: Sequence[Word], found: Sequence[Word], padding: int) -> tuple[Region, ...]:
    """The regions masked for the identifying words found: each text block that holds one (the box of all its
    words), widened by `AROUND` line heights each way. A name's neighbours are the rest of the annotation (its
    label, the ID or the date), which OCR may have read wrong or not at all."""
    regions = []
    for block in sorted({word.line[:1] for word in found}):
        boxes = [word.box for word in words if word.line[:1] == block]
        line = max(min(box.height, box.width * 3) for box in boxes)
        x, y = min(box.x for box in boxes), min(box.y for box in boxes)
        right, bottom = max(box.x + box.width for box in boxes), max(box.y + box.height for box in boxes)
        around = padding + round(AROUND * line)
        regions.append(Region(max(0, x - 4 * around), max(0, y - around), right - x + 8 * around,
                              bottom - y + 2 * around))  # fmt: skip
    return tuple(regions)


def own_pieces(identifiers: Identifiers) -> frozenset[str]:
    """The instance's names and IDs cut into the pieces a word could be (upper case, letters and digits only)."""
    pieces: set[str] = set()
    for kind, value in identifiers.key:
        if kind is IdentifierKind.DATE:
            continue
        pieces.update(piece for part in _PIECE.split(value) if len(piece := _ALNUM.sub("", fold(part)).upper()) >= 2)
    return frozenset(pieces)


def _lines(words: Iterable[Word]) -> list[list[Word]]:
    lines: dict[tuple[int, ...], list[Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    return list(lines.values())


def _identifying(
    scrubber: Scrubber, line: list[Word], identifiers: Identifiers, guard: Guard | None, pieces: frozenset[str]
) -> list[Word]:
    text, starts = _joined(line)
    spans = scrubber.scrub(text, identifiers).spans
    compact = _ALNUM.sub("", fold(text)).upper()
    if any(len(piece) >= 4 and piece in compact for piece in pieces):
        return line  # an own identifier read with a space or a mark in it
    found = []
    for word, start in zip(line, starts, strict=True):
        end = start + len(word.text)
        scrubbed = any(span.start < end and start < span.end for span in spans)
        if scrubbed or _own(word.text, guard, pieces) or len(_DIGITS.findall(word.text)) >= DIGITS:
            found.append(word)
    return found


def _own(text: str, guard: Guard | None, pieces: frozenset[str]) -> bool:
    """A piece of an own identifier in the word, or the word one OCR error away from one."""
    return (guard is not None and guard.in_text(text)) or _near(_ALNUM.sub("", fold(text)).upper(), pieces)


def _joined(line: list[Word]) -> tuple[str, list[int]]:
    """The line's text, and where each word starts in it: Japanese words are joined without a space (Tesseract
    cuts 山田太郎 into characters), others with one."""
    text, starts = "", []
    for word in line:
        if text and not (JAPANESE.search(text[-1]) and JAPANESE.match(word.text)):
            text += " "
        starts.append(len(text))
        text += word.text
    return text, starts


def _near(word: str, pieces: frozenset[str]) -> bool:
    """Whether a word is an own piece of `_FUZZY_MIN` or more letters with one letter misread, added or lost."""
    if len(word) < _FUZZY_MIN - 1:
        return False
    return any(len(piece) >= _FUZZY_MIN and abs(len(piece) - len(word)) <= 1 and _one_edit(word, piece)
               for piece in pieces)  # fmt: skip


def _one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _padded(box: Region, padding: int) -> Region:
    x, y = max(0, box.x - padding), max(0, box.y - padding)
    return Region(x, y, box.x + box.width + padding - x, box.y + box.height + padding - y)


class BurnedTextCache(Recent[tuple[str, str], BurnedText]):
    """(profile version, SOP Instance UID) -> the OCR verdict; the least recently used entry goes."""

    def __init__(self, size: int = 65536) -> None:
        super().__init__(size)
