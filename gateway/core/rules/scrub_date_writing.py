"""A new date written in the form a date of the text was written in: a shifted date, or its year alone.

The fields of the match are substituted in place, so separators, padding, month-name style, full-width digits
and the era notation stay as they were, and a weekday is recomputed rather than left to betray the shift.
"""

from __future__ import annotations

import datetime
import re

from gateway.core.rules.scrub_dates import ERAS, JA_WEEKDAYS, MONTHS, ORDERED, WEEKDAYS, FoundDate, Precision

_FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def written(date: FoundDate, original: str, new: datetime.date) -> str | None:
    """`new` in the form `date` was written in, or None when the form cannot carry it (before 大正, past 9999).
    Only for an unambiguous date: its one order says whether `a` is the day or the month."""
    match = date.match
    if date.orders and new.day <= 12:
        return None  # 4/13/2024 shifted to 3/4/2024 would read as a date in April too
    fields = dict(zip(ORDERED, date.orders[0], strict=False)) if date.orders else {}
    numbers = [text for name, text in match.groupdict().items() if text and name in ("a", "b", "m", "d")]
    pad = any(text.startswith("0") for text in numbers) or all(len(text) == 2 for text in numbers)
    values: dict[str, str] = {}
    for name, text in match.groupdict().items():
        if text is None or name == "s":
            continue
        value = _field(fields.get(name, name), text, new, pad)
        if value is None:
            return None
        values[name] = value
    return _substituted(match, original, values)


def _field(field: str, text: str, new: datetime.date, pad: bool) -> str | None:
    """One field of `new` written as `text` was; `pad` says whether the text pads its day and month (04)."""
    if field == "y":
        return f"{new.year:04d}" if new.year <= 9999 else None
    if field in ("m", "d"):
        number = new.month if field == "m" else new.day
        return f"{number:02d}" if pad else str(number)
    if field == "mon":
        name = MONTHS[new.month - 1]
        return _cased(name if text.lower() in MONTHS else name[:3], text)
    if field == "ord":
        suffix = "th" if 10 <= new.day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(new.day % 10, "th")
        return _cased(suffix, text)
    if field == "wd":
        if text in JA_WEEKDAYS:
            return JA_WEEKDAYS[new.weekday()]
        name = WEEKDAYS[new.weekday()]
        return _cased(name if text.lower() in WEEKDAYS else name[:3], text)
    era = next((era for era in ERAS if new >= era[2]), None)
    if era is None:
        return None
    if field == "era":
        return era[0] if len(text) == 2 else _cased(era[1], text)
    year = new.year - era[2].year + 1
    return "元" if text == "元" and year == 1 else f"{year:02d}" if text.startswith("0") else str(year)


def _cased(word: str, like: str) -> str:
    if like.isupper():
        return word.upper()
    return word.capitalize() if like[:1].isupper() else word.lower()


def _substituted(match: re.Match[str], original: str, values: dict[str, str]) -> str:
    """The matched text with each field replaced, digits written back full-width where they were."""
    out, position = [], match.start()
    for name in sorted(values, key=match.start):
        start, end = match.span(name)
        value = values[name]
        if any("０" <= c <= "９" for c in original[start:end]):
            value = value.translate(_FULL_WIDTH_DIGITS)
        out += [original[position:start], value]
        position = end
    out.append(original[position : match.end()])
    return "".join(out)


def year_of(date: FoundDate, original: str) -> str | None:
    """The year alone, as the text writes it (2024, 令和6年, R6), or None when the text does not say it."""
    years = {reading.year for reading in date.readings}
    match = date.match
    if date.form.precision is Precision.YEARLESS or len(years) != 1 or match.groupdict().get("yy"):
        return None
    name = "ey" if match.groupdict().get("era") else "y"
    start = match.start("era") if name == "ey" else match.start("y")
    end = match.end(name)
    if original[end : end + 1] == "年":
        end += 1
    return original[start:end]
