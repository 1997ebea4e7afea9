"""How a person's name can be written in free text, from the Person Name value the instance carries.

A PN value has up to three component groups (alphabetic, ideographic, phonetic: YAMADA^TARO=山田^太郎=やまだ^たろう),
each with family, given and middle names (the prefix and suffix, Dr or Jr, identify no one). From each group:

- every part of two characters or more alone, as a word (YAMADA2024 holds it, AYAMADA does not), in any
  case, accents optional (García, GARCIA as Garcia is not
  looked for: the accent may be dropped, not added);
- the whole name in either order, with or without a space, `^`, `・` or a comma between the parts (山田太郎,
  TARO YAMADA, Yamada^Taro), which is how a one-character part (林, 誠, or a stored initial) is found at all;
- phonetic parts in hiragana, katakana and half-width katakana, whichever the value used;
- a Japanese honorific after the name (様, さん, 先生...), which would make no sense left alone.

Initials (T. Yamada, Yamada T) are found by `initials`: an upper-case letter that starts a part of the same
name, next to a part found above. A run of initials alone (TY, T.Y.) is never matched: two capitals are
everywhere in clinical text (CT, MR, AX, TR), and a one-letter part alone would take every such letter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

LATIN = "A-Za-z0-9\u00c0-\u024f"
LETTERS = "A-Za-z\u00c0-\u024f"  # a name stands as a word among letters; a digit makes no other word of it
_NAME_CHAR = re.compile(f"[{LETTERS}'.-]")
_NOT_AFTER = f"(?![{LETTERS}])"
_HONORIFIC_REQUIRED = r"\s?(?:様|さま|さん|氏|殿|君|くん|ちゃん|先生)"
_HONORIFIC = r"(?:\s?(?:様|さま|さん|氏|殿|君|くん|ちゃん|先生|-san|-sama|-sensei))?"
_BETWEEN = r"[\s^・,]*"
_PART_SPLIT = re.compile(r"[\s,.]+")
_HALF_WIDTH = {unicodedata.normalize("NFKC", chr(code)): chr(code) for code in range(0xFF61, 0xFFA0)}


def is_latin(text: str) -> bool:
    return all(c.isascii() or "\u00c0" <= c <= "\u024f" for c in text)


def name_alternatives(value: str) -> list[str]:
    """Regular expressions, longest first, for every way `value` (a raw PN) may be written in text."""
    alternatives: set[str] = set()
    for group in value.split("="):
        parts = [part for component in group.split("^")[:3] for part in _PART_SPLIT.split(component) if part]
        for script in _scripts(parts):
            alternatives.update(_forms(script))
    return sorted(alternatives, key=len, reverse=True)


def initials(values: Iterable[str]) -> str:
    """The upper-case initials of every Latin part of the names in `values` (for `T. Yamada`)."""
    letters = {part[0].upper() for value in values for group in value.split("=")
               for component in group.split("^")[:3] for part in _PART_SPLIT.split(component)
               if part and is_latin(part) and part[0].isalpha()}
    return "".join(sorted(letters))


def _scripts(parts: list[str]) -> Iterator[list[str]]:
    """The parts as written, and in the other kana scripts when they are kana."""
    yield parts
    if parts and all(_is_kana(part) for part in parts):
        katakana = [_katakana(part) for part in parts]
        yield katakana
        yield [_hiragana(part) for part in parts]
        half = [_half_width(part) for part in katakana]
        if all(half):
            yield [part for part in half if part]


def _forms(parts: list[str]) -> Iterator[str]:
    if not parts:
        return
    for part in parts:
        if len(part) >= 2:
            yield _bounded(_literal(part), part)
            yield from _mended(part)
        elif not is_latin(part):
            yield f"{_literal(part)}{_HONORIFIC_REQUIRED}"  # 林様: one character alone is in too many words
    if len(parts) >= 2:
        family, given = _literal(parts[0]), _BETWEEN.join(_literal(part) for part in parts[1:])
        text = "".join(parts)
        yield _bounded(f"{family}{_BETWEEN}{given}", text)
        yield _bounded(f"{given}{_BETWEEN}{family}", text)


def _mended(part: str) -> Iterator[str]:
    """A Latin part with a character no name has (Whit!ker: a byte the origin or the wire corrupted) also
    matches with any letter there, since the text may still spell the name whole. Only such characters are
    opened up: one letter wild in every name would take Grand for Grant."""
    odd = [index for index, char in enumerate(part) if not (_NAME_CHAR.match(char))]
    if not odd or len(odd) > 2 or len(part) - len(odd) < 3:
        return
    chars = [_literal(char) for char in part]
    for index in odd:
        chars[index] = f"[{LETTERS}]"
    yield _bounded("".join(chars), part)


def _bounded(pattern: str, text: str) -> str:
    """Latin names stand as words; Japanese has no spaces to stand between, so its names are found anywhere."""
    if is_latin(text):
        return f"{word_start(pattern, f'[{LETTERS}]')}{_NOT_AFTER}{_HONORIFIC}"
    return f"{pattern}{_HONORIFIC}"


def word_start(pattern: str, before: str) -> str:
    """`pattern`, not preceded by `before` (a character class), checked after its first character: a pattern
    that starts with a literal lets the regular-expression engine skip to where a match can begin."""
    cut = pattern.index("]", 2) + 1 if pattern.startswith("[") else 2 if pattern.startswith("\\") else 1
    return f"{pattern[:cut]}(?<!{before}.){pattern[cut:]}"


def _literal(part: str) -> str:
    """The part as a pattern; an accented letter also matches its base letter (Fernández, Fernandez)."""
    out = []
    for char in part:
        base = unicodedata.normalize("NFD", char)[0]
        out.append(f"[{re.escape(char)}{base}]" if base != char and base.isascii() else re.escape(char))
    return "".join(out)


def _is_kana(text: str) -> bool:
    return all("\u3041" <= c <= "\u30ff" or "\uff66" <= c <= "\uff9f" for c in text)


def _katakana(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)  # half-width katakana to full width, with its voicing marks
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


def _hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in _katakana(text))


def _half_width(katakana: str) -> str | None:
    out = [_HALF_WIDTH.get(c) for c in unicodedata.normalize("NFD", katakana)]
    return "".join(c for c in out if c) if all(out) else None
