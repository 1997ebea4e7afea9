"""Burned-in text read by OCR, against a real Orthanc of this module's own and the real Tesseract.

One study of patient C holds a secondary capture with her name and ID burned into the pixels and no Burned In
Annotation (the case OCR is for), a clean ultrasound, and a CT. `researcher` reads SC and US by OCR
(withhold.ocr, on_text: mask): the SC goes out with the ink of the text blanked on every pixel path, the US
unchanged, and the CT is never read (the OCR counters on /metrics do not move).
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless
from support.gateway_server import GatewayProcess, running_gateway
from support.orthanc_server import require_orthanc, running_orthanc

from gateway.demo import factory as f
from gateway.demo.planted import PLANTED as P
from gateway.demo.samples import C_US, _ct_slice
from gateway.demo.special import _start

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")
SC, US, CT, RLE = 5, 6, 7, 8  # series numbers; RLE: the SC's pixels, compressed
ROWS, COLUMNS = 240, 320
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
JSON = {"Accept": "application/dicom+json"}
FRAMES = {"Accept": 'multipart/related; type="application/octet-stream"'}
DICOM = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}


def _background() -> np.ndarray:
    y, x = np.mgrid[0:ROWS, 0:COLUMNS]
    return (20 + 60 * np.exp(-((x - 200) ** 2 + (y - 140) ** 2) / 3000.0)).astype(np.uint8)


def _burned() -> tuple[np.ndarray, np.ndarray]:
    """The SC's pixels, and the ink of the burned-in name and ID."""
    picture = Image.fromarray(_background())
    ink = Image.new("L", picture.size, 0)
    font = ImageFont.truetype(FONT, 18)
    family, given = P["name.patient_c_family"], P["name.patient_c"].split("^")[1].split()[0]
    for target, fill in ((picture, 250), (ink, 255)):
        draw = ImageDraw.Draw(target)
        draw.text((8, 8), f"{family.upper()} {given}", fill=fill, font=font)
        draw.text((8, 34), f"ID {P['id.patient_c']}", fill=fill, font=font)
    return np.asarray(picture), np.asarray(ink) > 96


def _grey(series: int, sop_class: str, modality: str, pixels: np.ndarray) -> Dataset:
    ds = _start(C_US, sop_class, series, 1, modality=modality)
    ds.SeriesDescription = f"series {series}"
    ds.ConversionType = "WSD" if modality == "SC" else ds.get("ConversionType")
    ds.set_pixel_data(pixels, "MONOCHROME2", 8, generate_instance_uid=False)
    if "BurnedInAnnotation" in ds:
        del ds.BurnedInAnnotation
    return ds


@pytest.fixture(scope="module")
def orthanc_ocr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require_orthanc()
    with running_orthanc(tmp_path_factory.mktemp("orthanc-ocr"), with_samples=False) as server:
        server.upload(f.to_part10(_grey(SC, SECONDARY_CAPTURE, "SC", _burned()[0])))
        server.upload(f.to_part10(_grey(US, f.US_IMAGE, "US", _background())))
        server.upload(f.to_part10(_ct_slice(C_US, CT, 1, 32, 32)))
        compressed = _grey(RLE, SECONDARY_CAPTURE, "SC", _burned()[0])
        compressed.compress(RLELossless, generate_instance_uid=False)
        server.upload(f.to_part10(compressed))
        yield server


