"""The header of an instance whose encapsulated pixels were masked: what it says about its pixels must match
the pixels that go out (PS3.3 C.7.6.1.1.5, C.7.6.1.1.2, C.7.6.3): transfer syntax, photometric interpretation,
lossy compression history, and that the image is now derived."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from gateway.core.rules.encapsulated import Change, Remasked
from gateway.core.rules.header import META, number_value, text_of, text_value

TRANSFER_SYNTAX = 0x00020010
IMAGE_TYPE = 0x00080008


def changed(ds: Dataset, remasked: Remasked) -> None:
    """Set the changes of `remasked` in `ds` (and its file meta); every encapsulated syntax and Explicit VR Little
    Endian lay out the data set alike, so raw elements are written in that one layout."""
    ds.file_meta._dict[BaseTag(TRANSFER_SYNTAX)] = META.raw(
        TRANSFER_SYNTAX, "UI", text_value([remasked.transfer_syntax], "UI")
    )
    for change in remasked.changes:
        _set(ds, change)
    image_type = text_of(ds, IMAGE_TYPE)
    if image_type:
        _set(ds, Change(IMAGE_TYPE, "CS", ("DERIVED", *image_type[1:])))


def _set(ds: Dataset, change: Change) -> None:
    values = list(change.values)
    if change.first is not None:
        values = (text_of(ds, change.tag) or list(change.first)) + values
    value = number_value("US", int(values[0]), META) if change.vr == "US" else text_value(values, change.vr)
    ds._dict[BaseTag(change.tag)] = META.raw(change.tag, change.vr, value)
