"""The walk over a DICOM JSON object (PS3.18 F.2): a QIDO result or a metadata object.

It makes the same decisions as the Part 10 walk and writes the same values. A new dict is built; the input
is not changed. Kept bulk data keeps its "BulkDataURI" (the HTTP layer rewrites the URL); bulk data of an
attribute that is emptied loses both "InlineBinary" and "BulkDataURI".
"""

from __future__ import annotations

import base64
import logging
import re
from functools import lru_cache
from typing import Any

from gateway.core.dicom import JsonObject, first_text
from gateway.core.pseudonyms.model import IdKind, Needs
from gateway.core.rules.actions import Action
from gateway.core.rules.conformance import TYPE_1, conforms, conforms_text, stated_vr, written_vr
from gateway.core.rules.dataset import BINARY_NUMBER_VRS, DUMMY_CONTEXT_VRS, Path, tag_path
from gateway.core.rules.header import split_values
from gateway.core.rules.own_identifiers import (
    FREE_TEXT_VRS,
    Matcher,
    Texts,
    cleaned_tags,
    collect,
    collect_texts,
    learn_names,
    learned_tags,
    source_tags,
    value_texts,
)
from gateway.core.rules.profile import PSEUDONYM_KIND, CleanMode, Profile
from gateway.core.rules.scrub import IdentifierKind
from gateway.core.rules.values import BULK_VRS, NUMBER_VRS, NonConforming, Rewrite, is_registered_uid
from gateway.errors import MappingMissing, Withheld

log = logging.getLogger("gateway.rules")
_BINARY_VRS = BULK_VRS | BINARY_NUMBER_VRS
_PN_GROUPS = frozenset({"Alphabetic", "Ideographic", "Phonetic"})
_SCALARS = (str, int, float)
_SCALAR_KINDS = frozenset(_SCALARS)
# Kept numbers in JSON are numbers (checked so), and a number of one of these VRs is no text: it holds no name.
_BINARY_NUMBERS = BINARY_NUMBER_VRS - {"AT"}  # an AT is written as hex text
_AT = re.compile(r"[0-9A-Fa-f]{8}")


def _person_name_text(value: object) -> str:
    if isinstance(value, dict):
        return "=".join(str(value.get(part, "")) for part in ("Alphabetic", "Ideographic", "Phonetic"))
    return "" if value is None else str(value)


