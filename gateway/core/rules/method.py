"""PS3.15 E.1.1: what a de-identified instance says about itself.

Patient Identity Removed, De-identification Method (the role and its profile version), De-identification
Method Code Sequence (CID 7050: the Basic Profile, each option, and Clean Pixel Data when a pixel rule
masked the instance) and Longitudinal Temporal Information Modified. The attributes are encoded once per
byte layout and pixel-plan kind, then shared by every instance.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from gateway.core.rules.actions import BASIC_CODE, CLEAN_PIXEL_CODE, OPTION_CODE
from gateway.core.rules.header import Layout, text_value
from gateway.core.rules.pixels import PixelPlan
from gateway.core.rules.profile import DateMode, Profile
from gateway.core.rules.writer import encode_items

LONGITUDINAL = {
    DateMode.KEEP: "UNMODIFIED",
    DateMode.SHIFT: "MODIFIED",
    DateMode.YEAR: "MODIFIED",
    DateMode.REMOVE: "REMOVED",
}
JsonObject = dict[str, Any]


class Method:
    def __init__(self, profile: Profile) -> None:
        self.codes = [BASIC_CODE, *(OPTION_CODE[option] for option in sorted(profile.options))]
        self.text = f"dicomweb-gateway {profile.name} {profile.version}"
        self.longitudinal = LONGITUDINAL[profile.date_mode]
        self._encoded: dict[tuple[bool, bool, bool], dict[BaseTag, RawDataElement]] = {}
        self._json: dict[bool, JsonObject] = {}

    def attributes(self, plan: PixelPlan) -> list[tuple[int, str, str | list[tuple[str, str]]]]:
        codes = self.codes if plan.passthrough else [*self.codes, CLEAN_PIXEL_CODE]
        attributes: list[tuple[int, str, str | list[tuple[str, str]]]] = [
            (0x00120062, "CS", "YES"),
            (0x00120063, "LO", self.text),
            (0x00120064, "SQ", codes),
            (0x00280303, "CS", self.longitudinal),
        ]
        if not plan.passthrough:
            attributes.append((0x00280301, "CS", "NO"))  # the matching pixel rule masks the burned-in text
        return attributes

    def part10(self, plan: PixelPlan, layout: Layout) -> dict[BaseTag, RawDataElement]:
        key = (layout.implicit, layout.little, plan.passthrough)
        if key not in self._encoded:
            self._encoded[key] = {
                BaseTag(tag): layout.raw(tag, vr, _encode(vr, value, layout))
                for tag, vr, value in self.attributes(plan)
            }
        return self._encoded[key]

    def json(self, plan: PixelPlan) -> JsonObject:
        """The attributes as DICOM JSON, built once per pixel-plan kind and shared by every object: read only."""
        if plan.passthrough not in self._json:
            self._json[plan.passthrough] = {
                f"{tag:08X}": _json(vr, value) for tag, vr, value in self.attributes(plan)
            }
        return self._json[plan.passthrough]


def _encode(vr: str, value: str | list[tuple[str, str]], layout: Layout) -> bytes:
    if isinstance(value, str):
        return text_value([value], vr)
    return encode_items([_code_item(code, meaning, layout) for code, meaning in value], layout)


def _code_item(value: str, meaning: str, layout: Layout) -> Dataset:
    return Dataset({
        BaseTag(tag): layout.raw(tag, vr, text_value([text], vr))
        for tag, vr, text in ((0x00080100, "SH", value), (0x00080102, "SH", "DCM"), (0x00080104, "LO", meaning))
    })


def _json(vr: str, value: str | list[tuple[str, str]]) -> JsonObject:
    if isinstance(value, str):
        return {"vr": vr, "Value": [value]}
    items = [
        {
            "00080100": {"vr": "SH", "Value": [code]},
            "00080102": {"vr": "SH", "Value": ["DCM"]},
            "00080104": {"vr": "LO", "Value": [meaning]},
        }
        for code, meaning in value
    ]
    return {"vr": "SQ", "Value": items}
