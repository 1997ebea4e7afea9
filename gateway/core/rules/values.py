"""New values: dummies valid for each VR, cleaned text, modified dates, capped ages, UIDs and pseudonyms.

Everything here works on the text form of a value, so the Part 10 walk and the DICOM JSON walk write the
same values. Every value written is ASCII, which every DICOM character set (ISO 2022 included) encodes the
same way: kept bytes stay valid in the declared character set, and nothing needs re-encoding.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydicom.uid import UID_dictionary

from gateway.core.pseudonyms.model import IdKind, Mappings
from gateway.core.rules.actions import Action
from gateway.core.rules.conformance import conforms_text
from gateway.core.rules.profile import PSEUDONYM_KIND, DateMode, Profile
from gateway.core.rules.scrub import Identifiers

log = logging.getLogger("gateway.rules")

DUMMY_TEXT: Mapping[str, str] = {
    "AE": "ANONYMOUS",
    "AS": "000D",
    "CS": "ANONYMIZED",
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "DS": "0",
    "IS": "0",
    "LO": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "PN": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "UC": "ANONYMIZED",
    "UT": "ANONYMIZED",
    "UR": "",
}
CLEANED = "CLEANED"  # no NLP: cleaned free text keeps nothing of the original
NUMBER_VRS = frozenset({"DS", "IS", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"})
BULK_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
DATE_VRS = frozenset({"DA", "DT", "TM"})


class NonConforming(Exception):
    """A value the engine must rewrite from does not conform to its VR: the walks remove the element."""


def is_registered_uid(uid: str) -> bool:
    """A UID the standard registers (SOP classes, transfer syntaxes, coding schemes) names no instance."""
    return uid in UID_dictionary


class Guard(Protocol):
    """What a scrubbed value is checked against (`own_identifiers.Matcher`, which imports this module)."""

    def in_text(self, value: str) -> bool: ...

    def in_bytes(self, value: bytes) -> bool: ...


# New element bytes, and DICOM JSON attributes as they go out, by what came in: `Rewrite.memo`, `.attributes`.
ElementMemo = dict[tuple[str, int, str, Action, bytes, Identifiers | None], bytes]
AttributeMemo = dict[tuple[Any, ...], tuple[dict[str, Any], tuple[str, ...]]]


@dataclass
class Rewrite:
    """The context of one patient's instances under one Mappings: the profile, the mappings, the patient.

    `memo` holds new element bytes by (patient, tag, VR, action, old bytes, and the identifiers for scrubbed
    text): the instances of a series repeat most of their values, and every function here is deterministic for
    a given context. The memos are the Engine's, shared by every patient's Rewrite so that one bound holds for
    them all (`Engine._rewrite`); the patient in each key keeps one patient's values from another's.
    """

    profile: Profile
    mappings: Mappings
    patient: str
    memo: ElementMemo = field(default_factory=dict, repr=False)
    attributes: AttributeMemo = field(default_factory=dict, repr=False)  # by `dicom_json._plain_key`
    _shift: int | None = field(default=None, init=False)
    # The instance's own identifiers, for scrubbing free text: set per instance before its walk (`Engine`), like
    # `mappings`; None when the profile blanks instead.
    identifiers: Identifiers | None = field(default=None, init=False, repr=False)
    guard: Guard | None = field(default=None, init=False, repr=False)  # `own_identifiers.scrubbing_of` them

    def text(self, tag: int, action: Action, vr: str, values: list[str]) -> list[str]:
        """New values for a non-sequence, non-bulk attribute whose action is not KEEP or REMOVE."""
        if action is Action.ZERO:
            return []
        if action is Action.PSEUDONYM:
            return self.pseudonym(tag, vr, values)
        if action is Action.REPLACE_UID or vr == "UI":
            return [self.uid(value) for value in values]
        if action is Action.DUMMY:
            return [DUMMY_TEXT.get(vr, "0" if vr in NUMBER_VRS else "")]
        return self.clean(vr, values)

    def clean(self, vr: str, values: list[str]) -> list[str]:
        if vr in DATE_VRS or vr == "AS":
            if not all(conforms_text(vr, value) for value in values):
                raise NonConforming()  # never shifted, cut or passed on: what does not parse goes
            if vr == "AS":
                return [cap_age(value, self.profile.age_cap_years) for value in values]
            return [self.date(vr, value) for value in values]
        if vr in NUMBER_VRS:
            return values
        if self.identifiers is None:
            return [CLEANED] if any(values) else []
        return self.scrubbed(vr, values)

    def scrubbed(self, vr: str, values: list[str]) -> list[str]:
        """Free text without this instance's identifiers and the generic patterns (`scrub`); dates in it follow
        the role's date rule. A result that no longer fits its VR (a shifted date made it longer) goes."""
        assert self.identifiers is not None
        shift = self.shift() if self.profile.date_mode is DateMode.SHIFT else None
        scrub, identifiers = self.profile.scrubber.scrub, self.identifiers
        out = [scrub(value, identifiers, date_shift=shift).text if value else "" for value in values]
        if not all(conforms_text(vr, value) for value in out if value):
            raise NonConforming()
        if self.guard is not None and any(self.guard.in_text(value) for value in out if value):
            raise NonConforming()  # an identifier the scrubber did not take: the value goes whole
        return out if any(out) else []

    def uid(self, real: str) -> str:
        return real if not real or is_registered_uid(real) else self.mappings.get(IdKind.UID, real)

    def pseudonym(self, tag: int, vr: str, values: list[str]) -> list[str]:
        kind = PSEUDONYM_KIND[tag]
        if kind is IdKind.PATIENT:
            pseudonym = self.mappings.get(IdKind.PATIENT, self.patient)
            return [f"{pseudonym}={pseudonym}={pseudonym}" if vr == "PN" else pseudonym]
        return [self.mappings.get(kind, value) if value else "" for value in values]

    def date(self, vr: str, value: str) -> str:
        mode = self.profile.date_mode
        if mode is DateMode.KEEP or not value:
            return value
        if vr == "TM":
            return value if mode is DateMode.SHIFT else "000000"
        if mode is DateMode.YEAR:
            return year_only(vr, value)
        if mode is DateMode.SHIFT:
            return shift_date(value, self.shift())
        return DUMMY_TEXT[vr]

    def shift(self) -> int:
        if self._shift is None:
            self._shift = self.mappings.date_shift(self.patient)
        return self._shift