class JsonWalk:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        # key -> (tag, canonical key, action) for public tags, whose action never depends on the object.
        self._public: dict[str, tuple[int, str, Action]] = {}
        self._source_tags = source_tags(profile.actions)
        self._cleaned_tags = cleaned_tags(profile.actions)
        self._scrubs_private = profile.keeps_private and profile.clean_mode is CleanMode.SCRUB
        self._learned = frozenset(f"{tag:08X}" for tag in learned_tags(profile.actions))
        self._sources = frozenset(f"{tag:08X}" for tag in self._source_tags)  # canonical keys, looked up as they come
        self._source_keys: dict[str, bool] = {}

    def _key(self, obj: JsonObject, key: str) -> tuple[int, str, Action]:
        known = self._public.get(key)
        if known is not None:
            return known
        tag = int(key, 16)
        decided = (tag, f"{tag:08X}", self.decide(obj, tag))
        if not tag >> 16 & 1:
            self._public[key] = decided
        return decided

    def decide(self, obj: JsonObject, tag: int) -> Action:
        if not tag >> 16 & 1:
            return self.profile.action_for(tag)
        element = tag & 0xFFFF
        if not self.profile.keeps_private or element < 0x10 or 0x100 <= element < 0x1000:
            return Action.REMOVE
        if element < 0x100:
            return Action.KEEP  # a private creator: `apply` drops it again unless its block keeps something
        creator = first_text(obj, f"{tag >> 16:04X}00{element >> 8:02X}")
        if not creator:
            return Action.REMOVE
        return self.profile.private_action(tag >> 16, creator, element & 0xFF)

    def _private_vr(self, obj: JsonObject, tag: int) -> str | None:
        """As the Part 10 walk: LO for a creator, else what Table E.3.10-1 lists, if anything."""
        element = tag & 0xFFFF
        if element < 0x100:
            return "LO"
        creator = first_text(obj, f"{tag >> 16:04X}00{element >> 8:02X}")
        return self.profile.private_vr(tag >> 16, creator, element & 0xFF)

    def own_identifiers(self, obj: JsonObject, pieces: set[str], texts: Texts | None = None) -> set[str]:
        """As the Part 10 walk: the values of the attributes that name someone and that this profile does not
        keep, at every depth, looked up by tag."""
        for key, attribute in obj.items():
            if not isinstance(attribute, dict):
                continue
            if texts is not None and key in self._learned:
                _learn_names(attribute, texts)
            if self._is_source(key):
                pieces.update(self._pieces(key, attribute.get("Value")))
                if texts is not None and (tag := int(key, 16)) not in self._cleaned_tags:
                    _add_texts(key, tag, attribute, texts)
            elif attribute.get("vr") == "SQ" and isinstance(values := attribute.get("Value"), list):
                for item in values:
                    if isinstance(item, dict):
                        self.own_identifiers(item, pieces, texts)
        return pieces

    def _is_source(self, key: str) -> bool:
        """Whether an attribute feeds the instance's own identifiers. A key not written as F.2 writes it is
        decided by its tag, as `apply` decides it; answers for F.2 keys are remembered (a bounded set)."""
        known = self._source_keys.get(key)
        if known is None:
            known = key in self._sources or (not _canonical(key) and int(key, 16) in self._source_tags)
            if _canonical(key):
                self._source_keys[key] = known
        return known

    def needs(self, obj: JsonObject, needs: Needs) -> None:
        for key, attribute in obj.items():
            tag, _, action = self._key(obj, key)
            if action in (Action.REMOVE, Action.ZERO):
                continue
            vr = attribute.get("vr")
            values = attribute.get("Value") or []
            if vr == "SQ":
                for item in values:
                    self.needs(item, needs)
            elif action is Action.PSEUDONYM and PSEUDONYM_KIND[tag] is not IdKind.PATIENT:
                for value in values:
                    if value:
                        needs.add(PSEUDONYM_KIND[tag], str(value))
            elif vr == "UI" and action not in (Action.KEEP, Action.PSEUDONYM):
                for value in values:
                    if value and not is_registered_uid(value):
                        needs.add(IdKind.UID, value)

    def apply(self, obj: JsonObject, rewrite: Rewrite, path: Path = (), dummy: bool = False,
              own: Matcher | None = None) -> JsonObject:
        """`dummy`: inside a sequence whose action is D, as in the Part 10 walk."""
        out: JsonObject = {}
        kept_blocks: set[int] = set()
        private = False
        memo = None if dummy else rewrite.attributes
        # What an attribute's way out depends on besides its value: the patient, and the study's identifiers as
        # the own-value check and the scrubber see them.
        names = (rewrite.patient, None if own is None else own.names, rewrite.identifiers)
        for key, attribute in obj.items():
            tag, canonical, action = self._key(obj, key)
            if action is Action.REMOVE:
                continue
            memo_key = None
            if tag >> 16 & 1:
                private = True
                if tag & 0xFFFF >= 0x1000:
                    kept_blocks.add((tag & 0xFFFF0000) | (tag & 0xFFFF) >> 8)
            elif memo is not None and (memo_key := _plain_key(names, key, action, attribute)) is not None:
                hit = memo.get(memo_key)
                if hit is not None and not (hit[1] and own is not None and own.uid_in(hit[1])):
                    out[canonical] = dict(hit[0])
                    continue
            if dummy and action is Action.KEEP and attribute.get("vr") in DUMMY_CONTEXT_VRS:
                action = Action.DUMMY
            try:
                private_vr = self._private_vr(obj, tag) if tag >> 16 & 1 and action is Action.KEEP else None
                if self._scrubs_private and action is Action.KEEP and tag >> 16 & 1 and tag & 0xFFFF >= 0x1000 \
                        and stated_vr(tag, attribute.get("vr"), private_vr) in FREE_TEXT_VRS:
                    action = Action.CLEAN  # as the Part 10 walk: kept private text is scrubbed (UN goes)
                new = self._attribute(tag, attribute, action, rewrite, (*path, tag), dummy, private_vr, own)
            except Withheld:
                raise
            except NonConforming:
                continue  # not the attribute it claims to be, or a value that does not parse: removed

            except MappingMissing as missing:
                raise Withheld(f"mapping-missing-{missing.args[0]} {tag_path((*path, tag))}") from None
            except Exception as error:
                log.warning("unprocessable attribute %s (%s)", tag_path((*path, tag)), type(error).__name__)
                raise Withheld(f"unprocessable {tag_path((*path, tag))}") from None
            if new is not None:
                out[canonical] = new
                if memo_key is not None:
                    memo[memo_key] = (dict(new), _dotted(action, memo_key[4]))  # type: ignore[index]
        if not private:
            return out
        return {
            key: value
            for key, value in out.items()
            if not (int(key[:4], 16) & 1 and int(key[4:], 16) < 0x100) or int(key, 16) in kept_blocks
        }

    def _pieces(self, key: str, values: object) -> tuple[str, ...]:
        """The identifier pieces of one attribute, remembered: a series repeats its names and IDs."""
        if type(values) is list and all(type(value) is str for value in values):
            return _json_pieces(int(key, 16), tuple(values))  # strings are their own text (`value_texts`)
        return _json_pieces(int(key, 16), tuple(value_texts(values)))

    def _kept(self, tag: int, attribute: JsonObject, values: list[Any] | None,
              private_vr: str | None) -> JsonObject | None:
        """`kept_attribute`, remembered for the plain shape {"vr", "Value": [strings and numbers]}: the objects
        of a series repeat most kept values, and checking costs more than looking up."""
        if len(attribute) != 2 or values is None or not all(type(value) in _SCALARS for value in values):
            return kept_attribute(tag, attribute, private_vr)
        kept = _plain_kept(tag, attribute["vr"], private_vr, tuple(values), tuple(map(type, values)))
        return None if kept is None else dict(kept)  # a copy: the caller's object is its own

    def _attribute(self, tag: int, attribute: JsonObject, action: Action, rewrite: Rewrite,
                   path: Path, dummy: bool, private_vr: str | None, own: Matcher | None) -> JsonObject | None:
        encoded = attribute["vr"]
        values = attribute.get("Value")
        if not isinstance(encoded, str) or not (values is None or isinstance(values, list)):
            raise NonConforming()
        stated = stated_vr(tag, encoded)
        if encoded == "SQ":
            if stated is None:
                raise NonConforming()
            if action is Action.ZERO or not values:
                return {"vr": "SQ"}
            dummy = dummy or action is Action.DUMMY
            items = [self.apply(item, rewrite, (*path, index), dummy, own) for index, item in enumerate(values)]
            return {"vr": "SQ", "Value": items}
        if action is Action.KEEP:
            kept = self._kept(tag, attribute, values, private_vr)
            if kept is not None and own is not None and _holds(own, kept):
                kept = None
            if kept is None and len(path) == 1 and tag in TYPE_1:
                raise Withheld(f"non-conforming-type-1 {tag_path(path)}")
            return kept
        if action is Action.CLEAN and (encoded == "UN" or stated is None):
            raise NonConforming()  # cleaning starts from the value: one that is not the attribute's goes (UN too)
        vr = written_vr(tag, stated)
        if vr in _BINARY_VRS:
            if action is Action.CLEAN:  # a bitmap or numbers cannot be cleaned, only removed
                raise NonConforming()
            return _binary(vr, action, path)
        new = rewrite.text(tag, action, vr, _texts(encoded, vr, attribute))
        return _json_attribute(vr, new)


