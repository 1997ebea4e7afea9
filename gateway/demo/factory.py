"""Small building blocks for synthetic DICOM instances: UIDs, file meta, pixels, Part 10 bytes.

Everything here is deterministic, so the same call always gives the same bytes and the same UIDs. Every UID
starts with `UID_ROOT`, a recognisable fake organisation root, so a leak test can assert that no output UID
contains it.
"""

from __future__ import annotations

import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

UID_ROOT = "1.2.392.200036.9999."

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4.1"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def uid(*parts: int) -> str:
    """A UID under the fake root, e.g. uid(1, 2, 3) -> '1.2.392.200036.9999.1.2.3'."""
    return UID_ROOT + ".".join(str(part) for part in parts)


def new_instance(sop_class_uid: str, sop_instance_uid: str) -> Dataset:
    """An empty dataset with file meta for Explicit VR Little Endian and the two SOP identifiers set."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = sop_instance_uid
    return ds


def to_part10(ds: Dataset) -> bytes:
    """Encode a dataset as a DICOM Part 10 file (preamble, file meta, dataset)."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def phantom(rows: int, cols: int, index: int, *, frames: int = 0) -> np.ndarray:
    """A signed 16-bit CT-like phantom: air, a body ellipse, a moving 'lesion'; frames > 0 stacks frames."""
    if frames:
        return np.stack([phantom(rows, cols, index + f) for f in range(frames)])
    y, x = np.ogrid[-1.0 : 1.0 : rows * 1j, -1.0 : 1.0 : cols * 1j]
    image = np.full((rows, cols), -1000, dtype=np.int16)
    image[(x / 0.85) ** 2 + (y / 0.65) ** 2 <= 1.0] = 40
    cx, cy = 0.3 * np.cos(index / 5.0), 0.3 * np.sin(index / 5.0)
    image[(x - cx) ** 2 + (y - cy) ** 2 <= 0.02] = 300 + index % 100
    return image


def rgb_pattern(rows: int, cols: int) -> np.ndarray:
    """An 8-bit RGB gradient, standing in for an ultrasound frame."""
    y, x = np.mgrid[0:rows, 0:cols]
    red = (x * 255 // max(cols - 1, 1)).astype(np.uint8)
    green = (y * 255 // max(rows - 1, 1)).astype(np.uint8)
    blue = np.full((rows, cols), 64, dtype=np.uint8)
    return np.stack([red, green, blue], axis=-1)


def set_ct_pixels(ds: Dataset, pixels: np.ndarray) -> None:
    """Store signed 16-bit MONOCHROME2 pixels with the CT rescale and a soft-tissue window."""
    ds.set_pixel_data(pixels, "MONOCHROME2", 16, generate_instance_uid=False)
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    """A code sequence item (CodeValue, CodingSchemeDesignator, CodeMeaning)."""
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item
