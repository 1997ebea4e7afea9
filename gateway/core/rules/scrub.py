"""Free text, scrubbed: identifying spans removed and everything else kept, spacing and punctuation included
(PS3.15 Clean Descriptors and Clean Structured Content ask for as much of the rest as possible to stay).

What goes, in this precedence where two spans overlap:

- own-name, own-id, own-place, own-date: this instance's own identifiers (`scrub_own`, `scrub_names`), which
  no allow-list keeps;
- deny: the role's deny-list (terms, and `/regular expressions/`);
- name, date, phone, email, url, postal, id-like: generic patterns (names next to a cue in `scrub_cued_names`,
  `scrub_dates`, `scrub_patterns`), which the role's allow-list keeps where an allowed match covers them.

A name, own or cued, takes the Title Case words beside it and any word joined to it by ^ (`beside_a_name`).

Dates follow the role's date rule. `keep`: they stay, as the instance's dates do. `remove`: they go. `year`:
a date becomes its year as the text writes it (2024, 令和6年), which Safe Harbor keeps; a date whose year is
unsure (01/04/24) or absent (4月1日) goes. `shift`: a date is written shifted by the patient's `date_shift`,
in its own form (2024/4/1 -> 2024/2/21, 令和6年4月1日(月) -> 令和6年2月21日(水)), only when that is safe:

- the text says one day: 01/04/2024 (January or April), 01/04/24 (which century, which order), April 2024 and
  4月1日 (a shift cannot move a month without its day, nor a day without its year) are removed;
- the shifted text reads as one day too: D/M/Y or M/D/Y is shifted only onto a day after the 12th, since
  4/13/2024 written as 3/4/2024 would also read as 3 April;
- a weekday next to the date is recomputed, since a kept weekday would give the shift away modulo 7.

The instance's own dates are shifted like any other, with the same per-patient shift as its DA values: a
shifted date in a description then says what the shifted StudyDate already says, and the intervals in a
report survive, which is what Retain Longitudinal Temporal Information with Modified Dates is for. Removing
them instead would be safe too, but would keep less for no gain. Under `shift` without a shift, dates go.

Cost: the compiled patterns of a set of identifiers are shared by every instance that carries it (`_STUDIES`),
the generic findings of a text by every patient (`_GENERIC`), and each set remembers its last results
(`_TEXTS`): the instances of a study repeat their descriptions, so most calls are a memo hit.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.core.recent import Recent
from gateway.core.rules.schema import DateWord
from gateway.core.rules.scrub_cued_names import beside_a_name, cued_names
from gateway.core.rules.scrub_date_writing import written, year_of
from gateway.core.rules.scrub_dates import FoundDate, Precision, find_dates
from gateway.core.rules.scrub_own import IdentifierKind, Identifiers, OwnPatterns, kind_of
from gateway.core.rules.scrub_patterns import PRECEDENCE, Category, Found, fold, generic, term_pattern
from gateway.core.rules.scrub_tidy import tidied

__all__ = ["Category", "IdentifierKind", "Identifiers", "Scrubbed", "Scrubber", "Span", "kind_of"]

_STUDIES = 256  # sets of identifiers, about one per study in flight
_TEXTS = 256  # results per set of identifiers
_GENERIC = 4096  # generic findings per text, across patients: series descriptions repeat everywhere
_PASSES = 4  # scrubbing the tidied text again: one more pass is rare, two are for hostile text
_RANK = {category: rank for rank, category in enumerate(PRECEDENCE)}


@dataclass(frozen=True)
class Span:
    """A span of the original text that was identifying, and what stands there now ("" when removed)."""

    start: int
    end: int
    category: Category
    replacement: str = ""


@dataclass(frozen=True)
class Scrubbed:
    text: str
    spans: tuple[Span, ...]  # in the original text, in order, never overlapping


@dataclass(frozen=True)
class _Generic:
    """What a text holds whoever it is about: its dates, its other patterns, and what the allow-list covers."""

    dates: tuple[FoundDate, ...]
    found: tuple[Found, ...]
    allowed: tuple[tuple[int, int], ...]

    def keeps(self, start: int, end: int) -> bool:
        return any(low <= start and end <= high for low, high in self.allowed)


@dataclass
class _Study:
    patterns: OwnPatterns
    memo: Recent[tuple[str, int | None], Scrubbed] = field(default_factory=lambda: Recent(_TEXTS))


class Scrubber:
    """The scrubber of one role profile: its deny- and allow-lists and its date rule, compiled once."""

    def __init__(self, deny: Iterable[str] = (), allow: Iterable[str] = (), *, dates: DateWord = "remove") -> None:
        self.deny = tuple(map(term_pattern, deny))
        self.allow = tuple(map(term_pattern, allow))
        self.dates = dates
        self._studies: Recent[frozenset[tuple[IdentifierKind, str]], _Study] = Recent(_STUDIES)
        self._generic: Recent[str, _Generic] = Recent(_GENERIC)

    def scrub(self, text: str, identifiers: Identifiers, *, date_shift: int | None = None) -> Scrubbed:
        """`text` without its identifying spans. `date_shift` is the patient's shift in days, under `shift`."""
        study = self._study(identifiers)
        key = (text, date_shift)
        scrubbed = study.memo.get(key)
        if scrubbed is None:
            scrubbed = self._scrubbed(text, study.patterns, date_shift)
            study.memo.put(key, scrubbed)
        return scrubbed

    def _study(self, identifiers: Identifiers) -> _Study:
        study = self._studies.get(identifiers.key)
        if study is None:
            study = _Study(OwnPatterns(identifiers.key))
            self._studies.put(identifiers.key, study)
        return study

    def _scrubbed(self, text: str, own: OwnPatterns, date_shift: int | None) -> Scrubbed:
        """Removal can bring identifiers together (山[…]田, 0048 […] 2913): the tidied text is scrubbed again,
        and what it holds is removed from the original, until nothing more is found."""
        spans = self._found(text, own, date_shift)
        for _ in range(_PASSES):
            tidy = tidied(text, ((span.start, span.end, span.replacement) for span in spans))
            if not tidy.removed:
                return Scrubbed(tidy.text, spans)
            brought = [Span(*where, span.category) for span in self._found(tidy.text, own, date_shift)
                       if (where := tidy.original(span.start, span.end))]
            if not brought:
                return Scrubbed(tidy.text, spans)
            spans = _resolved([*spans, *brought])
        return Scrubbed("", (Span(0, len(text), spans[0].category),))  # still finding: nothing of it goes out

    def _found(self, text: str, own: OwnPatterns, date_shift: int | None) -> tuple[Span, ...]:
        folded = fold(text)
        found = self._generic_in(folded)
        spans = [_span(folded, f, Category.OWN_NAME) for f in own.find(folded)]
        spans += [Span(*m.span(), Category.DENY) for pattern in self.deny for m in pattern.finditer(folded)
                  if m.end() > m.start()]
        spans += [_span(folded, f, Category.NAME) for f in found.found if not found.keeps(f.start, f.end)]
        spans += [span for date in found.dates if (span := self._date(date, text, own, found, date_shift))]
        return _resolved(spans)

    def _generic_in(self, folded: str) -> _Generic:
        found = self._generic.get(folded)
        if found is None:
            allowed = tuple(m.span() for pattern in self.allow for m in pattern.finditer(folded))
            found = _Generic(tuple(find_dates(folded)), (*generic(folded), *cued_names(folded)), allowed)
            self._generic.put(folded, found)
        return found

    def _date(self, date: FoundDate, text: str, own: OwnPatterns, found: _Generic,
              date_shift: int | None) -> Span | None:
        mine = bool(own.dates) and date.same_day(own.dates)
        if self.dates == "keep" or (not mine and (date.form.own_only or found.keeps(date.start, date.end))):
            return None
        category = Category.OWN_DATE if mine else Category.DATE
        return Span(date.start, date.end, category, self._new_date(date, text, date_shift) or "")

    def _new_date(self, date: FoundDate, text: str, date_shift: int | None) -> str | None:
        if self.dates == "year":
            return year_of(date, text)
        if self.dates != "shift" or date_shift is None or date.form.precision is not Precision.DAY:
            return None
        if not date.unambiguous:
            return None
        return written(date, text, date.readings[0] + datetime.timedelta(days=date_shift))


def _span(folded: str, found: Found, names: Category) -> Span:
    """A finding as a span; one of the category `names` takes the words that belong to the name."""
    where = beside_a_name(folded, found.start, found.end) if found.category is names else (found.start, found.end)
    return Span(*where, found.category)


def _resolved(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Overlapping spans as one, of the category that comes first; a span inside a stronger one goes with it.
    A union is removed, never replaced: a shifted date that shares text with an ID is no date to write."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda span: (span.start, -span.end, _RANK[span.category])):
        last = out[-1] if out else None
        if last is None or span.start >= last.end:
            out.append(span)
        elif span.end > last.end or _RANK[span.category] < _RANK[last.category]:
            category = min(last.category, span.category, key=_RANK.__getitem__)
            out[-1] = Span(last.start, max(last.end, span.end), category)
    return tuple(out)
