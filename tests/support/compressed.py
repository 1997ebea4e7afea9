"""Synthetic compressed instances for the pixel-mask tests, made with pydicom's encoders (Pillow for JPEG baseline).

Each image is a smooth gradient with a bright "burned-in" block inside the region the tests mask, so a mask that
misses shows, and lossy coding has something realistic to chew on. `source` is the pixel array the instance
decodes to (for a lossy syntax: its first generation, decoded), frames first.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import pixel_array
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    SecondaryCaptureImageStorage,
)

from gateway.core.rules.pixels import Region

ROWS, COLUMNS = 48, 64
REGION = Region(x=4, y=2, width=24, height=10)  # where the "text" is burned in
RULE = {"match": {"Rows": ROWS, "Columns": COLUMNS}, "regions": [[REGION.x, REGION.y, REGION.width, REGION.height]]}


@dataclass(frozen=True)
class Made:
    data: bytes  # Part 10
    source: np.ndarray  # (frames, rows, columns[, samples]) as decoded from `data`
    syntax: str


def image(frames: int, samples: int, bits_stored: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = (1 << bits_stored) - 1
    y, x = np.mgrid[0:ROWS, 0:COLUMNS]
    base = (x * top // (2 * COLUMNS) + y * top // (4 * ROWS)).astype(np.int64)
    stack = []
    for frame in range(frames):
        plane = base + rng.integers(0, max(2, top // 64), size=base.shape) + frame * (top // 16)
        plane[REGION.y + 2 : REGION.y + 8, REGION.x + 2 : REGION.x + 20 : 3] = top  # the "burned-in text"
        layers = [np.clip(plane + shift * (top // 8), 0, top) for shift in range(samples)]
        stack.append(np.stack(layers, axis=-1) if samples > 1 else layers[0])
    dtype = np.uint8 if bits_stored <= 8 else np.uint16
    return np.asarray(stack).astype(dtype)


def compressed(syntax: str, *, samples: int = 1, bits_stored: int = 8, frames: int = 1, sop: str = "1") -> Made:
    """An instance of Secondary Capture pixels in `syntax`; RGB when `samples` is 3."""
    pixels = image(frames, samples, bits_stored)
    ds = _dataset(sop, samples, bits_stored, frames)
    if syntax == JPEGBaseline8Bit:
        ds.PixelData = encapsulate([_jpeg(frame) for frame in pixels])
        ds["PixelData"].VR = "OB"
        ds.PhotometricInterpretation = "YBR_FULL_422" if samples == 3 else "MONOCHROME2"
        ds.LossyImageCompression = "01"
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    else:
        ds.PixelData = pixels.tobytes()
        ds.compress(syntax, encoding_plugin="pydicom" if syntax == RLELossless else "")
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    data = out.getvalue()
    decoded = pixel_array(io.BytesIO(data))
    return Made(data, decoded.reshape(frames, *decoded.shape[-(3 if samples > 1 else 2) :]), syntax)


def _dataset(sop: str, samples: int, bits_stored: int, frames: int) -> Dataset:
    root = "1.2.826.0.1.3680043.10.1234.77"
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.StudyInstanceUID, ds.SeriesInstanceUID = f"{root}.1", f"{root}.1.{samples}.{bits_stored}"
    ds.SOPInstanceUID = f"{root}.1.{samples}.{bits_stored}.{sop}"
    ds.PatientID, ds.PatientName, ds.Modality = "MASK-1", "Masked^Pat", "OT"
    ds.StudyDate, ds.StudyTime = "20240102", "101010"
    ds.Manufacturer = "ACME Compressed"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.Rows, ds.Columns, ds.SamplesPerPixel = ROWS, COLUMNS, samples
    ds.PhotometricInterpretation = "RGB" if samples == 3 else "MONOCHROME2"
    if samples == 3:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8 if bits_stored <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits_stored, bits_stored - 1, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def _jpeg(frame: np.ndarray) -> bytes:
    out = io.BytesIO()
    picture = Image.fromarray(frame, "RGB" if frame.ndim == 3 else "L")
    picture.save(out, "JPEG", quality=90, subsampling=1)  # 4:2:2, as YBR_FULL_422 says
    return out.getvalue()


def psnr(a: np.ndarray, b: np.ndarray, top: int) -> float:
    error = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if error == 0 else 10 * np.log10(top * top / error)


LOSSLESS = {
    "rle-gray16": (RLELossless, 1, 12, 2),
    "rle-rgb8": (RLELossless, 3, 8, 1),
    "jpegls-gray16": (JPEGLSLossless, 1, 12, 2),
    "jpegls-rgb8": (JPEGLSLossless, 3, 8, 1),
    "j2k-gray16": (JPEG2000Lossless, 1, 12, 1),
    "j2k-rgb8": (JPEG2000Lossless, 3, 8, 2),
}
