"""Re-identification of what a store-permitted role sends back (STOW-RS): every pseudonym back to its real value.

An AI service works on pseudonymized studies and returns results (SEG, SR, secondary captures) that carry the
pseudonyms it was shown. Before such an instance may reach the origin it must name the real patient, the real
study and the real images it was derived from. The work comes in phases, like the engine's:

    collect(ds)                 -> Claims: every pseudonymous value the instance holds (no I/O)
    the shell                   -> the scope's reverse maps, one store round trip per kind
    reverse(claims, maps, ...)  -> StorePlan or Refusal: forged pseudonyms are refused here
    the shell                   -> the real study's patient and the patients owning every reference (QIDO)
    check_patient(plan, ...)    -> Refusal when the instance mixes patients
    the shell                   -> the patient's date shift; the instance's own new UIDs recorded as identities
    apply(ds, plan, ...)        -> the header rewritten in place, ready for `Engine.write_header`

A UID the scope never issued is the service's own (its SOPInstanceUID, SeriesInstanceUID, ...): it is kept and
recorded as an identity mapping, so the service later sees it unchanged. A UID in a reference position
(ReferencedSOPInstanceUID, StudyInstanceUID, a nested SeriesInstanceUID) must name something that exists, so it
must be a value of record; anything else is a forged pseudonym. Refusal reasons are a short code and a tag, never
a value.

Every date the profile would have shifted is shifted back, whether the service copied it or wrote it: the gateway
cannot tell the two apart, and shifting all of them is what lets the service read back what it wrote.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydicom.charset import encode_string
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pydicom.valuerep import PersonName

from gateway.core.dicom import (
    ACCESSION,
    BIRTH_DATE,
    CHARSET,
    ISSUER,
    MEDIA_STORAGE_SOP_INSTANCE_UID,
    PATIENT_ID,
    PATIENT_NAME,
    REFERENCED_SOP_INSTANCE_UID,
    SERIES_UID,
    SEX,
    SOP_INSTANCE_UID,
    STUDY_ID,
    STUDY_UID,
    patient_key,
)
from gateway.core.pseudonyms.model import IdKind
from gateway.core.rules.actions import Action
from gateway.core.rules.dataset import DatasetWalk, is_sequence, sequence_items, vr_of
from gateway.core.rules.header import META, Layout, character_set, layout_for, text_of, text_value
from gateway.core.rules.profile import DateMode, Profile
from gateway.core.rules.values import is_registered_uid, shift_date
from gateway.errors import Withheld

_TEXT_KINDS = {ACCESSION: IdKind.ACCESSION, STUDY_ID: IdKind.STUDY_ID}
_TYPE_2 = frozenset({PATIENT_NAME, PATIENT_ID})  # kept empty when the origin has no value
_UTF8_SAFE = frozenset({"", "ISO_IR 6", "ISO_IR 192"})  # charsets whose text stays valid when UTF-8 is declared

# FailureReason values (PS3.18 Table I.2-2).
PROCESSING_FAILURE = 0x0110
DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000


class Level(StrEnum):
    """The QIDO level (and path word) at which a referenced UID names something."""

    STUDY = "studies"
    SERIES = "series"
    INSTANCE = "instances"


LEVEL_TAGS = {Level.STUDY: STUDY_UID, Level.SERIES: SERIES_UID, Level.INSTANCE: SOP_INSTANCE_UID}


@dataclass(frozen=True)
class Refusal:
    code: int  # FailureReason
    reason: str  # a short code and a tag, never a value


@dataclass(frozen=True)
class Claims:
    """The pseudonymous values of one instance, as the service sent them."""

    study: str
    instance: str
    series: str
    patient: str  # PatientID as sent ("" when empty)
    uids: frozenset[str]  # every UID that is not a registered one, at any depth and in the file meta
    references: Mapping[Level, frozenset[str]]  # UIDs that must name existing objects
    texts: Mapping[IdKind, frozenset[str]]  # AccessionNumber and StudyID values

    def kinds(self) -> dict[IdKind, set[str]]:
        """What to ask the reverse maps for, one round trip per kind."""
        wanted = {IdKind.UID: set(self.uids), IdKind.PATIENT: {self.patient} - {""}}
        wanted.update({kind: set(values) for kind, values in self.texts.items()})
        return {kind: values for kind, values in wanted.items() if values}


@dataclass(frozen=True)
class RealPatient:
    """The real study's patient, as the origin holds it."""

    name: str
    patient_id: str
    issuer: str
    birth_date: str
    sex: str

    @property
    def key(self) -> str:
        return patient_key(self.patient_id, self.issuer or None)


