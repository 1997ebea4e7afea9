"""Which instances a profile withholds, and which pixel regions it masks.

Both the Part 10 path and the DICOM JSON path call `screen` with the same few header values, so an instance
that is withheld on retrieve is also left out of search results and metadata.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset

from gateway.core.rules.burned_text import at_risk
from gateway.core.rules.header import TAGS, text_values
from gateway.core.rules.pixels import PASSTHROUGH, PixelPlan
from gateway.core.rules.profile import Profile
from gateway.errors import Withheld

Header = Mapping[str, str | int | None]
SCREEN_TAGS = {
    "Modality": "00080060",
    "SOPClassUID": "00080016",
    "BurnedInAnnotation": "00280301",
    "Manufacturer": "00080070",
    "ManufacturerModelName": "00081090",
    "Rows": "00280010",
    "Columns": "00280011",
}

_SCREEN_INTS = {keyword: TAGS[int(key, 16)] for keyword, key in SCREEN_TAGS.items()}


def screens(profile: Profile) -> bool:
    """Whether this profile looks at an instance before de-identifying it at all."""
    withhold = profile.withhold
    return bool(
        withhold.modalities
        or withhold.sop_classes
        or withhold.burned_in_annotation
        or withhold.burned_in_risk_modalities
        or profile.pixel_rules
    )


def screen(profile: Profile, header: Header) -> PixelPlan:
    """Raise Withheld, or return the pixel plan: the union of the regions of every matching rule."""
    withhold = profile.withhold
    modality = header.get("Modality")
    if modality in withhold.modalities:
        raise Withheld("modality-withheld (0008,0060)")
    if header.get("SOPClassUID") in withhold.sop_classes:
        raise Withheld("sop-class-withheld (0008,0016)")
    regions = tuple(region for rule in profile.pixel_rules if rule.matches(header) for region in rule.regions)
    if regions:
        return PixelPlan(regions)
    if withhold.burned_in_annotation and header.get("BurnedInAnnotation") == "YES":
        raise Withheld("burned-in-annotation (0028,0301)")
    if modality in withhold.burned_in_risk_modalities:
        raise Withheld("burned-in-text-risk (0008,0060)")
    return PASSTHROUGH


def needs_ocr(profile: Profile, header: Header) -> bool:
    """Whether the role's OCR must read this instance: at risk (burned_text.at_risk) and not withheld anyway."""
    if not at_risk(profile.withhold.ocr, header):
        return False
    try:
        screen(profile, header)
    except Withheld:
        return False
    return True


def dataset_header(ds: Dataset) -> Header:
    """The screened values, read without converting (and so without re-encoding) any element."""
    header: dict[str, str | int | None] = {}
    for keyword, tag in _SCREEN_INTS.items():
        element = ds._dict.get(tag)
        if element is None:
            header[keyword] = None
        elif keyword in ("Rows", "Columns"):
            header[keyword] = _unsigned_short(element)
        else:
            header[keyword] = "\\".join(text_values(element, ds)) or None
    return header


def _unsigned_short(element: RawDataElement | DataElement) -> int | None:
    if isinstance(element, DataElement):
        return int(element.value) if element.value is not None else None
    value = element.value or b""
    return int.from_bytes(value[:2], "little" if element.is_little_endian else "big") if len(value) >= 2 else None


def json_header(obj: Mapping[str, object]) -> Header:
    header: dict[str, str | int | None] = {}
    for keyword, key in SCREEN_TAGS.items():
        attribute = obj.get(key)
        values = attribute.get("Value") if isinstance(attribute, dict) else None
        first = values[0] if isinstance(values, list) and values else None
        header[keyword] = first if first is None or isinstance(first, int) else str(first).strip()
    return header
