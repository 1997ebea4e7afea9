"""Pixel masks on rendered images: blanked in frame coordinates, then scaled and encoded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gateway.core.rules.pixels import Geometry, Region
from gateway.core.rules.reencoded import mask_rendered, reencoded, viewport_size
from gateway.errors import BadRequest, Withheld

FRAME = Geometry(rows=64, columns=96, samples=1, bits_allocated=16, frames=1, planar=0)


def _png(width: int = 96, height: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, "PNG")
    return out.getvalue()


def test_regions_are_black_and_the_rest_untouched() -> None:
    masked = mask_rendered(_png(), FRAME, (Region(0, 0, 96, 8),), media_type="image/png", viewport=None)
    image = Image.open(io.BytesIO(masked))
    assert image.size == (96, 64)
    assert image.getpixel((50, 3)) == 0 and image.getpixel((50, 8)) == 255


def test_viewport_scales_after_masking() -> None:
    masked = mask_rendered(_png(), FRAME, (Region(0, 0, 96, 32),), media_type="image/jpeg", viewport=(48, 48))
    image = Image.open(io.BytesIO(masked))
    assert image.format == "JPEG" and image.size == (48, 32)
    assert image.getpixel((24, 4)) < 20 and image.getpixel((24, 28)) > 235


def test_an_image_of_another_size_is_withheld() -> None:
    with pytest.raises(Withheld):
        mask_rendered(_png(48, 32), FRAME, (Region(0, 0, 8, 8),), media_type="image/png", viewport=None)


@pytest.mark.parametrize("value", ["0,10", "10", "1,2,3,4,5,6", "a,b"])
def test_viewport_forms_not_offered_are_refused(value: str) -> None:
    with pytest.raises(BadRequest):
        viewport_size(value)


def test_a_rendered_image_is_encoded_again_without_its_metadata() -> None:
    """A JPEG comment can hold a name; a body labelled image/jpeg may be no image at all."""
    picture = Image.new("L", (8, 8), 128)
    source = io.BytesIO()
    picture.save(source, "JPEG", comment=b"Whitaker^Eleanor")
    assert b"Whitaker" in source.getvalue()
    assert b"Whitaker" not in reencoded(source.getvalue(), media_type="image/jpeg")
    with pytest.raises(Withheld):
        reencoded(b"\0" * 128 + b"DICM" + b"Whitaker", media_type="image/jpeg")
