"""The walk over a DICOM JSON object (PS3.18 F.2): a QIDO result or a metadata object.

It makes the same decisions as the Part 10 walk and writes the same values. A new dict is built; the input
is not changed. Kept bulk data keeps its "BulkDataURI" (the HTTP layer rewrites the URL); bulk data of an
attribute that is emptied loses both "InlineBinary" and "BulkDataURI".
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.cache.model import IdKind, MappingMissing, Needs
from gateway.errors import Withheld
from gateway.rules.actions import Action
from gateway.rules.dataset import BINARY_NUMBER_VRS, DUMMY_CONTEXT_VRS, Path, tag_path
from gateway.rules.profile import PSEUDONYM_KIND, Profile
from gateway.rules.values import BULK_VRS, NUMBER_VRS, Rewrite, is_registered_uid

log = logging.getLogger("gateway.rules")
JsonObject = dict[str, Any]
_BINARY_VRS = BULK_VRS | BINARY_NUMBER_VRS


def first_text(obj: JsonObject, key: str) -> str:
    values = obj.get(key, {}).get("Value") or [""]
    return "" if values[0] is None else str(values[0]).strip()


def _person_name_text(value: object) -> str:
    if isinstance(value, dict):
        return "=".join(str(value.get(part, "")) for part in ("Alphabetic", "Ideographic", "Phonetic"))
    return "" if value is None else str(value)


class JsonWalk:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        # key -> (tag, canonical key, action) for public tags, whose action never depends on the object.
        self._public: dict[str, tuple[int, str, Action]] = {}

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

    def apply(self, obj: JsonObject, rewrite: Rewrite, path: Path = (), dummy: bool = False) -> JsonObject:
        """`dummy`: inside a sequence whose action is D, as in the Part 10 walk."""
        out: JsonObject = {}
        kept_blocks: set[int] = set()
        private = False
        for key, attribute in obj.items():
            tag, canonical, action = self._key(obj, key)
            if action is Action.REMOVE:
                continue
            if tag >> 16 & 1:
                private = True
                if tag & 0xFFFF >= 0x1000:
                    kept_blocks.add((tag & 0xFFFF0000) | (tag & 0xFFFF) >> 8)
            if dummy and action is Action.KEEP and attribute.get("vr") in DUMMY_CONTEXT_VRS:
                action = Action.DUMMY
            try:
                out[canonical] = self._attribute(tag, attribute, action, rewrite, (*path, tag), dummy)
            except Withheld:
                raise
            except MappingMissing as missing:
                raise Withheld(f"mapping-missing-{missing.args[0]} {tag_path((*path, tag))}") from None
            except Exception as error:
                log.warning("unprocessable attribute %s (%s)", tag_path((*path, tag)), type(error).__name__)
                raise Withheld(f"unprocessable {tag_path((*path, tag))}") from None
        if not private:
            return out
        return {
            key: value
            for key, value in out.items()
            if not (int(key[:4], 16) & 1 and int(key[4:], 16) < 0x100) or int(key, 16) in kept_blocks
        }

    def _attribute(self, tag: int, attribute: JsonObject, action: Action, rewrite: Rewrite,
                   path: Path, dummy: bool) -> JsonObject:
        vr = attribute["vr"]
        values = attribute.get("Value")
        if vr == "SQ":
            if action is Action.ZERO or not values:
                return {"vr": "SQ"}
            dummy = dummy or action is Action.DUMMY
            items = [self.apply(item, rewrite, (*path, index), dummy) for index, item in enumerate(values)]
            return {"vr": "SQ", "Value": items}
        if action is Action.KEEP or (action is Action.CLEAN and vr in _BINARY_VRS):
            return dict(attribute)
        if vr in _BINARY_VRS:
            return _binary(vr, action, path)
        texts = [_person_name_text(value) if vr == "PN" else "" if value is None else str(value)
                 for value in values or []]
        new = rewrite.text(tag, action, vr, texts)
        return _json_attribute(vr, new)


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
