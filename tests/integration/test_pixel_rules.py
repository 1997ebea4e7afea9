"""A role with a pixel rule: the masked region is blank on every path (retrieve, frames, rendered, thumbnail)."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests
import yaml
from PIL import Image
from support.gateway_server import ROLE_KEYS, GatewayProcess

from gateway.demo.orthanc import OrthancProcess

REPO = Path(__file__).resolve().parents[2]
KEY = "masked-role-key-0123456789"
BAND = 12  # rows blanked at the top of every 128x128 CT slice


@pytest.fixture
def masking_gateway(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], tmp_path: Path
) -> GatewayProcess:
    roles = tmp_path / "roles"
    shutil.copytree(REPO / "conf" / "roles", roles)
    profile = yaml.safe_load((roles / "researcher.yaml").read_text())
    profile["scope"]["name"] = "masked"
    profile["pixel_rules"] = [{"match": {"Rows": 128, "Columns": 128}, "regions": [[0, 0, 128, BAND]]}]
    (roles / "masked.yaml").write_text(yaml.safe_dump(profile))
    keys = {key: role for role, key in ROLE_KEYS.items()} | {KEY: "masked"}
    return start_gateway(orthanc.dicomweb_url, roles_dir=str(roles), auth={"api_keys": keys})


def _get(gateway: GatewayProcess, path: str, accept: str) -> requests.Response:
    response = requests.get(
        gateway.dicomweb_url + path, headers={"Authorization": f"Bearer {KEY}", "Accept": accept}, timeout=30
    )
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return response


def _ct_instance(gateway: GatewayProcess) -> str:
    found = _get(gateway, "/instances?Modality=CT&limit=1", "application/dicom+json").json()[0]
    uids = [found[tag]["Value"][0] for tag in ("0020000D", "0020000E", "00080018")]
    return "/studies/{}/series/{}/instances/{}".format(*uids)


def test_retrieved_instance_has_the_band_blanked(masking_gateway: GatewayProcess) -> None:
    response = _get(masking_gateway, _ct_instance(masking_gateway), 'multipart/related; type="application/dicom"')
    part = response.content.split(b"\r\n\r\n", 1)[1]
    ds = pydicom.dcmread(io.BytesIO(part), force=True)
    pixels = ds.pixel_array
    assert not pixels[:BAND].any() and pixels[BAND:].any()


def test_frames_have_the_band_blanked(masking_gateway: GatewayProcess) -> None:
    accept = "multipart/related; type=application/octet-stream; transfer-syntax=*"
    response = _get(masking_gateway, _ct_instance(masking_gateway) + "/frames/1", accept)
    body = response.content.split(b"\r\n\r\n", 1)[1]
    frame = np.frombuffer(body[: 128 * 128 * 2], dtype="<u2").reshape(128, 128)
    assert not frame[:BAND].any() and frame[BAND:].any()


@pytest.mark.parametrize(("suffix", "size"), [("/rendered", (128, 128)), ("/thumbnail", (128, 128))])
def test_rendered_images_have_the_band_blanked(
    masking_gateway: GatewayProcess, suffix: str, size: tuple[int, int]
) -> None:
    response = _get(masking_gateway, _ct_instance(masking_gateway) + suffix, "image/png")
    image = np.asarray(Image.open(io.BytesIO(response.content)).convert("L"))
    assert image.shape == size[::-1]
    assert not image[:BAND].any() and image[BAND + 2 :].any()


def test_an_instance_a_pixel_rule_cleans_is_listed_in_searches(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], tmp_path: Path
) -> None:
    """The ultrasound's BurnedInAnnotation YES withholds it unless a rule masks it, and the rule matches on device
    and image size: a search must ask the origin for those, or the rule never applies in a list."""
    roles = tmp_path / "roles"
    shutil.copytree(REPO / "conf" / "roles", roles)
    profile = yaml.safe_load((roles / "researcher.yaml").read_text())
    profile["scope"]["name"] = "masked"
    match = {"Manufacturer": "ACME Medical Systems", "ManufacturerModelName": "Synthetica US", "Rows": 96,
             "Columns": 128}  # fmt: skip
    profile["pixel_rules"] = [{"match": match, "regions": [[0, 0, 128, 16]]}]
    (roles / "masked.yaml").write_text(yaml.safe_dump(profile))
    keys = {key: role for role, key in ROLE_KEYS.items()} | {KEY: "masked"}
    gateway = start_gateway(orthanc.dicomweb_url, roles_dir=str(roles), auth={"api_keys": keys})
    for level in ("series", "instances"):
        found = _get(gateway, f"/{level}?Modality=US", "application/dicom+json").json()
        assert len(found) == 1, level
    as_researcher = requests.get(
        gateway.dicomweb_url + "/series?Modality=US",
        timeout=30,
        headers={**gateway.headers("researcher"), "Accept": "application/dicom+json"},
    )
    assert as_researcher.json() == []  # no rule for researcher: still withheld