def _learn_names(attribute: JsonObject, texts: Texts) -> None:
    """As the Part 10 walk: the names a free-text attribute gives by their cues, when it is written as text."""
    values = attribute.get("Value")
    if attribute.get("vr") in FREE_TEXT_VRS and isinstance(values, list):
        learn_names([value for value in values if isinstance(value, str)], texts)


def _add_texts(key: str, tag: int, attribute: JsonObject, texts: Texts) -> None:
    """As the Part 10 walk: the values of an identifying attribute for the scrubber, or the texts marked
    incomplete when it is not written as F.2 writes its VR (then the object's free text is blanked). The
    verdict is remembered for the plain shapes ({"vr", "Value"} of strings, or of person-name groups of
    strings): the objects of a study repeat their identifying attributes."""
    values, vr = attribute.get("Value"), attribute.get("vr")
    found: _Found
    if len(attribute) != 2 or type(values) is not list or type(vr) is not str:
        found = _checked_texts(key, tag, attribute)
    elif all(type(value) is str for value in values):
        found = _string_texts(key, tag, vr, tuple(values))
    elif all(type(value) is dict and all(type(text) is str for text in value.values()) for value in values):
        found = _name_texts(key, tag, vr, tuple(tuple(value.items()) for value in values))
    else:
        found = _checked_texts(key, tag, attribute)
    if found is None:
        texts.complete = False
    else:
        texts.values.update(found)