@dataclass
class StorePlan:
    """Everything `apply` needs, decided before a single byte of the instance goes out."""

    uids: dict[str, str]  # sent -> real, identity for the service's own new UIDs
    new_uids: set[str]  # to record as identity mappings
    texts: dict[IdKind, dict[str, str]]
    real_study: str
    owned: dict[Level, set[str]] = field(default_factory=dict)  # real UIDs whose patient the origin must confirm
    named_patient: str | None = None  # the real patient key the sent PatientID stands for


# -- collect --------------------------------------------------------------------------------------------
def collect(ds: Dataset) -> Claims:
    uids: set[str] = set()
    references: dict[Level, set[str]] = {level: set() for level in Level}
    texts: dict[IdKind, set[str]] = {}
    for item, tag, vr, depth in _elements(ds):
        if vr == "UI":
            values = [v for v in text_of(item, tag) if v and not is_registered_uid(v)]
            uids.update(values)
            level = _reference_level(tag, depth)
            if level is not None:
                references[level].update(values)
        elif depth == 0 and tag in _TEXT_KINDS:
            texts.setdefault(_TEXT_KINDS[tag], set()).update(v for v in text_of(item, tag) if v)
    uids.update(v for v in text_of(ds.file_meta, MEDIA_STORAGE_SOP_INSTANCE_UID) if v)
    return Claims(
        study=_top(ds, STUDY_UID),
        instance=_top(ds, SOP_INSTANCE_UID),
        series=_top(ds, SERIES_UID),
        patient=_top(ds, PATIENT_ID),
        uids=frozenset(uids),
        references={level: frozenset(values) for level, values in references.items()},
        texts={kind: frozenset(values) for kind, values in texts.items() if values},
    )


def _reference_level(tag: int, depth: int) -> Level | None:
    if tag == REFERENCED_SOP_INSTANCE_UID:
        return Level.INSTANCE
    if tag == STUDY_UID:
        return Level.STUDY
    # At the top, SeriesInstanceUID is the service's own series; nested, it points at a series that exists.
    return Level.SERIES if tag == SERIES_UID and depth > 0 else None


def _top(ds: Dataset, tag: int) -> str:
    return "".join(text_of(ds, tag))


def _elements(ds: Dataset, depth: int = 0) -> Iterator[tuple[Dataset, BaseTag, str, int]]:
    """Every non-sequence element at any depth, with its VR and depth."""
    for tag, element in list(ds._dict.items()):
        if is_sequence(tag, element):
            for item in sequence_items(ds, tag, element, character_set(ds)):
                yield from _elements(item, depth + 1)
        else:
            yield ds, tag, vr_of(tag, element), depth


# -- reverse --------------------------------------------------------------------------------------------
def reverse(
    claims: Claims, maps: Mapping[IdKind, Mapping[str, str]], path_study: str | None = None
) -> StorePlan | Refusal:
    """Map the claims back through the scope's reverse maps (pseudonym -> real); refuse what was never issued."""
    known = maps.get(IdKind.UID, {})
    if not claims.study or not claims.instance:
        return Refusal(DOES_NOT_MATCH, "missing-uid (0020,000D)/(0008,0018)")
    if path_study is not None and claims.study != path_study:
        return Refusal(PROCESSING_FAILURE, "study-mismatch (0020,000D)")
    for level, values in claims.references.items():
        if any(value not in known for value in values):
            return Refusal(PROCESSING_FAILURE, f"pseudonym-not-issued {_tag(LEVEL_TAGS[level], level)}")
    if known.get(claims.instance, claims.instance) != claims.instance:
        return Refusal(PROCESSING_FAILURE, "existing-instance (0008,0018)")  # never overwrite a real image
    patient_real = maps.get(IdKind.PATIENT, {}).get(claims.patient) if claims.patient else None
    if claims.patient and patient_real is None:
        return Refusal(PROCESSING_FAILURE, "pseudonym-not-issued (0010,0020)")
    texts: dict[IdKind, dict[str, str]] = {}
    for kind, values in claims.texts.items():
        reals = maps.get(kind, {})
        if any(value not in reals for value in values):
            return Refusal(PROCESSING_FAILURE, f"pseudonym-not-issued ({kind.value})")
        texts[kind] = {value: reals[value] for value in values}
    uids = {uid: known.get(uid, uid) for uid in claims.uids}
    owned = {level: {uids[uid] for uid in values} for level, values in claims.references.items()}
    for level, own in ((Level.SERIES, claims.series), (Level.INSTANCE, claims.instance)):
        if own in known:  # a series or instance of record: the origin may hold it under some patient
            owned[level].add(known[own])
    return StorePlan(uids, set(claims.uids) - set(known), texts, uids[claims.study], owned, patient_real)


