"""Masks on compressed pixels through a real Orthanc (issue 19): WADO-RS retrieve answers them masked.

Lossless syntaxes come back in their own syntax, bit-exact outside the mask; JPEG baseline comes back in
Explicit VR Little Endian when the client takes any syntax, and as JPEG baseline again when that is all it takes.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests
import yaml
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, RLELossless
from support.compressed import REGION, RULE, Made, compressed
from support.gateway_server import ROLE_KEYS, GatewayProcess
from support.orthanc_server import require_orthanc, running_orthanc

from gateway.codec.media import MediaType
from gateway.demo.orthanc import OrthancProcess

REPO = Path(__file__).resolve().parents[2]
KEY = "compressed-mask-key-0123456789"
MADE = {
    "rle": compressed(RLELossless, samples=3, bits_stored=8, sop="1"),
    "jpegls": compressed(JPEGLSLossless, samples=1, bits_stored=12, frames=2, sop="2"),
    "j2k": compressed(JPEG2000Lossless, samples=1, bits_stored=12, sop="3"),
    "jpeg": compressed(JPEGBaseline8Bit, samples=3, bits_stored=8, sop="4"),
}
DICOM = 'multipart/related; type="application/dicom"'


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancProcess]:
    require_orthanc()
    with running_orthanc(tmp_path_factory.mktemp("orthanc-compressed"), with_samples=False) as server:
        for made in MADE.values():
            server.upload(made.data)
        yield server


@pytest.fixture
def gateway(origin: OrthancProcess, start_gateway: Callable[..., GatewayProcess], tmp_path: Path) -> GatewayProcess:
    roles = tmp_path / "roles"
    shutil.copytree(REPO / "conf" / "roles", roles)
    profile = yaml.safe_load((roles / "researcher.yaml").read_text())
    profile["scope"]["name"] = "masked"
    profile["pixel_rules"] = [RULE]
    # The instances are OT, which researcher reads for burned-in text: not what this test is about (and the
    # origin cannot render the JPEG 2000 one for reading, so OCR would withhold it, failing closed).
    profile.get("withhold", {}).pop("ocr", None)
    (roles / "masked.yaml").write_text(yaml.safe_dump(profile))
    keys = {key: role for role, key in ROLE_KEYS.items()} | {KEY: "masked"}
    return start_gateway(origin.dicomweb_url, roles_dir=str(roles), auth={"api_keys": keys})


def retrieve(gateway: GatewayProcess, accept: str, path: str = "") -> dict[str, tuple[str, pydicom.Dataset]]:
    """Every instance of the study (or of `path` under it) by kind: (the part's transfer syntax, its data set)."""
    found = requests.get(
        gateway.dicomweb_url + "/studies", headers={"Authorization": f"Bearer {KEY}"}, timeout=30
    ).json()
    assert len(found) == 1
    study = found[0]["0020000D"]["Value"][0]
    response = requests.get(
        f"{gateway.dicomweb_url}/studies/{study}{path}",
        headers={"Authorization": f"Bearer {KEY}", "Accept": accept},
        timeout=60,
    )
    assert response.status_code == 200, response.text[:200]
    boundary = MediaType.parse(response.headers["Content-Type"]).boundary
    assert boundary is not None
    out = {}
    for chunk in response.content.split(b"--" + boundary.encode())[1:-1]:
        head, body = chunk.split(b"\r\n\r\n", 1)
        syntax = MediaType.parse(head.decode().split(":", 1)[1].strip()).transfer_syntax
        ds = pydicom.dcmread(io.BytesIO(body.removesuffix(b"\r\n")))
        out[_kind(ds)] = (str(syntax), ds)
    return out


def _kind(ds: pydicom.Dataset) -> str:
    if ds.get("LossyImageCompression") == "01":
        return "jpeg"
    if int(ds.SamplesPerPixel) == 3:
        return "rle"
    return "jpegls" if int(ds.get("NumberOfFrames", 1)) == 2 else "j2k"


def _check(made: Made, ds: pydicom.Dataset, *, exact: bool) -> None:
    got = ds.pixel_array.reshape(made.source.shape)
    blank = got[:, REGION.y : REGION.y + REGION.height, REGION.x : REGION.x + REGION.width]
    assert not blank.any()
    keep = np.ones(got.shape[1:3], bool)
    keep[: (REGION.y + REGION.height + 7) // 8 * 8, : (REGION.x + REGION.width + 7) // 8 * 8] = False
    if exact:
        keep[: REGION.y + REGION.height, : REGION.x + REGION.width] = True
        keep[REGION.y : REGION.y + REGION.height, REGION.x : REGION.x + REGION.width] = False
        assert np.array_equal(got[:, keep], made.source[:, keep])
    else:
        error = np.abs(got[:, keep].astype(int) - made.source[:, keep].astype(int))
        assert error.mean() < 2


def test_retrieve_masks_compressed_instances(gateway: GatewayProcess) -> None:
    parts = retrieve(gateway, DICOM + "; transfer-syntax=*")
    assert set(parts) == set(MADE)
    expected = {"rle": RLELossless, "jpegls": JPEGLSLossless, "j2k": JPEG2000Lossless, "jpeg": ExplicitVRLittleEndian}
    for kind, (syntax, ds) in parts.items():
        assert syntax == expected[kind] == ds.file_meta.TransferSyntaxUID, kind
        _check(MADE[kind], ds, exact=True)  # lossless, and the JPEG's first generation decompressed
        assert ds.ImageType[0] == "DERIVED" and ds.BurnedInAnnotation == "NO"
        assert ds.PatientID != "MASK-1"
    assert parts["jpeg"][1].LossyImageCompression == "01"


def test_a_client_that_takes_only_jpeg_gets_a_second_generation(gateway: GatewayProcess) -> None:
    jpeg = retrieve(gateway, DICOM + "; transfer-syntax=*")["jpeg"][1]
    path = f"/series/{jpeg.SeriesInstanceUID}/instances/{jpeg.SOPInstanceUID}"
    parts = retrieve(gateway, DICOM + f"; transfer-syntax={JPEGBaseline8Bit}", path)
    syntax, ds = parts["jpeg"]
    assert syntax == JPEGBaseline8Bit == ds.file_meta.TransferSyntaxUID
    _check(MADE["jpeg"], ds, exact=False)
    assert list(ds.LossyImageCompressionMethod) == ["ISO_10918_1", "ISO_10918_1"]
