"""Pixel masks on rendered (consumer-format) images.

The origin renders the whole frame at its own size; the regions are blanked there, in the same pixel
coordinates the pixel rules use for native data, and only then is the image scaled to the requested viewport
and encoded. An image whose size is not the frame's cannot be masked safely and is withheld.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, UnidentifiedImageError

from gateway.core.rules.pixels import Geometry, Region
from gateway.errors import BadRequest, Withheld

FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}


def viewport_size(value: str | None) -> tuple[int, int] | None:
    """PS3.18 viewport=vw,vh; the source-region form is not offered for masked images."""
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 2 or not all(p.isdigit() and 0 < int(p) <= 8192 for p in parts):
        raise BadRequest("viewport takes two positive integers (vw,vh) here")
    return int(parts[0]), int(parts[1])


def reencoded(image: bytes, *, media_type: str, quality: int = 90) -> bytes:
    """The origin's rendered image decoded and encoded again: only pixels cross. A JPEG comment, EXIF or PNG text
    chunk can hold anything, and a body labelled image/jpeg may not be an image at all."""
    picture = _decoded(image)
    return _encoded(picture.convert(_mode(picture)), media_type, quality)


def mask_rendered(
    image: bytes,
    frame: Geometry,
    regions: tuple[Region, ...],
    *,
    media_type: str,
    viewport: tuple[int, int] | None,
    quality: int = 90,
) -> bytes:
    decoded = _decoded(image)
    if decoded.size != (frame.columns, frame.rows):
        raise Withheld("rendered-size-differs-from-frame (0028,0010)")
    picture: Image.Image = decoded.convert(_mode(decoded))
    draw = ImageDraw.Draw(picture)
    for region in regions:
        draw.rectangle((region.x, region.y, region.x + region.width - 1, region.y + region.height - 1), fill=0)
    if viewport is not None:
        scale = min(viewport[0] / picture.width, viewport[1] / picture.height)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    return _encoded(picture, media_type, quality)


def _decoded(image: bytes) -> Image.Image:
    try:
        decoded = Image.open(io.BytesIO(image))
        decoded.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise Withheld("rendered-image-unreadable") from None
    return decoded


def _mode(picture: Image.Image) -> str:
    return "RGB" if picture.mode in ("RGB", "RGBA", "P") else "L"


def _encoded(picture: Image.Image, media_type: str, quality: int) -> bytes:
    picture.info.clear()  # Pillow writes a JPEG comment, EXIF or an ICC profile back from `info` when saving
    out = io.BytesIO()
    picture.save(out, FORMATS[media_type], **({"quality": quality} if media_type == "image/jpeg" else {}))
    return out.getvalue()
