"""Whether, and how, one instance's pixels may go out: judged once from its real DICOM JSON, then cached.

Frames, bulk data, rendered images and thumbnails carry pixels, so none is served before the instance has been
judged by the role's engine (gateway.web.handlers.frames). A verdict holds for the life of a profile version.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.dicom import JsonObject, json_patient
from gateway.core.recent import Recent
from gateway.core.rules.burned_text import at_risk
from gateway.core.rules.pixels import Geometry, PixelPlan
from gateway.core.rules.profile import Profile
from gateway.core.rules.withhold import json_header, screen
from gateway.errors import Withheld


@dataclass(frozen=True)
class PixelVerdict:
    """What may happen to one instance's pixels, and the geometry of one frame for masking it."""

    plan: PixelPlan
    frame: Geometry
    patient: str  # the real patient key, so an opt-out made after judging still hides the instance
    ocr: bool = False  # whether burned-in text must be read by OCR before any pixel goes out (burned_text.py)


class VerdictCache(Recent[tuple[str, str], PixelVerdict | Withheld]):
    """(profile version, real instance path) -> PixelVerdict or Withheld; the least recently used entry goes."""

    def __init__(self, size: int = 65536) -> None:
        super().__init__(size)


def verdict_of(profile: Profile, obj: JsonObject) -> PixelVerdict | Withheld:
    """Judge an instance from its (real) DICOM JSON: the same screen the engine runs on every path."""
    header = json_header(obj)
    try:
        plan = screen(profile, header)
    except Withheld as exc:
        return exc
    frame = Geometry(
        rows=_int(obj, "00280010", 0),
        columns=_int(obj, "00280011", 0),
        samples=_int(obj, "00280002", 1),
        bits_allocated=_int(obj, "00280100", 16),
        frames=1,
        planar=_int(obj, "00280006", 0),
    )
    # Screened already: `needs_ocr` comes down to whether the OCR rule holds the instance at risk.
    return PixelVerdict(plan, frame, json_patient(obj), at_risk(profile.withhold.ocr, header))


def _int(obj: JsonObject, tag: str, default: int) -> int:
    values = obj.get(tag, {}).get("Value") or [default]
    return int(values[0] if values[0] is not None else default)