def year_only(vr: str, value: str) -> str:
    year = value.strip()[:4]
    if not year.isdigit():
        log.info("unparsable %s value emptied", vr)
        return ""
    return f"{year}0101" if vr == "DA" else f"{year}0101000000"


def shift_date(value: str, days: int) -> str:
    """Shift the date part of a DA or DT by `days`, keeping the precision and the rest of a DT."""
    text = value.strip()
    digits = text[:8]
    padded = digits + "0101"[len(digits) - 4 :] if len(digits) in (4, 6) else digits
    try:
        shifted = datetime.date(int(padded[:4]), int(padded[4:6]), int(padded[6:8]))
        shifted += datetime.timedelta(days=days)
    except (ValueError, OverflowError):
        log.info("unparsable date emptied")
        return ""
    return f"{shifted.year:04d}{shifted.month:02d}{shifted.day:02d}"[: len(digits)] + text[8:]


def cap_age(value: str, cap: int | None) -> str:
    """An Age String of `cap` years or more becomes the cap (HIPAA: ages over 89 become 090Y)."""
    text = value.strip()
    if cap is None or len(text) != 4 or not text[:3].isdigit():
        return "" if cap is not None and text else text
    return f"{cap:03d}Y" if text[3] == "Y" and int(text[:3]) >= cap else text
