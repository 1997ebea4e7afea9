"""A series' DICOM JSON objects through a template: what `header_plan` is to Part 10 headers, for metadata.

The objects of one series' metadata share their patient, study, series, equipment and sequences, and differ in a
few attributes (SOP Instance UID, position, instance number, the bulk data URIs). The first object of a series
goes through the full walk and becomes the template's input. For each later one, attributes equal to the
template's (a comparison in C, not a walk) take the template's outgoing attributes, and only the others go
through the walk. What decides an attribute's outcome besides its own value (the context: the identifying
attributes but the SOP Instance UID, the free text names are learned from, the screened values, every sequence,
and any key not written as F.2 writes it) must be equal, or the object goes through the full walk.

As in `header_plan`, the template's outcomes are judged without its SOP Instance UID; an object whose own UID
could be in one of the reused values (as text, anywhere) goes through the full walk instead. Reused attributes
are copied, and the ones the HTTP layer rewrites in place (bulk data URIs, at any depth) or whose bytes would need
looking at (InlineBinary) are walked every time.

tests/adversarial/test_engine_fuzz.py holds the template to the full walk's output on the fail-closed corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gateway.core.dicom import JsonObject
from gateway.core.pseudonyms.model import Needs
from gateway.core.rules.own_identifiers import Matcher, matcher, uid_pieces, value_texts
from gateway.core.rules.pixels import PixelPlan
from gateway.core.rules.scrub import Identifiers

SOP_KEY = "00080018"


def json_context(context: frozenset[int]) -> frozenset[str]:
    """`header_plan.context_tags` as DICOM JSON keys."""
    return frozenset(f"{tag:08X}" for tag in context)


def in_context(key: str, attribute: object, context: frozenset[str]) -> bool:
    """Whether an attribute is part of the context (see above), and so must equal the template's."""
    if key in context or type(attribute) is not dict or not canonical(key):
        return True
    return attribute.get("vr") == "SQ"


def canonical(key: str) -> bool:
    """A key as PS3.18 F.2 writes it: eight upper-case hex digits (a walk writes every key so)."""
    return len(key) == 8 and key.upper() == key


@dataclass
class Template:
    """One series' template: read from its first object; its outcomes made at first use (`out`)."""

    source: JsonObject
    patient: str
    pixels: PixelPlan
    pieces: frozenset[str]  # the template's own identifiers but its SOP Instance UID
    identifiers: Identifiers | None
    guard: Matcher | None
    context: frozenset[str]  # the template's keys that are part of the context
    shared: Matcher | None = None  # `matcher(pieces)`
    out: JsonObject | None = None  # the template's attributes as they go out, judged without its SOP UID
    reusable: frozenset[str] = frozenset()
    reused_text: str = ""  # every text of the reusable outcomes, where an object's own UID is looked for

    def built(self, out: JsonObject) -> None:
        """The template's outcomes: removed attributes and the ones that go out as they are made are reused."""
        self.out = out
        self.reusable = frozenset(key for key in self.source if key not in out or not _rewritten_or_bytes(out[key]))
        self.reused_text = "\0".join(text for key in self.reusable if key in out for text in _texts(out[key]))

    def not_reused(self, obj: JsonObject, same: list[str]) -> JsonObject:
        """The attributes of `obj` equal to the template's that are walked anyway (see `built`)."""
        return {key: obj[key] for key in same if key not in self.reusable}

    def holds(self, pieces: tuple[str, ...]) -> bool:
        """Whether an object's own SOP Instance UID could be in a reused value (the full walk would remove it)."""
        return any(map(self.reused_text.__contains__, pieces))


@dataclass
class CompiledObject:
    """One object matched against its series' template, waiting for its Mappings."""

    template: Template
    source: JsonObject
    same: list[str]  # the keys whose attribute equals the template's
    walked: JsonObject  # the attributes that go through the walk
    needs: Needs
    sop_pieces: tuple[str, ...]


def sop_uid_pieces(attribute: object) -> tuple[str, ...] | None:
    """The SOP Instance UID's pieces as the walk collects them, or None when it is not written as F.2 writes a
    UI attribute (it would leave the scrubber's identifiers incomplete) or a piece is no UID."""
    if attribute is None:
        return ()
    if type(attribute) is not dict or attribute.get("vr") != "UI" or set(attribute) - {"vr", "Value"}:
        return None
    values = attribute.get("Value", [])
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        return None
    return uid_pieces(values)


def matched(template: Template, obj: JsonObject, context: frozenset[str]) -> tuple[list[str], JsonObject] | None:
    """The keys of `obj` equal to the template's, and the attributes to walk; None when the context differs."""
    source, same, walked, seen = template.source, [], {}, 0
    context_keys = template.context
    for key, attribute in obj.items():
        theirs = source.get(key)
        if theirs is not None and (attribute is theirs or attribute == theirs):
            same.append(key)
            seen += key in context_keys
        elif in_context(key, attribute, context):
            return None
        else:
            walked[key] = attribute
    return (same, walked) if seen == len(context_keys) else None


def own_matcher(template: Template, pieces: tuple[str, ...]) -> Matcher | None:
    """The object's own identifiers: the template's shared ones and the object's SOP Instance UID (UID pieces,
    which `matcher` would put with the UIDs)."""
    shared = template.shared
    if shared is None:
        return matcher(set(pieces))
    return shared.with_uids(pieces) if pieces else shared


def _rewritten_or_bytes(attribute: Any) -> bool:
    if not isinstance(attribute, dict):
        return True
    if "BulkDataURI" in attribute or "InlineBinary" in attribute:
        return True
    if attribute.get("vr") == "SQ":
        return any(_rewritten_or_bytes(value) for item in attribute.get("Value", ()) for value in item.values())
    return False


def _texts(attribute: JsonObject) -> Iterator[str]:
    if attribute.get("vr") == "SQ":
        for item in attribute.get("Value", ()):
            for value in item.values():
                yield from _texts(value)
        return
    yield from value_texts(attribute.get("Value"))
