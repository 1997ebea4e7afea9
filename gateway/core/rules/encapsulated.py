"""Pixel masks on encapsulated (compressed) pixel data: decode each frame, blank the regions, encode it again.

What goes out, by the syntax that came in (decoders and encoders are pydicom's plugins: pylibjpeg-libjpeg,
-openjpeg, pyjpegls, pydicom's own RLE; Pillow writes JPEG baseline):

    RLE Lossless (.5), JPEG-LS Lossless (.4.80),   the same syntax, re-encoded; every frame is decoded again
    JPEG 2000 Lossless (.4.90)                     and must equal the masked pixels, or the instance is withheld
    JPEG Lossless Process 14 / SV1 (.4.57, .4.70)  no encoder here: Explicit VR Little Endian, if accepted
    JPEG Baseline (.4.50)                          Explicit VR Little Endian if accepted, else JPEG baseline again
    JPEG Extended, JPEG-LS Near-Lossless,          Explicit VR Little Endian, if accepted
    JPEG 2000 (.4.51, .4.81, .4.91)
    anything else (MPEG, HTJ2K, deflate...)        withheld

The lossy choice: a lossy image is answered decompressed (Explicit VR Little Endian) whenever the client takes
it, because a second lossy generation loses again everywhere, not only under the mask, and each generation
compounds: the pixels that go out are then exactly the first generation's, masked. Only a client that accepts
nothing but JPEG baseline gets a second generation (quality 95, 4:4:4 as YBR_FULL, the mask grown
to whole 8x8 blocks so the masked area decodes blank), and the header says so: Lossy Image
Compression stays "01", the ratio and method of the new generation are appended to those of the first
(PS3.3 C.7.6.1.1.5). Every masked instance is marked derived: Image Type value 1 DERIVED and a Derivation
Description of what was done (gateway.core.rules.masked_header applies `Remasked.changes`). One instance is
held in memory at a time (its compressed value and the result), and one decoded frame.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import get_decoder, get_encoder
from pydicom.uid import (
    JPEG2000,
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from gateway.core.rules.pixels import Region, mask_frame
from gateway.errors import Withheld

REENCODED = frozenset({RLELossless, JPEGLSLossless, JPEG2000Lossless})
LOSSLESS_NATIVE_ONLY = frozenset({JPEGLossless, JPEGLosslessSV1})
LOSSY_METHOD: dict[str, str] = {
    JPEGBaseline8Bit: "ISO_10918_1",
    JPEGExtended12Bit: "ISO_10918_1",
    JPEGLSNearLossless: "ISO_14495_1",
    JPEG2000: "ISO_15444_1",
}
SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
JPEG_QUALITY = 95
_CODEC_ERRORS = (ValueError, TypeError, RuntimeError, NotImplementedError, AttributeError, KeyError, OSError)


@dataclass(frozen=True)
class Accepted:
    """The transfer syntaxes a client takes for application/dicom; "*" for any."""

    syntaxes: frozenset[str]

    def allows(self, syntax: str) -> bool:
        return "*" in self.syntaxes or syntax in self.syntaxes


ANY = Accepted(frozenset({"*"}))


@dataclass(frozen=True)
class Picture:
    """The Image Pixel attributes of one instance, as its header states them."""

    rows: int
    columns: int
    samples: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str
    frames: int


@dataclass(frozen=True)
class Change:
    """A header attribute to set: `values` replace it; with `first`, they are appended to the values it has,
    or to `first` when it has none (the ratio and method of each lossy generation, in order)."""

    tag: int
    vr: str
    values: tuple[str, ...]
    first: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Remasked:
    """The masked pixel value, the syntax it is in, and what the header must now say (tag, VR, values)."""

    transfer_syntax: str
    value: bytes  # encapsulated: items and the sequence delimiter; native: the bytes, of even length
    changes: tuple[Change, ...]
    vr: str = "OB"  # of the pixel element: OW for native pixels of more than 8 bits

    @property
    def encapsulated(self) -> bool:
        return self.transfer_syntax != ExplicitVRLittleEndian


def remask(value: bytes, syntax: str, picture: Picture, regions: tuple[Region, ...], accepted: Accepted) -> Remasked:
    """Decode `value` (encapsulated, in `syntax`), blank `regions` in every frame and sample, and encode again."""
    out = _out_syntax(syntax, picture, accepted)
    frames = _decoded(value, syntax, picture)
    try:
        if out == ExplicitVRLittleEndian:
            pixels, photometric = _native(frames, regions)
        else:
            pixels, photometric = _encoded(frames, regions, out, picture)
    except Withheld:
        raise
    except _CODEC_ERRORS:
        raise Withheld("mask-reencode-failed (7FE0,0010)") from None
    vr = "OW" if out == ExplicitVRLittleEndian and picture.bits_allocated > 8 else "OB"
    return Remasked(out, pixels, _changes(syntax, out, picture, photometric, (len(value), len(pixels))), vr)


def _out_syntax(syntax: str, picture: Picture, accepted: Accepted) -> str:
    if picture.bits_allocated not in (8, 16) or picture.frames < 1:
        raise Withheld(f"mask-unsupported-bits-allocated (0028,0100)={picture.bits_allocated}")
    if syntax in REENCODED:
        return syntax
    if syntax in LOSSLESS_NATIVE_ONLY or syntax in LOSSY_METHOD:
        if accepted.allows(ExplicitVRLittleEndian):
            return ExplicitVRLittleEndian
        if syntax == JPEGBaseline8Bit and accepted.allows(JPEGBaseline8Bit) and picture.bits_allocated == 8:
            return JPEGBaseline8Bit
        raise Withheld("mask-no-encoder-for-accepted-syntax (0002,0010)")
    raise Withheld("mask-unsupported-transfer-syntax (0002,0010)")


def _decoded(value: bytes, syntax: str, picture: Picture) -> Iterator[tuple[np.ndarray, str]]:
    """Each frame as an array of (rows, columns[, samples]), interleaved, with its photometric interpretation:
    a lossy syntax's colour is converted to RGB, a lossless one's is kept as coded."""
    source = Dataset()
    source.file_meta = FileMetaDataset()
    source.file_meta.TransferSyntaxUID = UID(syntax)
    source.Rows, source.Columns, source.SamplesPerPixel = picture.rows, picture.columns, picture.samples
    source.BitsAllocated, source.BitsStored = picture.bits_allocated, picture.bits_stored
    source.HighBit, source.PixelRepresentation = picture.bits_stored - 1, int(picture.signed)
    source.PhotometricInterpretation, source.NumberOfFrames = picture.photometric, picture.frames
    if picture.samples > 1:
        source.PlanarConfiguration = 0
    source.PixelData = value.removesuffix(SEQUENCE_DELIMITER)
    source["PixelData"].VR = "OB"
    shape = (picture.rows, picture.columns, *((picture.samples,) if picture.samples > 1 else ()))
    count = 0
    try:
        for frame, meta in get_decoder(syntax).iter_array(source, as_rgb=syntax in LOSSY_METHOD):
            if frame.shape != shape:
                raise Withheld("mask-frame-geometry-differs (0028,0010)")
            count += 1
            yield frame, str(meta.get("photometric_interpretation", picture.photometric))
    except Withheld:
        raise
    except _CODEC_ERRORS:
        raise Withheld("mask-decode-failed (7FE0,0010)") from None
    if count != picture.frames:
        raise Withheld("mask-frame-count-differs (0028,0008)")


def _native(frames: Iterator[tuple[np.ndarray, str]], regions: tuple[Region, ...]) -> tuple[bytes, str]:
    out, photometric = bytearray(), ""
    for frame, coded in frames:
        photometric = coded
        masked = mask_frame(frame, regions)
        out += masked.astype(masked.dtype.newbyteorder("<"), copy=False).tobytes()
    if len(out) % 2:
        out += b"\0"
    return bytes(out), photometric


def _encoded(
    frames: Iterator[tuple[np.ndarray, str]], regions: tuple[Region, ...], syntax: str, picture: Picture
) -> tuple[bytes, str]:
    fragments, photometric = [], ""
    for frame, photometric in frames:
        if syntax == JPEGBaseline8Bit:  # whole 8x8 blocks, so that no coding error reaches into the mask
            fragments.append(_jpeg(mask_frame(frame, tuple(map(_blocks, regions)))))
            continue
        masked = mask_frame(frame, regions)
        fragment = get_encoder(syntax).encode(masked, **_options(picture, photometric))
        _check_exact(fragment, masked, syntax, picture, photometric)
        fragments.append(fragment)
    if syntax == JPEGBaseline8Bit and picture.samples > 1:
        photometric = "YBR_FULL"  # 4:4:4: a subsampled chroma would bleed across the edge of the mask
    return bytes(encapsulate(fragments, has_bot=True)) + SEQUENCE_DELIMITER, photometric


def _options(picture: Picture, photometric: str) -> dict[str, Any]:
    return {
        "rows": picture.rows,
        "columns": picture.columns,
        "samples_per_pixel": picture.samples,
        "bits_allocated": picture.bits_allocated,
        "bits_stored": picture.bits_stored,
        "pixel_representation": int(picture.signed),
        "photometric_interpretation": photometric,
        "number_of_frames": 1,
        "planar_configuration": 0,
    }


def _check_exact(fragment: bytes, masked: np.ndarray, syntax: str, picture: Picture, photometric: str) -> None:
    """A lossless re-encoding is decoded again and must give the masked pixels back, bit for bit."""
    single = Picture(**{**picture.__dict__, "frames": 1, "photometric": photometric})
    value = bytes(encapsulate([fragment], has_bot=True))
    back = [frame for frame, _ in _decoded(value, syntax, single)]
    if len(back) != 1 or not np.array_equal(back[0], masked):
        raise Withheld("mask-reencode-not-exact (7FE0,0010)")


def _jpeg(frame: np.ndarray) -> bytes:
    out = io.BytesIO()
    picture = Image.fromarray(frame, "RGB" if frame.ndim == 3 else "L")
    picture.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    return out.getvalue()


def _blocks(region: Region) -> Region:
    """`region` grown to the 8x8 blocks it touches: JPEG codes each block on its own."""
    x, y = region.x // 8 * 8, region.y // 8 * 8
    right, bottom = -(-(region.x + region.width) // 8) * 8, -(-(region.y + region.height) // 8) * 8
    return Region(x, y, right - x, bottom - y)


def _changes(syntax: str, out: str, picture: Picture, photometric: str, sizes: tuple[int, int]) -> tuple[Change, ...]:
    """The header's new Image Pixel, derivation and lossy compression attributes; `sizes` are the compressed
    value's bytes before and after."""
    how = f"re-encoded {UID(out).name}" if out != ExplicitVRLittleEndian else f"decompressed from {UID(syntax).name}"
    changes = [
        Change(0x00280004, "CS", (photometric,)),
        Change(0x00082111, "ST", (f"Pixel regions masked by dicomweb-gateway; {how}",)),
    ]
    if picture.samples > 1:
        changes.append(Change(0x00280006, "US", ("0",)))
    if syntax in LOSSY_METHOD:
        native = picture.rows * picture.columns * picture.samples * picture.bits_allocated // 8 * picture.frames
        again = out in LOSSY_METHOD
        first = (f"{native / max(sizes[0], 1):.2f}",), (LOSSY_METHOD[syntax],)
        changes.append(Change(0x00282110, "CS", ("01",)))
        changes.append(Change(0x00282112, "DS", (f"{native / max(sizes[1], 1):.2f}",) if again else (), first[0]))
        changes.append(Change(0x00282114, "CS", (LOSSY_METHOD[out],) if again else (), first[1]))
    return tuple(changes)
