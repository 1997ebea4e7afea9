"""The header work compiled per series: what the engine does to each top-level element, remembered under the
context that decides it, so that the instances of a series cost a scan and a look-up per element.

What the walk does to one top-level element depends on that element's bytes and on a context: the profile, the
transfer syntax, the character set, the patient (pseudonyms, date shift), the instance's own identifiers (what a
kept value is checked against, what free text is scrubbed of) and the screened values (withholding, pixel rules,
the De-identification Method). The instances of a series share that context and differ in a few values (SOP
Instance UID, position, instance number, times). So a plan is keyed by the bytes of every element the context is
read from (`context_tags`, and every sequence, which may hold identifiers at any depth), and remembers, by an
element's bytes, the bytes that go out. An element the plan has not seen is de-identified by the engine's own
walk, alone with the character set, and remembered (bounded).

The SOP Instance UID is the one identifier the instances do not share: a kept value that holds it goes
(`own_identifiers.Matcher`), and the plan's outcomes were judged without it. An instance whose other elements
could hold it (its bytes, or text joined across an ISO 2022 escape) is read by the full engine instead, as is
anything else a plan cannot vouch for (`Engine.compiled` returns None): a profile that keeps private attributes,
elements out of order or repeated, a context that withholds, masks pixels or needs OCR, a header that does not
scan. tests/core/rules/test_header_plan.py holds the plan to the full engine's bytes, on the fail-closed corpus too.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, count, repeat
from operator import is_

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset

from gateway.core.dicom import CHARSET, ISSUER, PATIENT_ID, SERIES_UID, SOP_INSTANCE_UID, STUDY_UID, Uids
from gateway.core.pseudonyms.model import Needs
from gateway.core.rules.dataset import SQ_TAGS
from gateway.core.rules.header import Layout, TopLevel, split_values
from gateway.core.rules.own_identifiers import Matcher, uid_pieces
from gateway.core.rules.scrub import Identifiers
from gateway.core.rules.withhold import SCREEN_TAGS, Header

# Bounded, so that a long-lived process does not grow with its traffic: a tag whose values keep being new (UIDs,
# positions) stops being remembered, and a full plan starts again.
PLANS_MAX = 32
OUTCOMES_MAX = 2048
UNSEEN_MAX = 16
_SEQUENCE_CODES = frozenset({"SQ", "UN"})
Element = RawDataElement | DataElement


def context_tags(source_tags: frozenset[int], learned_tags: frozenset[int]) -> frozenset[int]:
    """The top-level tags whose values make up the context of the others' outcomes; every sequence too."""
    screened = {int(tag, 16) for tag in SCREEN_TAGS.values()}
    return frozenset(
        (source_tags - {SOP_INSTANCE_UID})
        | learned_tags
        | screened
        | SQ_TAGS
        | {CHARSET, PATIENT_ID, ISSUER, STUDY_UID, SERIES_UID}
    )


@dataclass(frozen=True)
class Outcome:
    """One element as it goes out: its bytes (b"" when removed), and the element (for the UIDs and file meta)."""

    data: bytes
    element: Element | None


@dataclass
class Plan:
    """One context's compiled header work."""

    layout: Layout
    patient: str
    real_study: str
    real_series: str
    screened: Header
    own: Matcher | None  # the instance's own identifiers but its SOP Instance UID
    identifiers: Identifiers | None
    guard: Matcher | None
    charset: Element | None
    method: list[tuple[int, bytes]]  # the De-identification Method's elements, encoded
    outcomes: dict[bytes, Outcome] = field(default_factory=dict)
    # The encoded file meta elements before and after the instance UID, by the raw elements they are made of.
    meta_groups: dict[tuple[object, ...], tuple[bytes, bytes]] = field(default_factory=dict)
    unseen: dict[int, int] = field(default_factory=dict)  # by tag, how often a value was new to the plan

    def remember(self, tag: int, data: bytes, outcome: Outcome) -> None:
        """Remember an outcome, unless its tag keeps bringing new values (SOP Instance UID, position): those
        never repeat, and would only push out the ones that do."""
        count = self.unseen[tag] = self.unseen.get(tag, 0) + 1
        if count > UNSEEN_MAX:
            return
        if len(self.outcomes) >= OUTCOMES_MAX:
            self.outcomes = {}
        self.outcomes[data] = outcome


@dataclass
class Compiled:
    """One instance read through a plan, waiting for its Mappings: each element's outcome (None for the ones the
    plan has not seen, at `missing`, which `unseen` holds, read, for the walk)."""

    plan: Plan
    top: TopLevel
    outcomes: list[Outcome | None]
    missing: list[int]
    unseen: Dataset
    file_meta: FileMetaDataset
    needs: Needs
    real: Uids


def context_bytes(top: TopLevel, context: frozenset[int]) -> tuple[bytes, ...] | None:
    """The bytes of the elements the context is read from (each element `in_context`); None for elements out of
    order or repeated."""
    return top.selected(context, _SEQUENCE_CODES) if top.ordered else None


def unknown(outcomes: list[Outcome | None]) -> list[int]:
    """Where `outcomes` holds None."""
    return list(compress(count(), map(is_, outcomes, repeat(None))))


def in_context(tag: int, vr: str | None, context: frozenset[int]) -> bool:
    return tag in context or vr in _SEQUENCE_CODES


def sop_pieces(value: bytes | None) -> tuple[bytes, ...] | None:
    """The SOP Instance UID's pieces as `own_identifiers.collect` cuts them, as bytes; None when one is not
    shaped as a UID (it would be matched as a word, which the plan's shared identifiers do not hold)."""
    pieces = uid_pieces(split_values((value or b"").decode("latin-1")))
    return None if pieces is None else tuple(piece.encode("ascii") for piece in pieces)


def held_elsewhere(top: TopLevel, sop: int | None, pieces: tuple[bytes, ...]) -> bool:
    """Whether an element but the SOP Instance UID's own (at `sop`) could hold that UID: in its bytes, or in text
    an ISO 2022 escape joins. One pass over the scanned elements' bytes, joined, decides for most (a match across
    two of them only costs the look element by element); skipped private elements never go out and do not count.
    The rest are looked at element by element."""
    if sop is None:
        return False
    own = top.datas[sop]
    joined = b"".join(top.datas)
    if b"\x1b" not in joined and all(joined.count(piece) <= own.count(piece) for piece in pieces):
        return False
    for index, data in enumerate(top.datas):  # a vendor's private elements can repeat the UID in every instance
        if b"." in data and index != sop and (b"\x1b" in data or any(map(data.__contains__, pieces))):
            return True
    return False


def body(tags: Sequence[int], pieces: list[bytes], method: list[tuple[int, bytes]]) -> list[bytes]:
    """The data set's elements (`pieces`, b"" for the removed ones, beside their `tags`) with the De-identification
    Method's (`method`, in tag order) in place of any the input had, or inserted in tag order."""
    out = pieces[:]
    for tag, data in reversed(method):  # from the last: an insertion moves only what follows it
        index = bisect_left(tags, tag)
        if index < len(tags) and tags[index] == tag:
            out[index] = data
        else:
            out.insert(index, data)
    return out
