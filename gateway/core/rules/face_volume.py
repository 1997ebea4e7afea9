"""Whether a CT or MR series could be rendered into a face: a head, enough thin slices, and not marked defaced.

A surface rendering of a thin-slice head volume shows a recognisable face, whatever the header says. A series is
judged once, as a whole, from facts about every one of its instances (the web layer gathers them from the origin,
`gateway.web.handlers.face_volumes`), and the verdict names a reason code and the tag that made it a head, never
a value. What cannot be judged is withheld.

A series is a head when any of these says so (named lists, kept small):

- Body Part Examined (0018,0015) is one of `HEAD_BODY_PARTS` (PS3.16 Annex L terms of the head);
- an Anatomic Region Sequence (0008,2218) item has a code of `HEAD_CODES` (CID 4031, SNOMED CT and the older SRT
  values) or a code meaning with a word of `HEAD_WORDS`;
- the study (0008,1030) or series description (0008,103E) holds a word of `HEAD_WORDS`.

It is a volume when the frames of its instances whose Slice Thickness (0018,0050) is at most `max_slice_mm`, or
not given (an Enhanced MR gives it per frame, out of reach here: unknown counts as thin), number `min_slices` or
more. It is defaced when every instance carries a `defaced_markers` term in its series description, an Image Type
(0008,0008) value or its De-identification Method (0012,0063).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from gateway.core.recent import Recent
from gateway.core.rules.scrub_patterns import fold, term_pattern
from gateway.errors import Withheld

VOLUME_MODALITIES = frozenset({"CT", "MR"})
HEAD_BODY_PARTS = frozenset({"HEAD", "BRAIN", "SKULL", "HEADNECK", "FACE", "ORBIT", "SINUS", "JAW", "MAXILLA",
                             "MANDIBLE", "TMJ"})  # fmt: skip
HEAD_CODES = frozenset({
    "69536005", "12738006", "89546000", "774007", "89545001", "363654007", "2095001", "661005", "91609006",
    "70925003", "53620006",  # head, brain, skull, head and neck, face, orbit, sinus, jaw, mandible, maxilla, TMJ
    "T-D1100", "T-A0100", "T-11100", "T-D1000", "T-D1200",  # SRT: head, brain, skull, head and neck, face
})  # fmt: skip
# A Latin word matches as the start of a word (neuroradiology, T1_brain, HEADNECK), any case; Japanese as written.
HEAD_WORDS = ("head", "brain", "skull", "cranial", "neuro", "頭部", "頭頸部", "脳")
_HEAD_TEXT = re.compile("|".join(rf"(?<![a-z]){word}" if word.isascii() else word for word in HEAD_WORDS), re.I)

BODY_PART = "00180015"
SLICE_THICKNESS = "00180050"
STUDY_DESCRIPTION = "00081030"
SERIES_DESCRIPTION = "0008103E"
IMAGE_TYPE = "00080008"
DEIDENTIFICATION_METHOD = "00120063"
NUMBER_OF_FRAMES = "00280008"
ANATOMIC_REGION = "00082218"
MODALITY = "00080060"
# What a series' instance list must carry to be judged (asked of the origin as includefields).
INSTANCE_FIELDS = (MODALITY, BODY_PART, SLICE_THICKNESS, STUDY_DESCRIPTION, SERIES_DESCRIPTION, IMAGE_TYPE,
                   DEIDENTIFICATION_METHOD, NUMBER_OF_FRAMES)  # fmt: skip
_NESTING = 4  # how deep an Anatomic Region Sequence is looked for (Enhanced MR: shared groups > frame anatomy)


@dataclass(frozen=True)
class FaceVolumeRule:
    min_slices: int = 20
    max_slice_mm: float = 5.0
    defaced_markers: tuple[str, ...] = ("DEFACED",)
    _patterns: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", tuple(term_pattern(term) for term in self.defaced_markers))

    def marked_defaced(self, texts: Iterable[str]) -> bool:
        return any(pattern.search(fold(text)) for text in texts for pattern in self._patterns)


@dataclass(frozen=True)
class InstanceFacts:
    modality: str | None
    body_part: str | None
    descriptions: tuple[str, ...]  # study, series
    markers: tuple[str, ...]  # where a defaced marker may stand: series description, image type, method
    thickness: str | None  # Slice Thickness as the origin gave it (DS)
    frames: int


@dataclass(frozen=True)
class SeriesFacts:
    instances: tuple[InstanceFacts, ...]
    regions: tuple[tuple[str, str], ...] | None = None  # (code value, code meaning); None: not read

    def with_regions(self, regions: tuple[tuple[str, str], ...]) -> SeriesFacts:
        return replace(self, regions=regions)


@dataclass(frozen=True)
class SeriesVerdict:
    withheld: Withheld | None  # None: served


SERVED = SeriesVerdict(None)


def judge_series(rule: FaceVolumeRule, facts: SeriesFacts) -> SeriesVerdict:
    """Withheld (reason code and tag) when the series is a head volume that no marker names defaced."""
    if not facts.instances:
        return SeriesVerdict(Withheld("series-unjudged (0020,000E)"))
    if not _volume(rule, facts):
        return SERVED
    tag = head_tag(facts)
    return SERVED if tag is None else SeriesVerdict(Withheld(f"face-volume {tag}"))


def wants_regions(rule: FaceVolumeRule, facts: SeriesFacts) -> bool:
    """Whether the answer turns on the anatomic region codes, which an instance list does not carry."""
    return facts.regions is None and bool(facts.instances) and _volume(rule, facts) and head_tag(facts) is None


def head_tag(facts: SeriesFacts) -> str | None:
    """The tag that says this series is of the head, or None."""
    if any((i.body_part or "").strip().upper() in HEAD_BODY_PARTS for i in facts.instances):
        return "(0018,0015)"
    if any(code in HEAD_CODES or _HEAD_TEXT.search(meaning) for code, meaning in facts.regions or ()):
        return "(0008,2218)"
    for index, tag in enumerate(("(0008,1030)", "(0008,103E)")):
        if any(len(i.descriptions) > index and _HEAD_TEXT.search(i.descriptions[index]) for i in facts.instances):
            return tag
    return None


def _volume(rule: FaceVolumeRule, facts: SeriesFacts) -> bool:
    """A CT or MR series of enough thin slices that no marker names defaced."""
    if not any(i.modality in VOLUME_MODALITIES or i.modality is None for i in facts.instances):
        return False
    thin = sum(i.frames for i in facts.instances if _thin(i.thickness, rule.max_slice_mm))
    return thin >= rule.min_slices and not all(rule.marked_defaced(i.markers) for i in facts.instances)


def _thin(thickness: str | None, limit: float) -> bool:
    if thickness is None or not thickness.strip():
        return True
    try:
        value = Decimal(thickness.strip())
    except InvalidOperation:
        return True  # not a DS: it says nothing, so it does not make the slice thick
    return not value.is_finite() or value <= Decimal(str(limit))


# -- from DICOM JSON -------------------------------------------------------------------------------------------
JsonObject = Mapping[str, Any]


def series_facts(objects: Iterable[JsonObject]) -> SeriesFacts:
    """The facts of a series from its instances' DICOM JSON (an instance list with `INSTANCE_FIELDS`)."""
    return SeriesFacts(tuple(instance_facts(obj) for obj in objects))