def _tag(tag: int, level: Level) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})" if level is not Level.INSTANCE else "(0008,1155)"


def check_patient(plan: StorePlan, study: RealPatient | None, owners: Mapping[str, str]) -> Refusal | None:
    """The instance must name one real patient: its study's. `owners` maps real UIDs to their patient keys."""
    if study is None:
        return Refusal(PROCESSING_FAILURE, "study-not-found (0020,000D)")
    if plan.named_patient is not None and plan.named_patient != study.key:
        return Refusal(DOES_NOT_MATCH, "mixed-patients (0010,0020)")
    for level, reals in plan.owned.items():
        if any(uid in owners and owners[uid] != study.key for uid in reals):
            return Refusal(DOES_NOT_MATCH, f"mixed-patients {_tag(LEVEL_TAGS[level], level)}")
    return None


# -- apply ----------------------------------------------------------------------------------------------
def apply(ds: Dataset, plan: StorePlan, patient: RealPatient, shift: int | None, profile: Profile) -> None:
    """Rewrite `ds` in place with the real values. `shift` is the patient's date shift (None: no shifting)."""
    layout = layout_for("".join(text_of(ds.file_meta, 0x00020010)))
    walk = DatasetWalk(profile)
    shift = shift if profile.date_mode is DateMode.SHIFT else None
    for item, tag, vr, depth in _elements(ds):
        if vr == "UI":
            values = [plan.uids.get(v, v) for v in text_of(item, tag)]
            item._dict[tag] = layout.raw(tag, vr, text_value(values, vr))
        elif vr in ("DA", "DT") and shift is not None and walk.decide(item, tag) is Action.CLEAN:
            values = [shift_date(v, -shift) if v else v for v in text_of(item, tag)]
            item._dict[tag] = layout.raw(tag, vr, text_value(values, vr))
        elif depth == 0 and tag in _TEXT_KINDS:
            values = [plan.texts[_TEXT_KINDS[tag]].get(v, v) for v in text_of(item, tag)]
            item._dict[tag] = layout.raw(tag, vr, text_value(values, vr))
    meta = ds.file_meta
    if MEDIA_STORAGE_SOP_INSTANCE_UID in meta._dict:
        values = [plan.uids.get(v, v) for v in text_of(meta, MEDIA_STORAGE_SOP_INSTANCE_UID)]
        meta._dict[BaseTag(MEDIA_STORAGE_SOP_INSTANCE_UID)] = META.raw(
            MEDIA_STORAGE_SOP_INSTANCE_UID, "UI", text_value(values, "UI")
        )
    _restore_patient(ds, patient, layout)


def _restore_patient(ds: Dataset, patient: RealPatient, layout: Layout) -> None:
    """The real study's patient module, whatever the service sent in its place."""
    for tag, vr, value in (
        (PATIENT_NAME, "PN", patient.name),
        (PATIENT_ID, "LO", patient.patient_id),
        (ISSUER, "LO", patient.issuer),
        (BIRTH_DATE, "DA", patient.birth_date),
        (SEX, "CS", patient.sex),
    ):
        if value:
            ds._dict[BaseTag(tag)] = layout.raw(tag, vr, _encoded(ds, value, vr, layout))
        elif tag in _TYPE_2:
            ds._dict[BaseTag(tag)] = layout.raw(tag, vr, b"")
        else:
            ds._dict.pop(BaseTag(tag), None)


def _encoded(ds: Dataset, value: str, vr: str, layout: Layout) -> bytes:
    """Real text in the instance's character set; UTF-8 is declared when the set allows it."""
    if value.isascii():
        return text_value([value], vr)
    charsets = text_of(ds, CHARSET)
    if "\\".join(charsets) in _UTF8_SAFE:
        ds._dict[BaseTag(CHARSET)] = layout.raw(CHARSET, "CS", text_value(["ISO_IR 192"], "CS"))
        encoded = value.encode("utf-8")
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # pydicom warns and substitutes '?' where it cannot encode
                encodings = character_set(ds)
                encoded = PersonName(value).encode(encodings) if vr == "PN" else encode_string(value, encodings)
        except (UnicodeError, ValueError, LookupError, UserWarning):
            raise Withheld("unencodable-real-value (0010,0010)") from None
    return encoded + b" " * (len(encoded) % 2)
