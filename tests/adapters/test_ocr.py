"""The Tesseract pool: words and boxes in frame pixels, and the failures that withhold (timeout, not an image)."""

from __future__ import annotations

import io
import shutil

import pytest
from PIL import Image, ImageDraw, ImageFont

from gateway.adapters.ocr import TesseractPool
from gateway.errors import OcrFailed, OcrTimeout

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")


def _png(text: str) -> bytes:
    picture = Image.new("L", (320, 120), 10)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 20)
    ImageDraw.Draw(picture).text((40, 50), text, fill=240, font=font)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
async def pool() -> TesseractPool:
    reader = TesseractPool(1)
    reader.open()
    yield reader  # type: ignore[misc]
    reader.close()


async def test_words_come_back_with_boxes_in_frame_pixels(pool: TesseractPool) -> None:
    words = await pool.read(_png("ID 48213377"), ("jpn",), 30)
    found = {word.text: word for word in words}
    assert "48213377" in found
    box = found["48213377"].box
    assert 60 <= box.x <= 140 and 40 <= box.y <= 60 and box.height < 40  # not the doubled image's pixels
    assert pool.reads == 1


async def test_a_timeout_and_a_body_that_is_no_image_fail(pool: TesseractPool) -> None:
    with pytest.raises(OcrTimeout):
        await pool.read(_png("ID 48213377"), ("jpn",), 0.001)
    with pytest.raises(OcrFailed):
        await pool.read(b"<html>not an image</html>", ("jpn",), 30)