@pytest.fixture(scope="module")
def gw(orthanc_ocr: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with running_gateway(tmp_path_factory.mktemp("gateway-ocr"), orthanc_ocr.dicomweb_url) as process:
        yield process


def _get(gw: GatewayProcess, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(gw.dicomweb_url + path, headers={**gw.headers("researcher"), **headers}, timeout=60)


@pytest.fixture(scope="module")
def paths(gw: GatewayProcess) -> dict[int, str]:
    """The researcher's instance path of each series, by series number (found by search, not metadata)."""
    study = _get(gw, "/studies", JSON).json()[0]["0020000D"]["Value"][0]
    found = {}
    for item in _get(gw, f"/studies/{study}/series", JSON).json():
        series = item["0020000E"]["Value"][0]
        instance = _get(gw, f"/studies/{study}/series/{series}/instances", JSON).json()[0]["00080018"]["Value"][0]
        found[item["00200011"]["Value"][0]] = f"/studies/{study}/series/{series}/instances/{instance}"
    return found


def _ocr_counts(gw: GatewayProcess) -> dict[str, float]:
    text = requests.get(gw.url + "/metrics", timeout=10).text
    return {m[1]: float(m[2]) for m in re.finditer(r'^gateway_ocr_reads_total\{outcome="(\w+)"\} (\S+)$', text, re.M)}


def _retrieved_pixels(gw: GatewayProcess, path: str) -> tuple[np.ndarray, Dataset]:
    client = DICOMwebClient(gw.dicomweb_url, headers=gw.headers("researcher"))
    study, series, instance = path.split("/")[2::2]
    ds = client.retrieve_instance(study, series, instance)
    return ds.pixel_array, ds


def _frame(gw: GatewayProcess, path: str) -> np.ndarray:
    answer = _get(gw, path + "/frames/1", FRAMES)
    assert answer.status_code == 200
    boundary = answer.headers["Content-Type"].split("boundary=")[1].split(";")[0].strip('"').encode()
    part = answer.content.split(b"--" + boundary)[1]
    body = part.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
    return np.frombuffer(body[: ROWS * COLUMNS], dtype=np.uint8).reshape(ROWS, COLUMNS)


def _image(gw: GatewayProcess, path: str, accept: str) -> np.ndarray:
    answer = _get(gw, path, {"Accept": accept})
    assert answer.status_code == 200, path
    return np.asarray(Image.open(io.BytesIO(answer.content)).convert("L"))


def test_the_burned_in_name_is_masked_on_retrieve_frames_rendered_and_thumbnail(
    gw: GatewayProcess, paths: dict[int, str]
) -> None:
    _, ink = _burned()
    pixels, ds = _retrieved_pixels(gw, paths[SC])
    assert not pixels[ink].any()  # every pixel of the text's ink is blanked
    assert ds.BurnedInAnnotation == "NO"  # what the mask leaves
    assert np.array_equal(pixels[160:], _background()[160:])  # the mask stays by the text (at the top)
    assert not _frame(gw, paths[SC])[ink].any()
    assert _image(gw, paths[SC] + "/rendered", "image/png")[ink].max() < 8
    thumbnail = _image(gw, paths[SC] + "/thumbnail", "image/png")
    scaled = np.asarray(Image.fromarray(ink).resize(thumbnail.shape[::-1], Image.Resampling.BOX))
    assert thumbnail[scaled].max() < 40  # the box, as scaled: dark


def test_compressed_pixels_with_burned_in_text_are_masked_on_every_path(
    gw: GatewayProcess, paths: dict[int, str]
) -> None:
    _, ink = _burned()
    pixels, _ = _retrieved_pixels(gw, paths[RLE])  # decoded, masked and encoded again (core/rules/encapsulated)
    assert not pixels[ink].any()
    assert not _frame(gw, paths[RLE])[ink].any()  # frames are asked of the origin as native pixels, and masked
    assert _image(gw, paths[RLE] + "/rendered", "image/png")[ink].max() < 8


def test_a_clean_ultrasound_passes_unmasked(gw: GatewayProcess, paths: dict[int, str]) -> None:
    pixels, _ = _retrieved_pixels(gw, paths[US])
    assert np.array_equal(pixels, _background())
    assert np.array_equal(_frame(gw, paths[US]), _background())
    assert _counts_of(gw).get("clean", 0) >= 1


def test_a_ct_is_never_read(gw: GatewayProcess, paths: dict[int, str]) -> None:
    before = _counts_of(gw)
    _retrieved_pixels(gw, paths[CT])
    assert _get(gw, paths[CT] + "/frames/1", FRAMES).status_code == 200
    assert _get(gw, paths[CT] + "/rendered", {"Accept": "image/png"}).status_code == 200
    assert _get(gw, paths[CT] + "/metadata", JSON).status_code == 200
    assert _counts_of(gw) == before


def test_each_instance_is_read_once_and_the_log_holds_no_text(gw: GatewayProcess, paths: dict[int, str]) -> None:
    for path in (paths[SC], paths[US]):
        _retrieved_pixels(gw, path)
        _get(gw, path + "/rendered", {"Accept": "image/png"})
    assert sum(_counts_of(gw).values()) == 3  # the two SCs and the US, once each, whatever the paths
    log = gw.log_path.read_text()
    assert "burned-in text judged" in log
    assert P["name.patient_c_family"].upper() not in log and P["id.patient_c"] not in log


def _counts_of(gw: GatewayProcess) -> dict[str, float]:
    return _ocr_counts(gw)