_Found = tuple[tuple[IdentifierKind, str], ...] | None  # an attribute's identifying texts; None: unreadable


@lru_cache(maxsize=65536)
def _string_texts(key: str, tag: int, vr: str, values: tuple[str, ...]) -> _Found:
    return _checked_texts(key, tag, {"vr": vr, "Value": list(values)})


@lru_cache(maxsize=65536)
def _name_texts(key: str, tag: int, vr: str, groups: tuple[tuple[tuple[str, str], ...], ...]) -> _Found:
    return _checked_texts(key, tag, {"vr": vr, "Value": [dict(group) for group in groups]})


def _checked_texts(key: str, tag: int, attribute: JsonObject) -> _Found:
    """The identifying texts of one attribute, or None when it is not written as F.2 writes its VR."""
    vr = written_vr(tag, None)
    values = attribute.get("Value", [])
    shape = dict if vr == "PN" else str
    if (not _canonical(key) or attribute.get("vr") != vr or set(attribute) - {"vr", "Value"}
            or not isinstance(values, list) or not all(isinstance(value, shape) for value in values)):
        return None
    if vr == "PN" and not all(set(v) <= _PN_GROUPS and all(isinstance(t, str) for t in v.values()) for v in values):
        return None
    collected = Texts()
    collect_texts(tag, vr, value_texts(values), collected)
    return tuple(collected.values)


@lru_cache(maxsize=65536)
def _json_pieces(tag: int, texts: tuple[str, ...]) -> tuple[str, ...]:
    collected: set[str] = set()
    collect(written_vr(tag, None), list(texts), collected)
    return tuple(collected)


@lru_cache(maxsize=65536)
def _plain_kept(
    tag: int, vr: str, private_vr: str | None, values: tuple[Any, ...], kinds: tuple[type, ...]
) -> JsonObject | None:
    """`kinds` is part of the key: 1 and 1.0 are equal and hash alike, and an IS must be an int."""
    return kept_attribute(tag, {"vr": vr, "Value": list(values)}, private_vr)


def _plain_key(names: object, key: str, action: Action, attribute: JsonObject) -> tuple[Any, ...] | None:
    """The memo key of an attribute of the plain shape {"vr", "Value": [strings and numbers]}, or None.

    An attribute's way out depends on nothing else of the object, given the patient and the study's
    identifiers (`names`), except the instance's own UIDs, which differ from one instance to the next: a kept
    value is looked at for those on every hit. Private attributes and items of a sequence under D are never
    memoized, since their action depends on the object."""
    values, vr = attribute.get("Value"), attribute.get("vr")
    if len(attribute) != 2 or type(values) is not list or type(vr) is not str:
        return None
    kinds = tuple(map(type, values))
    if not _SCALAR_KINDS.issuperset(kinds):
        return None
    return (names, key, action, vr, tuple(values), kinds)


def _dotted(action: Action, values: tuple[Any, ...]) -> tuple[str, ...]:
    """The kept texts a UID could hide in: the ones looked at again for each instance's own UIDs."""
    return tuple(v for v in values if type(v) is str and "." in v) if action is Action.KEEP else ()


def _canonical(key: str) -> bool:
    return len(key) == 8 and key.upper() == key


def _texts(encoded: str, vr: str, attribute: JsonObject) -> list[str]:
    """The old values in text form; a text attribute that arrived as UN gives its InlineBinary, if ASCII."""
    if "InlineBinary" in attribute or "BulkDataURI" in attribute:
        data = _inline(attribute) if encoded == "UN" else None
        if data is None or not data.isascii():
            raise NonConforming()
        return split_values(data.decode("ascii"))
    values = attribute.get("Value") or []
    return [_person_name_text(value) if vr == "PN" else "" if value is None else str(value) for value in values]


