"""Tesseract, through pytesseract, in a small process pool: the words of one rendered frame, with their boxes.

Why pytesseract and not tesserocr: pytesseract runs the `tesseract` program of the Debian package, one process
per image, and kills it when `timeout` passes. A hung or slow read is then ended for sure, and the worker is free
again; tesserocr runs the C++ library inside the worker (faster by the process start, some 50 ms), where a
runaway read could only be stopped by killing the worker, and it must be compiled against libtesseract-dev.

The pool has `workers` processes (spawned, never forked from the event loop's process), and at most `workers`
images are in it at once: a caller waits for a slot on the event loop, within its own timeout, so nothing queues
where it could not be cancelled. Tesseract's own threads are limited to one per read (OMP_THREAD_LIMIT): the two
cores are shared with the event loop.

The image is prepared for Tesseract: the brightest channel (coloured annotations on a dark background stand out
in it as they do to the eye), inverted when the image is mostly dark (Tesseract reads dark text on light best),
and small frames scaled up twice (text under 20 pixels is read far better). Boxes are given back in the frame's
own pixels. Errors are this module's own: OcrTimeout, OcrFailed; never the text read.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter, UnidentifiedImageError

from gateway.core.rules.burned_text import Word
from gateway.core.rules.pixels import Region
from gateway.errors import OcrFailed, OcrTimeout

CONTRAST = 40  # how much brighter than the local mean a pixel of text is, once smoothed
SMOOTH = 0.5  # the radius that smoothing takes the image's own grain off with, in pixels of the frame
LOCAL = 12  # the radius of that mean, in pixels of the frame
NEIGHBOURS = 3  # a bright pixel with fewer bright neighbours is a speck, twice over
SCALE_BELOW = 1100  # frames whose longer side is under this are read at twice their size
_CONFIG = "--psm 11"  # sparse text: annotations scattered over an image, not a page


class TesseractPool:
    def __init__(self, workers: int = 1) -> None:
        self._workers = workers
        self._slots = asyncio.Semaphore(workers)
        self._pool: ProcessPoolExecutor | None = None
        self.reads = 0  # images read, for /metrics and the tests

    def open(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(self._workers, mp_context=context, initializer=_limit_threads)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def read(self, image: bytes, languages: tuple[str, ...], timeout_s: float) -> list[Word]:
        """The words of an encoded image (PNG): OcrTimeout past `timeout_s`, waiting for a slot included."""
        try:
            async with asyncio.timeout(timeout_s):
                async with self._slots:
                    return await self._run(image, languages, timeout_s)
        except TimeoutError:
            raise OcrTimeout("ocr-timeout") from None

    async def _run(self, image: bytes, languages: tuple[str, ...], timeout_s: float) -> list[Word]:
        if self._pool is None:
            raise OcrFailed("ocr-pool-closed")
        self.reads += 1
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, read_words, image, "+".join(languages), timeout_s)
        except BrokenProcessPool:
            self.close()  # a worker died: a new pool for the next read
            self.open()
            raise OcrFailed("ocr-worker-died") from None


def _limit_threads() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"


def read_words(image: bytes, languages: str, timeout_s: float) -> list[Word]:
    """In a worker: prepare the image and read it. Raises OcrTimeout or OcrFailed, with no text in them."""
    import pytesseract

    try:
        picture = Image.open(io.BytesIO(image))
        picture.load()
    except (UnidentifiedImageError, OSError, ValueError):
        raise OcrFailed("ocr-unreadable-image") from None
    prepared, scale = prepare(picture)
    try:
        data = pytesseract.image_to_data(
            prepared, lang=languages, config=_CONFIG, timeout=timeout_s, output_type=pytesseract.Output.DICT
        )
    except RuntimeError:
        raise OcrTimeout("ocr-timeout") from None  # pytesseract's timeout: the tesseract process was killed
    except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, OSError):
        raise OcrFailed("ocr-tesseract-failed") from None
    return list(_words(data, scale))


def prepare(picture: Image.Image) -> tuple[Image.Image, int]:
    """The image Tesseract is given (black text on white, the image itself removed), and its scale factor.

    Burned-in text is drawn brighter than what lies around it, in some channel: a pixel is text when it stands
    `CONTRAST` above the local mean (a box blur a few characters wide) in any channel, so a bright organ or a
    red endoscopy field is not, and white, yellow or green letters over either are. Specks of speckle that pass
    are taken off by their few bright neighbours."""
    rgb = picture.convert("RGB") if picture.mode not in ("L", "RGB") else picture
    if np.asarray(rgb).mean() >= 128:
        rgb = Image.eval(rgb, lambda value: 255 - value)  # a light image: its text is the dark part
    scale = 2 if max(rgb.size) < SCALE_BELOW else 1
    if scale > 1:
        rgb = rgb.resize((rgb.width * scale, rgb.height * scale), Image.Resampling.BILINEAR)
    contrast = np.full((rgb.height, rgb.width), -255, dtype=np.int16)
    for channel in rgb.split():
        local = np.asarray(channel.filter(ImageFilter.BoxBlur(LOCAL * scale)), dtype=np.int16)
        smooth = np.asarray(channel.filter(ImageFilter.GaussianBlur(SMOOTH * scale)), dtype=np.int16)
        contrast = np.maximum(contrast, smooth - local)
    bright: npt.NDArray[np.bool_] = contrast >= CONTRAST
    for _ in range(2):
        bright &= _neighbours(bright) >= NEIGHBOURS
    return Image.fromarray(np.where(bright, 0, 255).astype(np.uint8)), scale


def _neighbours(bright: npt.NDArray[np.bool_]) -> npt.NDArray[np.int_]:
    """How many of its eight neighbours are bright, for each pixel: a stroke has several, a speck of speckle few."""
    padded = np.pad(bright.astype(np.uint8), 1)
    rows, columns = bright.shape
    count = np.zeros((rows, columns), dtype=np.int_)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                count += padded[1 + dy : 1 + dy + rows, 1 + dx : 1 + dx + columns]
    return count


def _words(data: dict[str, list[object]], scale: int) -> list[Word]:
    words = []
    for index, text in enumerate(data["text"]):
        if not str(text).strip():
            continue
        left, top, width, height = (int(str(data[key][index])) for key in ("left", "top", "width", "height"))
        box = Region(left // scale, top // scale, -(-width // scale), -(-height // scale))
        line = tuple(int(str(data[key][index])) for key in ("block_num", "par_num", "line_num"))
        words.append(Word(str(text).strip(), float(str(data["conf"][index])), box, line))
    return words
