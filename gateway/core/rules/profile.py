"""Role profiles: YAML files in conf/roles/, compiled once into frozen `Profile` objects.

A profile gives every tag exactly one action at compile time (see `actions.py` for the precedence), so the
engine only looks actions up. The role name is the file stem. Every error names the file, the key and the
reason.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import yaml
from pydantic import ValidationError
from pydicom.datadict import DicomDictionary, keyword_for_tag, tag_for_keyword
from pydicom.uid import UID_dictionary

from gateway.core.dicom import GRAPHIC_ANNOTATIONS, PATIENT_AGE
from gateway.core.pseudonyms.model import IdKind, PseudonymScheme, ScopeSpec
from gateway.core.rules import annex_e_table
from gateway.core.rules.actions import Action, Option, compile_table, keyword_tags
from gateway.core.rules.burned_text import OcrRule
from gateway.core.rules.face_volume import FaceVolumeRule
from gateway.core.rules.pixels import PixelRule, Region
from gateway.core.rules.retained import DEFAULT_KEEP_VRS, unlisted_action
from gateway.core.rules.schema import ProfileModel
from gateway.core.rules.scrub import Scrubber
from gateway.errors import ConfigError

PSEUDONYM_KIND: Mapping[int, IdKind] = {
    0x00100020: IdKind.PATIENT,  # PatientID
    0x00100010: IdKind.PATIENT,  # PatientName
    0x00080050: IdKind.ACCESSION,
    0x00200010: IdKind.STUDY_ID,
}
CLEANABLE_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "SQ", "ST", "TM", "UC", "UT"})
_BITMAP_PATTERNS = frozenset({"50xx,xxxx", "60xx,3000"})
_WORDS = {
    "remove": Action.REMOVE,
    "zero": Action.ZERO,
    "dummy": Action.DUMMY,
    "keep": Action.KEEP,
    "clean": Action.CLEAN,
    "replace-uid": Action.REPLACE_UID,
}
_TAG_KEY = re.compile(r"^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)$")
_PRIVATE_KEY = re.compile(r"^\(([0-9A-Fa-f]{4}),xx([0-9A-Fa-f]{2})\)\s+(\S.*)$")
_ROLE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_SOP_CLASS_BY_KEYWORD = {entry[4]: uid for uid, entry in UID_dictionary.items() if entry[4]}
PrivateKey = tuple[int, str, int]  # group, creator, low byte of the element
SAFE_PRIVATE_VRS: Mapping[PrivateKey, str] = MappingProxyType(
    {(group, creator, low): vr for group, creator, low, vr in annex_e_table.SAFE_PRIVATE if vr}
)


class DateMode(StrEnum):
    KEEP = "keep"
    SHIFT = "shift"
    YEAR = "year"
    REMOVE = "remove"


class CleanMode(StrEnum):
    SCRUB = "scrub"  # identifying spans go, the rest of the text stays (scrub.py)
    BLANK = "blank"  # the whole text becomes a constant


@dataclass(frozen=True)
class Withholding:
    modalities: frozenset[str] = frozenset()
    burned_in_risk_modalities: frozenset[str] = frozenset()
    burned_in_annotation: bool = False
    sop_classes: frozenset[str] = frozenset()
    face_volumes: FaceVolumeRule | None = None  # None: head volumes are not withheld as such
    ocr: OcrRule | None = None  # None: burned-in text is not read


@dataclass(frozen=True)
class Profile:
    name: str
    version: str  # short sha256 of the canonical profile content and the table edition
    identity: bool  # True for clinician: no de-identification at all
    permissions: frozenset[str]
    scope: ScopeSpec | None  # None when identity
    options: frozenset[Option] = frozenset()
    date_mode: DateMode = DateMode.REMOVE
    uid_mode: str = "replace"
    age_cap_years: int | None = None
    withhold: Withholding = Withholding()
    pixel_rules: tuple[PixelRule, ...] = ()
    actions: Mapping[int, Action] = field(default_factory=dict, repr=False)
    patterns: Mapping[str, Action] = field(default_factory=dict, repr=False)
    private: Mapping[PrivateKey, Action] = field(default_factory=dict, repr=False)
    keep_vrs: frozenset[str] = DEFAULT_KEEP_VRS
    clean_mode: CleanMode = CleanMode.SCRUB
    scrubber: Scrubber = field(default_factory=Scrubber, compare=False, repr=False)

    def action_for(self, tag: int) -> Action:
        """The final action for a public tag at any depth (private tags: see `private_action`)."""
        if self.identity:
            return Action.KEEP
        action = self.actions.get(tag)
        return action if action is not None else self._repeating(tag)

    def private_action(self, group: int, creator: str, low: int) -> Action:
        if self.identity:
            return Action.KEEP
        return self.private.get((group, creator, low), Action.REMOVE)

    @staticmethod
    def private_vr(group: int, creator: str, low: int) -> str | None:
        """The VR Table E.3.10-1 gives a safe private attribute: what a value sent as UN must conform to."""
        return SAFE_PRIVATE_VRS.get((group, creator, low))

    @property
    def keeps_private(self) -> bool:
        return bool(self.private)

    def _repeating(self, tag: int) -> Action:
        group, element = tag >> 16, tag & 0xFFFF
        if group & 1 or element == 0 or not (0x5000 <= group <= 0x501E or 0x6000 <= group <= 0x601E):
            return Action.REMOVE
        if group <= 0x501E:
            return self.patterns["50xx,xxxx"]
        if element in (0x3000, 0x4000):
            return self.patterns[f"60xx,{element:04X}"]
        # The rest of an overlay group goes with its data.
        if self.patterns["60xx,3000"] is Action.REMOVE:
            return Action.REMOVE
        keyword = keyword_for_tag(tag)
        return unlisted_action(keyword, "US", self.keep_vrs) if keyword else Action.REMOVE


def load_profiles(roles_dir: pathlib.Path) -> dict[str, Profile]:
    """Compile every `<role>.yaml` in `roles_dir`. All of them compile, or a ConfigError says why."""
    files = sorted(roles_dir.glob("*.yaml"))
    if not files:
        raise ConfigError(str(roles_dir), "", "no role profiles (*.yaml) found")
    profiles = {}
    for path in files:
        if not _ROLE_NAME.match(path.stem):
            raise ConfigError(path.name, "", "a role name is lowercase letters, digits and '-'")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise ConfigError(path.name, "", f"unreadable YAML ({type(error).__name__})") from None
        if not isinstance(data, Mapping):
            raise ConfigError(path.name, "", "a profile is a YAML mapping")
        profiles[path.stem] = compile_profile(path.stem, data, source=path.name)
    return profiles


def compile_profile(name: str, data: Mapping[str, object], *, source: str) -> Profile:
    try:
        model = ProfileModel.model_validate(dict(data))
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(profile)"
        raise ConfigError(source, key, first["msg"]) from None
    version = _version(model)
    if model.identity:
        return Profile(name, version, True, frozenset(model.permissions), None)
    assert model.scope is not None  # checked by the schema
    options = frozenset(model.options)
    date_mode = DateMode(model.date_mode())
    uid_mode = model.uids or ("keep" if Option.RETAIN_UIDS in options else "replace")
    keep_vrs = frozenset(model.keep_unlisted_vrs) if model.keep_unlisted_vrs is not None else DEFAULT_KEEP_VRS
    concrete, patterns = compile_table(options)
    actions = _all_tags(concrete, keep_vrs)
    _adjust(actions, date_mode, uid_mode)
    private = _private(options)
    _apply_overrides(model.overrides, actions, private, source)
    patterns = _clean_or_remove(actions, patterns)
    if model.age_cap_years is not None and actions[PATIENT_AGE] is Action.KEEP:
        actions[PATIENT_AGE] = Action.CLEAN  # the cap is how this profile cleans an age
    scheme = PseudonymScheme(**model.scope.pseudonym.model_dump())
    return Profile(
        name=name,
        version=version,
        identity=False,
        permissions=frozenset(model.permissions),
        scope=ScopeSpec(model.scope.name or name, model.scope.reversible, scheme),
        options=options,
        date_mode=date_mode,
        uid_mode=uid_mode,
        age_cap_years=model.age_cap_years,
        withhold=_withholding(model, source),
        pixel_rules=tuple(
            _pixel_rule(rule.match.model_dump(exclude_none=True), rule.regions) for rule in model.pixel_rules
        ),
        actions=MappingProxyType(actions),
        patterns=MappingProxyType(patterns),
        private=MappingProxyType(private),
        keep_vrs=keep_vrs,
        clean_mode=CleanMode(model.clean),
        scrubber=Scrubber(model.scrub.deny, model.scrub.allow, dates=model.date_mode()),
    )


def _version(model: ProfileModel) -> str:
    canonical = json.dumps(model.model_dump(mode="json"), sort_keys=True) + annex_e_table.EDITION
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _all_tags(concrete: Mapping[int, Action], keep_vrs: frozenset[str]) -> dict[int, Action]:
    actions = {
        tag: unlisted_action(entry[4], entry[0], keep_vrs, retired=entry[3] == "Retired")
        for tag, entry in DicomDictionary.items()
        if tag & 0xFFFF and tag >> 16 not in (0x0000, 0xFFFA, 0xFFFC)
    }
    actions.update(concrete)
    return actions


def _adjust(actions: dict[int, Action], date_mode: DateMode, uid_mode: str) -> None:
    """Rules of the profile that refine the table, before the overrides."""
    if uid_mode == "keep":
        actions.update({tag: Action.KEEP for tag, action in actions.items() if action is Action.REPLACE_UID})
    else:
        # U keeps a registered UID as it is and replaces any other: what K on a UID must mean here.
        actions.update(
            {tag: Action.REPLACE_UID for tag, action in actions.items() if action is Action.KEEP and _vr(tag) == "UI"}
        )
    if date_mode is DateMode.YEAR:
        # Safe Harbor keeps the year: a date that must be present becomes YYYY0101 rather than empty.
        for tag, action in actions.items():
            if action in (Action.ZERO, Action.DUMMY) and _vr(tag) in ("DA", "DT"):
                actions[tag] = Action.CLEAN
    for tag in PSEUDONYM_KIND:
        if actions[tag] in (Action.ZERO, Action.DUMMY, Action.CLEAN):
            actions[tag] = Action.PSEUDONYM


def _clean_or_remove(actions: dict[int, Action], patterns: Mapping[str, Action]) -> dict[str, Action]:
    """C where the engine can really clean (text, dates, ages, the items of a sequence); X everywhere else.

    Clean Graphics asks for overlays, curves and graphic annotations to be cleaned of identifying marks. The
    engine cannot read a bitmap or a polyline, so they are removed rather than kept as they came."""
    for tag, action in actions.items():
        if action is Action.CLEAN and (_vr(tag) not in CLEANABLE_VRS or tag == GRAPHIC_ANNOTATIONS):
            actions[tag] = Action.REMOVE
    return {
        key: Action.REMOVE if key in _BITMAP_PATTERNS and action is Action.CLEAN else action
        for key, action in patterns.items()
    }


def _vr(tag: int) -> str:
    entry = DicomDictionary.get(tag)
    return entry[0] if entry else ""


def _private(options: frozenset[Option]) -> dict[PrivateKey, Action]:
    if Option.RETAIN_SAFE_PRIVATE not in options:
        return {}
    return {(group, creator, low): Action.KEEP for group, creator, low, _vr in annex_e_table.SAFE_PRIVATE}


def _apply_overrides(
    overrides: Mapping[str, str], actions: dict[int, Action], private: dict[PrivateKey, Action], source: str
) -> None:
    known = keyword_tags()
    for key, word in overrides.items():
        where = f"overrides.{key}"
        if match := _PRIVATE_KEY.match(key):
            group = int(match[1], 16)
            if not group & 1:
                raise ConfigError(source, where, "a private override needs an odd group")
            private[(group, match[3].strip(), int(match[2], 16))] = _WORDS[word]
            continue
        tag = int(match[1] + match[2], 16) if (match := _TAG_KEY.match(key)) else None
        tag = tag if tag is not None else tag_for_keyword(key) or known.get(key)
        if tag is None:
            raise ConfigError(source, where, "not a keyword, a tag '(gggg,eeee)' or '(gggg,xxee) CREATOR'")
        if tag >> 16 & 1:
            raise ConfigError(source, where, "override a private attribute by '(gggg,xxee) CREATOR'")
        actions[tag] = _WORDS[word]


def _withholding(model: ProfileModel, source: str) -> Withholding:
    classes = set()
    for index, value in enumerate(model.withhold.sop_classes):
        uid = value if value[:1].isdigit() else _SOP_CLASS_BY_KEYWORD.get(value)
        if uid is None:
            raise ConfigError(source, f"withhold.sop_classes.{index}", "not a SOP Class UID or keyword")
        classes.add(uid)
    return Withholding(
        modalities=frozenset(model.withhold.modalities),
        burned_in_risk_modalities=frozenset(model.withhold.burned_in_risk_modalities),
        burned_in_annotation=model.withhold.burned_in_annotation,
        sop_classes=frozenset(classes),
        face_volumes=_face_volumes(model),
        ocr=_ocr(model),
    )


def _ocr(model: ProfileModel) -> OcrRule | None:
    """What OCR looks for is what the role's scrubber looks for, dates always removed: a burned-in date cannot be
    shifted, nor kept."""
    ocr = model.withhold.ocr
    if ocr is None:
        return None
    return OcrRule(
        modalities=frozenset(ocr.modalities),
        languages=tuple(ocr.languages),
        timeout_s=ocr.timeout_s,
        on_text=ocr.on_text,
        max_words=ocr.max_words,
        scrubber=Scrubber(model.scrub.deny, model.scrub.allow, dates="remove"),
    )


def _face_volumes(model: ProfileModel) -> FaceVolumeRule | None:
    if not model.withhold.face_volumes:
        return None
    rule = model.withhold.face_volume
    return FaceVolumeRule(rule.min_slices, rule.max_slice_mm, tuple(rule.defaced_markers))


def _pixel_rule(match: Mapping[str, str | int], regions: list[tuple[int, int, int, int]]) -> PixelRule:
    return PixelRule(MappingProxyType(dict(match)), tuple(Region(*region) for region in regions))