def instance_facts(obj: JsonObject) -> InstanceFacts:
    series_description = _text(obj, SERIES_DESCRIPTION)
    frames = _first_text(obj, NUMBER_OF_FRAMES)
    return InstanceFacts(
        modality=_first_text(obj, MODALITY),
        body_part=_first_text(obj, BODY_PART),
        descriptions=(_text(obj, STUDY_DESCRIPTION), series_description),
        markers=(series_description, *_texts(obj, IMAGE_TYPE), _text(obj, DEIDENTIFICATION_METHOD)),
        thickness=_first_text(obj, SLICE_THICKNESS),
        frames=_frames(frames),
    )


def region_codes(obj: JsonObject, depth: int = _NESTING) -> tuple[tuple[str, str], ...]:
    """(code value, code meaning) of every Anatomic Region Sequence item in an instance's metadata."""
    found: list[tuple[str, str]] = []
    for key, element in obj.items():
        if not isinstance(element, Mapping) or element.get("vr") != "SQ":
            continue
        items = [item for item in element.get("Value") or () if isinstance(item, Mapping)]
        if key == ANATOMIC_REGION:
            found += [(_text(item, "00080100"), _text(item, "00080104")) for item in items]
        elif depth > 1:
            found += [code for item in items for code in region_codes(item, depth - 1)]
    return tuple(found)


def _texts(obj: JsonObject, tag: str) -> list[str]:
    element = obj.get(tag)
    values = element.get("Value") if isinstance(element, Mapping) else None
    return [str(value) for value in values or () if isinstance(value, str | int | float)]


def _text(obj: JsonObject, tag: str) -> str:
    return "\\".join(_texts(obj, tag))


def _first_text(obj: JsonObject, tag: str) -> str | None:
    values = _texts(obj, tag)
    return values[0].strip() if values else None


def _frames(value: str | None) -> int:
    """Number of Frames, at least one; what does not read as a count counts as one frame."""
    try:
        return max(1, int(float(value))) if value is not None else 1
    except (ValueError, OverflowError):
        return 1


class SeriesVerdictCache(Recent[tuple[str, str], tuple[SeriesVerdict, float]]):
    """(profile version, real series path) -> (verdict, when judged); the least recently used entry goes.

    Unlike an instance, a series grows: a verdict is taken again once it is older than the web layer allows."""

    def __init__(self, size: int = 16384) -> None:
        super().__init__(size)