def _holds(own: Matcher, attribute: JsonObject) -> bool:
    """Whether a kept attribute holds one of the instance's own identifiers, in its values or its bytes."""
    if "InlineBinary" in attribute:
        data = _inline(attribute)
        if data is None or own.in_bytes(data):
            return True
    values = attribute.get("Value")
    if not values or attribute["vr"] in _BINARY_NUMBERS:
        return False  # a US or an FD is a number, which the value check already held to its VR
    return any(own.in_text(text) for text in value_texts(values))


def kept_attribute(tag: int, attribute: JsonObject, private_vr: str | None = None) -> JsonObject | None:
    """A kept attribute as it may go out, or None: only the PS3.18 F.2 members, a VR the attribute can have,
    values that conform to it. UN bulk data that conforms to the dictionary's VR is re-encoded with it."""
    encoded = attribute["vr"]
    vr = stated_vr(tag, encoded, private_vr)
    if vr is None:
        return None
    if encoded == "UN":
        data = _inline(attribute)
        if data is None or vr == "UN" or not conforms(vr, data):
            return None
        if vr in _BINARY_VRS:
            return {"vr": vr, "InlineBinary": attribute["InlineBinary"]}
        if not data.isascii():
            return None  # the dataset's character set is not in the JSON: nothing says how to read it
        return _json_attribute(vr, split_values(data.decode("ascii")))
    if vr in _BINARY_VRS:
        return _kept_binary(vr, attribute)
    if "InlineBinary" in attribute or "BulkDataURI" in attribute:
        return None  # text does not come as bytes
    values = attribute.get("Value")
    if values is None:
        return {"vr": vr}
    if not all(_conforming_json_value(vr, value) for value in values):
        return None
    return {"vr": vr, "Value": list(values)}


def _kept_binary(vr: str, attribute: JsonObject) -> JsonObject | None:
    out: JsonObject = {"vr": vr}
    if "InlineBinary" in attribute:
        data = _inline(attribute)
        if data is None or not conforms(vr, data):
            return None
        out["InlineBinary"] = attribute["InlineBinary"]
    if "BulkDataURI" in attribute:
        if not isinstance(attribute["BulkDataURI"], str):
            return None
        out["BulkDataURI"] = attribute["BulkDataURI"]
    values = attribute.get("Value")
    if values is not None:
        if vr not in BINARY_NUMBER_VRS or not all(_conforming_json_value(vr, value) for value in values):
            return None
        out["Value"] = list(values)
    return out


def _inline(attribute: JsonObject) -> bytes | None:
    encoded = attribute.get("InlineBinary")
    if not isinstance(encoded, str) or "BulkDataURI" in attribute:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        return None


def _conforming_json_value(vr: str, value: object) -> bool:
    if value is None:
        return True
    if vr == "PN":
        return isinstance(value, dict) and all(
            key in _PN_GROUPS and isinstance(text, str) and conforms_text("PN", text) for key, text in value.items()
        )
    if vr in NUMBER_VRS and vr not in ("IS", "DS"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if vr == "AT":
        return isinstance(value, str) and _AT.fullmatch(value) is not None
    if vr in ("IS", "DS") and isinstance(value, int | float) and not isinstance(value, bool):
        return vr == "DS" or isinstance(value, int)
    return isinstance(value, str) and conforms_text(vr, value)


def _binary(vr: str, action: Action, path: Path) -> JsonObject:
    if action is Action.ZERO:
        return {"vr": vr}
    if action is Action.DUMMY and vr in BINARY_NUMBER_VRS:
        return {"vr": vr, "Value": [0]}
    raise Withheld(f"no-{action.name.lower()}-for-{vr} {tag_path(path)}")


def _json_attribute(vr: str, values: list[str]) -> JsonObject:
    if not values:
        return {"vr": vr}
    if vr == "PN":
        parts = ("Alphabetic", "Ideographic", "Phonetic")
        return {"vr": vr, "Value": [dict(zip(parts, value.split("="), strict=False)) for value in values]}
    if vr in NUMBER_VRS:
        number = float if vr in ("DS", "FL", "FD") else int
        return {"vr": vr, "Value": [number(value) for value in values]}
    return {"vr": vr, "Value": values}
