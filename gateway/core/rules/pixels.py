"""Pixel rules: region masks chosen by device and image size, applied to native pixel data (and to decoded
frames of encapsulated pixel data: gateway.core.rules.encapsulated).

A rule matches on Manufacturer, ManufacturerModelName, Rows and Columns (every key it names must be equal) and
blanks its regions to zero in every frame and every sample. Zero is zero in either byte order, so masking needs
no knowledge of endianness or signedness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gateway.errors import Withheld

_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.uint32}


@dataclass(frozen=True)
class Region:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class PixelRule:
    match: Mapping[str, str | int]  # keyword -> required value
    regions: tuple[Region, ...]

    def matches(self, header: Mapping[str, str | int | None]) -> bool:
        return all(header.get(keyword) == wanted for keyword, wanted in self.match.items())


@dataclass(frozen=True)
class PixelPlan:
    """What happens to an instance's pixel data: pass through untouched, or mask these regions."""

    regions: tuple[Region, ...] = ()

    @property
    def passthrough(self) -> bool:
        return not self.regions


PASSTHROUGH = PixelPlan()


@dataclass(frozen=True)
class Geometry:
    rows: int
    columns: int
    samples: int
    bits_allocated: int
    frames: int
    planar: int

    @property
    def frame_bytes(self) -> int:
        return self.rows * self.columns * self.samples * self.bits_allocated // 8


def mask_native(pixel_value: bytes, geometry: Geometry, regions: tuple[Region, ...]) -> bytes:
    """Zero `regions` in every frame of native (uncompressed) pixel data; trailing padding is kept."""
    dtype = _DTYPES.get(geometry.bits_allocated)
    if dtype is None:
        raise Withheld(f"mask-unsupported-bits-allocated (0028,0100)={geometry.bits_allocated}")
    size = geometry.frame_bytes * geometry.frames
    if len(pixel_value) < size:
        raise Withheld("pixel-data-shorter-than-geometry (7FE0,0010)")
    shape = (geometry.frames, geometry.rows, geometry.columns, geometry.samples)
    if geometry.planar == 1:
        shape = (geometry.frames, geometry.samples, geometry.rows, geometry.columns)
    pixels = np.frombuffer(pixel_value, dtype=dtype, count=size * 8 // geometry.bits_allocated).reshape(shape)
    pixels = pixels.copy()
    for region in regions:
        rows = slice(region.y, region.y + region.height)
        columns = slice(region.x, region.x + region.width)
        if geometry.planar == 1:
            pixels[:, :, rows, columns] = 0
        else:
            pixels[:, rows, columns, :] = 0
    return pixels.tobytes() + pixel_value[size:]


def mask_frame(frame: np.ndarray, regions: tuple[Region, ...]) -> np.ndarray:
    """A copy of one decoded frame, (rows, columns) or (rows, columns, samples), with `regions` zeroed."""
    masked = frame.copy()
    for region in regions:
        masked[region.y : region.y + region.height, region.x : region.x + region.width, ...] = 0
    return masked
