"""Head volumes a face could be rendered from, against a real Orthanc of this module's own.

One study holds a thin-slice head CT (24 slices), a chest CT and a head CT marked DEFACED. `external` withholds
head volumes (withhold.face_volumes), `researcher` does not. So that a 404 means "withheld" and not "a pseudonym
this scope never issued", the external pseudonyms are first issued by a gateway on the same store whose external
profile has the option off; the gateway under test then starts on that store with the shipped profiles.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset
from support.gateway_server import REPO, GatewayProcess, running_gateway
from support.orthanc_server import require_orthanc, running_orthanc

from gateway.demo import factory as f
from gateway.demo.modules import PATIENT_A, Study
from gateway.demo.planted import PLANTED as P
from gateway.demo.samples import _ct_slice

STUDY = Study("a_ct", PATIENT_A, f.uid(7, 1), "CT trauma series", P["name.referring_a"], P["institution.a"])
HEAD, CHEST, DEFACED = 1, 2, 3  # series numbers
SLICES = 24
JSON = {"Accept": "application/dicom+json"}
FRAMES = {"Accept": 'multipart/related; type="application/octet-stream"'}
DICOM = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}


def _slice(series: int, index: int) -> Dataset:
    ds = _ct_slice(STUDY, series, index, 32, 32)
    ds.SliceThickness = "1.25"
    ds.SeriesDescription = "Axial 1.25mm DEFACED" if series == DEFACED else "Axial 1.25mm"
    ds.BodyPartExamined = "CHEST" if series == CHEST else "HEAD"
    return ds


@pytest.fixture(scope="module")
def orthanc_faces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require_orthanc()
    with running_orthanc(tmp_path_factory.mktemp("orthanc-faces"), with_samples=False) as server:
        for series in (HEAD, CHEST, DEFACED):
            for index in range(1, SLICES + 1):
                server.upload(f.to_part10(_slice(series, index)))
        yield server


def _series_by_number(gw: GatewayProcess, role: str, study: str) -> dict[int, str]:
    found = _get(gw, role, f"/studies/{study}/series", JSON).json()
    return {item["00200011"]["Value"][0]: item["0020000E"]["Value"][0] for item in found}


def _get(gw: GatewayProcess, role: str, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(gw.dicomweb_url + path, headers={**gw.headers(role), **headers}, timeout=30)


def _only_study(gw: GatewayProcess, role: str) -> str:
    studies = _get(gw, role, "/studies", JSON).json()
    assert len(studies) == 1
    return str(studies[0]["0020000D"]["Value"][0])


def _first_instance(gw: GatewayProcess, role: str, study: str, series: str) -> str:
    instances = _get(gw, role, f"/studies/{study}/series/{series}/instances", JSON).json()
    return str(instances[0]["00080018"]["Value"][0])


@pytest.fixture(scope="module")
def issued(orthanc_faces: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The external pseudonyms of every series and one instance each, issued with the option off."""
    workdir = tmp_path_factory.mktemp("gateway-faces-open")
    roles = workdir / "roles"
    shutil.copytree(REPO / "conf" / "roles", roles)
    external = roles / "external.yaml"
    external.write_text(external.read_text().replace("face_volumes: true", "face_volumes: false"))
    store = f"sqlite:///{tmp_path_factory.mktemp('faces-store') / 'pseudonyms.sqlite3'}"
    with running_gateway(workdir, orthanc_faces.dicomweb_url, store_url=store, roles_dir=str(roles)) as gw:
        study = _only_study(gw, "external")
        series = _series_by_number(gw, "external", study)
        assert set(series) == {HEAD, CHEST, DEFACED}  # with the option off, nothing is withheld
        instances = {number: _first_instance(gw, "external", study, uid) for number, uid in series.items()}
    return {"store": store, "study": study, "series": series, "instances": instances}


@pytest.fixture(scope="module")
def gw(
    orthanc_faces: Any, issued: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("gateway-faces")
    with running_gateway(workdir, orthanc_faces.dicomweb_url, store_url=issued["store"]) as process:
        yield process


def _paths(issued: dict[str, Any], number: int) -> dict[str, tuple[str, dict[str, str]]]:
    series = f"/studies/{issued['study']}/series/{issued['series'][number]}"
    instance = f"{series}/instances/{issued['instances'][number]}"
    return {
        "series metadata": (series + "/metadata", JSON),
        "instance metadata": (instance + "/metadata", JSON),
        "series retrieve": (series, DICOM),
        "instance retrieve": (instance, DICOM),
        "frames": (instance + "/frames/1", FRAMES),
        "rendered": (instance + "/rendered", {"Accept": "image/png"}),
        "instance thumbnail": (instance + "/thumbnail", {"Accept": "image/jpeg"}),
        "series thumbnail": (series + "/thumbnail", {"Accept": "image/jpeg"}),
    }


def test_external_lists_no_head_volume(gw: GatewayProcess, issued: dict[str, Any]) -> None:
    study = issued["study"]
    assert _series_by_number(gw, "external", study) == {CHEST: issued["series"][CHEST],
                                                        DEFACED: issued["series"][DEFACED]}  # fmt: skip
    assert len(_get(gw, "external", f"/studies/{study}/instances", JSON).json()) == 2 * SLICES
    head = f"/studies/{study}/series/{issued['series'][HEAD]}/instances"
    answer = _get(gw, "external", head, JSON)
    assert answer.status_code == 200 and answer.json() == []
    all_series = _get(gw, "external", "/series", JSON).json()
    assert {item["0020000E"]["Value"][0] for item in all_series} == {issued["series"][CHEST],
                                                                     issued["series"][DEFACED]}  # fmt: skip
    assert len(_get(gw, "external", "/studies", JSON).json()) == 1  # the study stays: other series remain


@pytest.mark.parametrize("kind", list(_paths({"study": "", "series": {1: ""}, "instances": {1: ""}}, 1)))
def test_external_gets_404_for_the_head_volume_and_the_rest_is_served(
    gw: GatewayProcess, issued: dict[str, Any], kind: str
) -> None:
    path, headers = _paths(issued, HEAD)[kind]
    assert _get(gw, "external", path, headers).status_code == 404
    for number in (CHEST, DEFACED):
        path, headers = _paths(issued, number)[kind]
        assert _get(gw, "external", path, headers).status_code == 200, (kind, number)


def test_a_study_retrieve_leaves_the_head_volume_out(gw: GatewayProcess, issued: dict[str, Any]) -> None:
    client = DICOMwebClient(gw.dicomweb_url, headers=gw.headers("external"))
    instances = client.retrieve_study(issued["study"])
    assert len(instances) == 2 * SLICES
    assert {ds.SeriesInstanceUID for ds in instances} == {issued["series"][CHEST], issued["series"][DEFACED]}


def test_researcher_is_served_every_series(gw: GatewayProcess) -> None:
    study = _only_study(gw, "researcher")
    series = _series_by_number(gw, "researcher", study)
    assert set(series) == {HEAD, CHEST, DEFACED}
    instance = _first_instance(gw, "researcher", study, series[HEAD])
    issued = {"study": study, "series": series, "instances": {HEAD: instance}}
    for kind, (path, headers) in _paths(issued, HEAD).items():
        assert _get(gw, "researcher", path, headers).status_code == 200, kind


def test_the_log_names_reasons_not_values(gw: GatewayProcess) -> None:
    text = Path(gw.log_path).read_text()
    assert "face-volume (0018,0015)" in text
    assert "Axial 1.25mm" not in text and P["name.patient_a_family"] not in text
