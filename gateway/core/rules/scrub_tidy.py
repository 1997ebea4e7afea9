"""What a removal leaves behind: the text around removed spans, tidied so that it reads as if they had never
been written, and nothing else touched.

- Removed spans with only spaces and punctuation between them go as one: `YAMADA^TARO, 2024-04-01`.
- Brackets left empty go: `CT (YAMADA Taro) chest` -> `CT chest`.
- One space stays between two words: `CT for YAMADA chest` -> `CT for chest`; none before a closing mark:
  `for YAMADA.` -> `for.`
- At the start of the text or a line, the separators and colons left dangling go (`YAMADA, CT chest` ->
  `CT chest`); at the end, the separators (`CT chest, 2024-04-01` -> `CT chest`), but not a label's colon
  (`Name:`), which is a word's.
- Two separators left side by side become one: `CT / YAMADA / chest` -> `CT / chest`.

The result remembers where each of its characters came from (`original`), so that what a removal brings
together (山[…]田, 0048 […] 2913) can be found in it and traced back to the original text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

Region = tuple[int, int, str]  # start, end, replacement ("" when removed)

_SPACE = " \t\u3000"
_GLUE = re.compile(r"[\s,;:/\-^・、，=_.]*")
_OPEN, _CLOSE = "([{（［｛「『【〈《", ")]}）］｝」』】〉》"
_CLOSING = ",.;:!?、。，．：；！？" + _CLOSE
_SEPARATORS = ",;/|-、，・"


@dataclass
class _Piece:
    start: int  # where it comes from in the original text
    end: int
    text: str  # a slice of the original from `start`, or a replacement of start:end
    kept: bool


@dataclass(frozen=True)
class Tidied:
    text: str
    pieces: tuple[_Piece, ...]
    removed: bool  # whether anything was removed, rather than replaced

    def original(self, start: int, end: int) -> tuple[int, int] | None:
        """The span of the original text that `start:end` of this text comes from, or None when it lies in
        replacements only (a shifted date is the scrubber's own writing)."""
        offsets = [0]
        for piece in self.pieces:
            offsets.append(offsets[-1] + len(piece.text))
        first, last = bisect.bisect_right(offsets, start) - 1, bisect.bisect_right(offsets, end - 1) - 1
        if not any(piece.kept for piece in self.pieces[first : last + 1]):
            return None
        head, tail = self.pieces[first], self.pieces[last]
        begin = head.start + start - offsets[first] if head.kept else head.start
        finish = tail.start + end - offsets[last] if tail.kept else tail.end
        return begin, finish


def tidied(text: str, spans: Iterable[Region]) -> Tidied:
    """`text` with each span (in order, not overlapping) replaced, or removed when its replacement is empty."""
    out: list[_Piece] = []
    position, removed = 0, False
    for start, end, replacement in _regions(text, spans):
        out.append(_Piece(position, start, text[position:start], True))
        if replacement:
            out.append(_Piece(start, end, replacement, False))
            position = end
        else:
            position, removed = _closed(out, text, end), True
    out.append(_Piece(position, len(text), text[position:], True))
    pieces = tuple(piece for piece in out if piece.text)
    return Tidied("".join(piece.text for piece in pieces), pieces, removed)


def _regions(text: str, spans: Iterable[Region]) -> list[Region]:
    regions: list[Region] = []
    for start, end, replacement in spans:
        last = regions[-1] if regions else None
        if last and not last[2] and not replacement and _GLUE.fullmatch(text, last[1], start):
            regions[-1] = (last[0], end, "")
        else:
            regions.append((start, end, replacement))
    return [region if region[2] else _bracketed(text, region[0], region[1]) for region in regions]


def _bracketed(text: str, start: int, end: int) -> Region:
    before, after = start, end
    while before and text[before - 1] in _SPACE:
        before -= 1
    while after < len(text) and text[after] in _SPACE:
        after += 1
    opening = text[before - 1] if before else ""
    if opening and opening in _OPEN and text[after : after + 1] == _CLOSE[_OPEN.index(opening)]:
        return before - 1, after + 1, ""
    return start, end, ""


def _closed(out: list[_Piece], text: str, end: int) -> int:
    """Tidy the output so far (in place) for a removal that ends at `end`; where the text goes on."""
    right = _skip(text, end, _SPACE)
    last, spaced = _last(out)
    following = text[right : right + 1]
    if not last or last in "\n" + _OPEN:  # the start of the text, a line or a bracket
        _strip(out, _SPACE)
        return _skip(text, right, _SEPARATORS + _SPACE + ":：")
    if following in ("", "\n"):
        _strip(out, _SEPARATORS + _SPACE)
        return right
    if last in _SEPARATORS and following in _SEPARATORS:
        return _skip(text, right + 1, _SPACE)
    if following in _CLOSING:
        _strip(out, _SPACE)
        return right
    return right if spaced else end


def _skip(text: str, position: int, chars: str) -> int:
    while position < len(text) and text[position] in chars:
        position += 1
    return position


def _last(out: list[_Piece]) -> tuple[str, bool]:
    """The last character of the output that is not a space, and whether spaces follow it."""
    spaced = False
    for piece in reversed(out):
        stripped = piece.text.rstrip(_SPACE)
        spaced = spaced or len(stripped) < len(piece.text)
        if stripped:
            return stripped[-1], spaced
    return "", spaced


def _strip(out: list[_Piece], chars: str) -> None:
    """Drop `chars` from the end of the output, across pieces."""
    while out:
        piece = out[-1]
        stripped = piece.text.rstrip(chars)
        out[-1] = _Piece(piece.start, piece.start + len(stripped) if piece.kept else piece.end, stripped, piece.kept)
        if stripped:
            return
        out.pop()
