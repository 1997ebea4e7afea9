"""Pixel masks on encapsulated pixel data (issue 19): decoded, masked, encoded again, or answered natively.

Lossless syntaxes must come back in their own syntax, bit-exact outside the mask; JPEG baseline comes back in
Explicit VR Little Endian when the client takes it (exactly the first generation, masked), else as a second JPEG
generation whose PSNR is printed (`pytest -s tests/core/test_compressed_masks.py`; figures in
bench/compressed-mask-report.md).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
import yaml
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, JPEGLSLossless, RLELossless
from support.compressed import LOSSLESS, REGION, RULE, Made, compressed, psnr

from gateway.adapters.sqlite.pseudonyms import SqliteStore
from gateway.core.governance.model import Withdrawals
from gateway.core.instance import Deidentifier, read_instance, rewrite_instance
from gateway.core.keys import Keyring
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.rules.encapsulated import ANY, Accepted
from gateway.core.rules.engine import Engine
from gateway.core.rules.pixels import Region
from gateway.core.rules.profile import load_profiles
from gateway.errors import Withheld

REPO = Path(__file__).resolve().parents[2]
ONLY_JPEG = Accepted(frozenset({JPEGBaseline8Bit}))
ONLY_JPEGLS = Accepted(frozenset({JPEGLSLossless}))


async def chunked(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture
async def masking(tmp_path: Path) -> AsyncIterator[Deidentifier]:
    roles = tmp_path / "roles"
    shutil.copytree(REPO / "conf" / "roles", roles)
    profile = yaml.safe_load((roles / "researcher.yaml").read_text())
    profile["pixel_rules"] = [RULE]
    (roles / "researcher.yaml").write_text(yaml.safe_dump(profile))
    compiled = load_profiles(roles)["researcher"]
    assert compiled.scope is not None
    store = SqliteStore(str(tmp_path / "pseudonyms.db"))
    yield Deidentifier(
        Engine(compiled), compiled.scope, Resolver(store, Keyring(b"mask-test-secret-01234"), 1), Withdrawals()
    )
    await store.aclose()


async def masked(made: Made, with_: Deidentifier, accepted: Accepted = ANY) -> tuple[str, pydicom.Dataset]:
    read = await read_instance(chunked(made.data), with_)
    mappings = await with_.resolver.resolve(with_.scope, read.needs)
    instance = await rewrite_instance(read, with_.engine, mappings, accepted=accepted)
    pixels = b"".join([bytes(chunk) async for chunk in instance.pixels])
    await instance.finish()
    return instance.transfer_syntax, pydicom.dcmread(io.BytesIO(instance.header + pixels))


def frames_of(ds: pydicom.Dataset, made: Made) -> np.ndarray:
    return ds.pixel_array.reshape(made.source.shape)


def outside(frames: np.ndarray, region: Region = REGION) -> np.ndarray:
    keep = np.ones(frames.shape[1:3], bool)
    keep[region.y : region.y + region.height, region.x : region.x + region.width] = False
    return frames[:, keep]


def inside(frames: np.ndarray) -> np.ndarray:
    return frames[:, REGION.y : REGION.y + REGION.height, REGION.x : REGION.x + REGION.width]


@pytest.mark.parametrize("name", sorted(LOSSLESS))
async def test_lossless_is_reencoded_in_its_syntax_and_exact_outside_the_mask(name: str, masking: Deidentifier) -> None:
    syntax, samples, bits, frames = LOSSLESS[name]
    made = compressed(syntax, samples=samples, bits_stored=bits, frames=frames)
    assert inside(made.source).any()  # the "burned-in text" is there to be masked
    out_syntax, ds = await masked(made, masking)
    assert out_syntax == syntax == ds.file_meta.TransferSyntaxUID
    got = frames_of(ds, made)
    assert not inside(got).any()
    assert np.array_equal(outside(got), outside(made.source))
    assert ds.ImageType[0] == "DERIVED" and "masked" in ds.DerivationDescription
    assert ds.BurnedInAnnotation == "NO" and "LossyImageCompression" not in ds
    assert ds.PatientID != "MASK-1"


@pytest.mark.parametrize("samples", [1, 3])
async def test_jpeg_baseline_goes_out_native_when_the_client_takes_it(samples: int, masking: Deidentifier) -> None:
    made = compressed(JPEGBaseline8Bit, samples=samples)
    out_syntax, ds = await masked(made, masking)
    assert out_syntax == ExplicitVRLittleEndian == ds.file_meta.TransferSyntaxUID
    got = frames_of(ds, made)
    assert not inside(got).any()
    assert np.array_equal(outside(got), outside(made.source))  # the first generation, exactly
    assert ds.PhotometricInterpretation == ("RGB" if samples == 3 else "MONOCHROME2")
    assert ds.LossyImageCompression == "01" and ds.LossyImageCompressionMethod == "ISO_10918_1"
    assert float(ds.LossyImageCompressionRatio) > 1
    print(f"\nJPEG baseline, {samples} sample(s), answered native: PSNR outside the mask = inf (bit-exact)")


@pytest.mark.parametrize("samples", [1, 3])
async def test_jpeg_baseline_is_a_second_generation_when_only_jpeg_is_accepted(
    samples: int, masking: Deidentifier
) -> None:
    made = compressed(JPEGBaseline8Bit, samples=samples)
    out_syntax, ds = await masked(made, masking, ONLY_JPEG)
    assert out_syntax == JPEGBaseline8Bit == ds.file_meta.TransferSyntaxUID
    got = frames_of(ds, made)
    assert ds.PhotometricInterpretation == ("YBR_FULL" if samples == 3 else "MONOCHROME2")
    assert not inside(got).any()  # the mask is grown to whole 8x8 blocks, which then decode blank
    blocks = Region(0, 0, 32, 16)  # REGION (4, 2, 24, 10) grown to its blocks
    figure = psnr(outside(got, blocks), outside(made.source, blocks), 255)
    print(f"\nJPEG baseline, {samples} sample(s), second generation: PSNR outside the mask = {figure:.1f} dB")
    assert figure > 35
    assert ds.LossyImageCompression == "01"
    assert list(ds.LossyImageCompressionMethod) == ["ISO_10918_1", "ISO_10918_1"]
    assert len(ds.LossyImageCompressionRatio) == 2
    assert "re-encoded" in ds.DerivationDescription and ds.ImageType[0] == "DERIVED"


async def test_lossy_is_withheld_when_the_client_takes_neither(masking: Deidentifier) -> None:
    with pytest.raises(Withheld, match=r"mask-no-encoder-for-accepted-syntax \(0002,0010\)"):
        await masked(compressed(JPEGBaseline8Bit), masking, ONLY_JPEGLS)


async def test_pixels_that_do_not_decode_are_withheld(masking: Deidentifier) -> None:
    made = compressed(RLELossless)
    broken = made.data[:-40] + bytes(32) + made.data[-8:]  # the RLE segments cut short, the delimiter kept
    with pytest.raises(Withheld, match=r"\(7FE0,0010\)"):
        await masked(Made(broken, made.source, made.syntax), masking)
