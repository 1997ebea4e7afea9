"""Dates written in free text: every form the scrubber recognises, and what each can mean.

A form is a regular expression with named fields (`y` year, `era` and `ey` a Japanese era and its year, `m`
month, `mon` month name, `d` day, `ord` ordinal suffix, `wd` weekday, `a` and `b` the two leading numbers of
D/M/Y or M/D/Y). A match yields every date it can mean (`readings`): one when the form is unambiguous, two for
01/04/2024, none when nothing valid (31/02/2024 is no date, and stays). `scrub_date_writing` writes another
date in the same form.

Text is matched after `scrub_patterns.fold`, which maps full-width forms to ASCII one character for one, so
spans are those of the original text.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
JA_WEEKDAYS = "月火水木金土日"
# 令和 R 2019-05-01, 平成 H 1989-01-08, 昭和 S 1926-12-25, 大正 T 1912-07-30: newest first, to find a date's era.
ERAS = (("令和", "R", datetime.date(2019, 5, 1)), ("平成", "H", datetime.date(1989, 1, 8)),
        ("昭和", "S", datetime.date(1926, 12, 25)), ("大正", "T", datetime.date(1912, 7, 30)))

_MON = r"(?P<mon>" + "|".join(sorted([*(m.capitalize() for m in MONTHS), "Sept",
                                       *(m[:3].capitalize() for m in MONTHS)], key=len, reverse=True)) + r")"
_MON_CASED = "(?P<mon>(?-i:" + "|".join(sorted([*(m.capitalize() for m in MONTHS), *(m.upper() for m in MONTHS),
                                                *(m[:3].capitalize() for m in MONTHS),
                                                *(m[:3].upper() for m in MONTHS)], key=len, reverse=True)) + "))"
_WD = (r"(?:(?P<wd>" + "|".join(sorted([*WEEKDAYS, "tues", "thurs", "thur", *(w[:3] for w in WEEKDAYS)],
                                       key=len, reverse=True)) + r")\.?,?\s+)?")
_JA_WD = r"(?:\s*\((?P<wd>[月火水木金土日])(?:曜日?)?\))?"
_Y4 = r"(?P<y>(?:19|20)\d\d)"
_ERA = r"(?P<era>令和|平成|昭和|大正)\s*(?P<ey>\d{1,2}|元)"
_ORD = r"(?P<ord>st|nd|rd|th)?"
_NOT_LATIN = r"(?<![A-Za-z0-9])"


class Precision(Enum):
    DAY = "day"
    MONTH = "month"  # April 2024, 2024年4月
    YEARLESS = "yearless"  # April 1, 4月1日: the year is read as 2000, which has every day


# What a text must hold for a form to be worth trying: most texts have none of them.
_NUMERIC = re.compile(r"\d[-/.]\d")
_COMPACT = re.compile(r"\d{8}")
_KANJI = re.compile(r"[年月]")
_MONTH_NAME = re.compile(r"(?<![a-z])(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)
_NEEDS = (_NUMERIC, _COMPACT, _KANJI, _MONTH_NAME)
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class DateForm:
    pattern: re.Pattern[str]
    needs: re.Pattern[str]
    precision: Precision = Precision.DAY
    own_only: bool = False  # 4/1: a date only when it is one of the instance's own (else a ratio, a level...)
    orders: tuple[tuple[str, ...], ...] = ()  # what the fields a, b (and yy) may stand for, in every reading


def _form(needs: re.Pattern[str], pattern: str, precision: Precision = Precision.DAY, *,
          own_only: bool = False, orders: tuple[tuple[str, ...], ...] = ()) -> DateForm:
    return DateForm(re.compile(pattern, re.IGNORECASE), needs, precision, own_only, orders)


_DM_MD = (("d", "m"), ("m", "d"))
_ANY_YY = (("d", "m", "yy"), ("m", "d", "yy"), ("yy", "m", "d"))  # 01/04/24 in Europe, the US and Japan
ORDERED = ("a", "b", "yy")


_YMD_NUMERIC = _Y4 + r"(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})"
_JA_YMD = r"\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日" + _JA_WD
_JA_YM = r"\s*年\s*(?P<m>\d{1,2})\s*月(?!\s*\d)"
_DAY_MONTH = r"(?P<d>\d{1,2})" + _ORD + r"[\s-]+(?:of\s+)?" + _MON + r"(?![a-z])\.?[\s,-]+"
_MONTH_DAY = _MON + r"(?![a-z])\.?\s+(?P<d>\d{1,2})" + _ORD + r",?\s+"

FORMS = (
    _form(_NUMERIC, r"(?<!\d)" + _YMD_NUMERIC + r"(?!\d)"),  # 2024-04-01, 2024/4/1, 2024.04.01
    _form(_COMPACT, r"(?<!\d)" + _Y4 + r"(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])"  # 20240401, and a DT
          r"(?:\d{4}(?:\d\d(?:\.\d{1,6})?)?)?(?!\d)"),
    _form(_NUMERIC, r"(?<![\d/.-])(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)" + _Y4 + r"(?!\d)",
          orders=_DM_MD),  # 01/04/2024
    _form(_NUMERIC, r"(?<![\d/.-])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<yy>\d\d)(?![\d/])", orders=_ANY_YY),  # 01/04/24
    _form(_KANJI, _Y4 + _JA_YMD),  # 2024年4月1日(月)
    _form(_KANJI, _ERA + _JA_YMD),  # 令和6年4月1日
    _form(_NUMERIC, _NOT_LATIN + r"(?P<era>[RHS])\.?\s?(?P<ey>\d{1,2})(?P<s>[./-])(?P<m>\d{1,2})(?P=s)"
          r"(?P<d>\d{1,2})(?!\d)"),  # R6.4.1, H31/4/15
    _form(_MONTH_NAME, _NOT_LATIN + _WD + _DAY_MONTH + _Y4 + r"(?!\d)"),  # Monday 1st of April, 2024; 01-APR-2024
    _form(_MONTH_NAME, _NOT_LATIN + _WD + _MONTH_DAY + _Y4 + r"(?!\d)"),  # April 1, 2024
    _form(_MONTH_NAME, _NOT_LATIN + _MON + r"(?![a-z])\.?,?\s+" + _Y4 + r"(?!\d)", Precision.MONTH),  # April 2024
    _form(_KANJI, _Y4 + _JA_YM, Precision.MONTH),  # 2024年4月
    _form(_KANJI, _ERA + _JA_YM, Precision.MONTH),  # 令和6年4月
    _form(_NUMERIC, r"(?<![\d/])(?P<m>0?[1-9]|1[0-2])/" + _Y4 + r"(?![\d/])", Precision.MONTH),  # 04/2024
    # Without a year, a month name is a date only in title or upper case: "may 1" is as likely a verb.
    _form(_MONTH_NAME, _NOT_LATIN + _MON_CASED + r"(?![a-z])\.?\s+(?P<d>\d{1,2})" + _ORD + r"(?![\d:]|\.\d)",
          Precision.YEARLESS),  # April 1
    _form(_MONTH_NAME, _NOT_LATIN + r"(?P<d>\d{1,2})" + _ORD + r"\s+" + _MON_CASED + r"(?![a-z])",
          Precision.YEARLESS),  # 1 April
    _form(_KANJI, r"(?<![\d年])(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日" + _JA_WD, Precision.YEARLESS),  # 4月1日
    _form(_NUMERIC, r"(?<![\d/.-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\d/])", Precision.YEARLESS, own_only=True,
          orders=_DM_MD),  # 4/1
)


@dataclass(frozen=True)
class FoundDate:
    """A date in the text, and every date it can mean; `orders` are the orders of a, b (and yy) that give one."""

    start: int
    end: int
    form: DateForm
    readings: tuple[datetime.date, ...]
    match: re.Match[str]
    orders: tuple[tuple[str, ...], ...] = ()

    @property
    def unambiguous(self) -> bool:
        return len(self.readings) == 1 and len(self.orders) <= 1

    def same_day(self, dates: frozenset[datetime.date]) -> bool:
        """Whether any reading is one of `dates`, to the precision the text gives."""
        precision = self.form.precision
        for reading in self.readings:
            for date in dates:
                if (reading.month == date.month and (precision is Precision.MONTH or reading.day == date.day)
                        and (precision is Precision.YEARLESS or reading.year == date.year)):
                    return True
        return False


def find_dates(folded: str) -> list[FoundDate]:
    """Every date in `folded` text, longest first where two forms overlap (H31/4/15 is not 31/4/15)."""
    if not _DIGIT.search(folded):
        return []
    present = {needs for needs in _NEEDS if needs.search(folded)}
    forms = [form for form in FORMS if form.needs in present]
    found = sorted((date for form in forms for date in _matches(form, folded)),
                   key=lambda date: (date.start, date.start - date.end))
    kept: list[FoundDate] = []
    for date in found:
        if not kept or date.start >= kept[-1].end:
            kept.append(date)
    return kept


def _matches(form: DateForm, folded: str) -> Iterator[FoundDate]:
    for match in form.pattern.finditer(folded):
        fields = match.groupdict()
        readings: list[datetime.date] = []
        valid: list[tuple[str, ...]] = []
        for order in form.orders or ((),):
            values = {name: text for name, text in fields.items() if name not in ORDERED}
            values.update({field: fields[name] for name, field in zip(ORDERED, order, strict=False)})
            for date in _dates(values, form.precision):
                if date not in readings:
                    readings.append(date)
                if order and order not in valid:
                    valid.append(order)
        if readings:
            yield FoundDate(match.start(), match.end(), form, tuple(readings), match, tuple(valid))


def _dates(fields: dict[str, str | None], precision: Precision) -> Iterator[datetime.date]:
    month = _month(fields)
    day = int(fields.get("d") or 1) if precision is not Precision.MONTH else 1
    for year in _years(fields, precision):
        try:
            yield datetime.date(year, month, day)
        except ValueError:
            continue


def _years(fields: dict[str, str | None], precision: Precision) -> tuple[int, ...]:
    if precision is Precision.YEARLESS:
        return (2000,)
    if fields.get("yy") is not None:
        return (1900 + int(fields["yy"] or 0), 2000 + int(fields["yy"] or 0))
    if fields.get("era"):
        ey = fields["ey"] or ""
        return (_era(fields["era"] or "")[2].year + (1 if ey == "元" else int(ey)) - 1,)
    return (int(fields["y"] or 0),)


def _month(fields: dict[str, str | None]) -> int:
    name = fields.get("mon")
    if name:
        return next(index for index, month in enumerate(MONTHS, 1) if month.startswith(name.lower()))
    return int(fields.get("m") or 0)


def _era(name: str) -> tuple[str, str, datetime.date]:
    return next(era for era in ERAS if name in (era[0], era[1], era[1].lower()))
