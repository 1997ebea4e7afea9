"""What a removal leaves behind: the text around removed spans, tidied so that it reads as if they had never
been written, and nothing else touched.

- Removed spans with only spaces and punctuation between them go as one: `YAMADA^TARO, 2024-04-01`.
- Brackets left empty go: `CT (YAMADA Taro) chest` -> `CT chest`.
- One space stays between two words: `CT for YAMADA chest` -> `CT for chest`; none before a closing mark:
  `for YAMADA.` -> `for.`
- At the start or the end of the text or a line, the separators left dangling go: `YAMADA, CT chest` ->
  `CT chest`, `CT chest, 2024-04-01` -> `CT chest`; a label's colon stays (`Name:`), since it is a word's.
- Two separators left side by side become one: `CT / YAMADA / chest` -> `CT / chest`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SPACE = " \t\u3000"
_GLUE = re.compile(r"[\s,;:/\-^・、，=_.]*")
_OPEN, _CLOSE = "([{（［｛「『【〈《", ")]}）］｝」』】〉》"
_CLOSING = ",.;:!?、。，．：；！？" + _CLOSE
_SEPARATORS = ",;/|-、，・"
Region = tuple[int, int, str]  # start, end, replacement ("" when removed)


def tidied(text: str, spans: Iterable[Region]) -> str:
    """`text` with each span (in order, not overlapping) replaced, or removed when its replacement is empty."""
    out, position = "", 0
    for start, end, replacement in _regions(text, spans):
        out += text[position:start]
        if replacement:
            out, position = out + replacement, end
        else:
            out, position = _closed(out, text, end)
    return out + text[position:]


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


def _closed(out: str, text: str, end: int) -> tuple[str, int]:
    """The output so far and where the text goes on, once a removal at `end` is tidied."""
    right = end
    while right < len(text) and text[right] in _SPACE:
        right += 1
    left = out.rstrip(_SPACE)
    following = text[right : right + 1]
    if not left or left[-1] in "\n" + _OPEN:  # the start of the text, a line or a bracket
        while right < len(text) and text[right] in _SEPARATORS + _SPACE + ":：":
            right += 1
        return left, right
    if following in ("", "\n"):
        return left.rstrip(_SEPARATORS + _SPACE), right
    if left[-1] in _SEPARATORS and following in _SEPARATORS:
        right += 1
        while right < len(text) and text[right] in _SPACE:
            right += 1
        return out, right
    if following in _CLOSING:
        return left, right
    return (out, right) if len(left) < len(out) else (out, end)
