"""Issue 7, the admin page in headless chromium: edit a rule, see the preview change, save, and check that the
next request through the gateway follows the new rule, on both of two replicas sharing one Redis."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support.gateway_server import ROLE_KEYS, GatewayProcess
from support.redis_server import RedisServer

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED
from gateway.demo.samples import STUDY_UIDS

FLOW = Path(__file__).with_name("admin_flow.mjs")
CHROMIUM = Path("/usr/bin/chromium")
JSON = {"Accept": "application/dicom+json"}
REFRESH_S = 0.25  # governance.refresh_s, the default
PATIENT_A = {"PatientID": PLANTED["id.patient_a"], "IssuerOfPatientID": PLANTED["id.patient_a_issuer"]}
pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def replicas(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[GatewayProcess]]:
    redis = RedisServer(tmp_path_factory.mktemp("admin-redis"))
    redis.start()
    started: list[GatewayProcess] = []
    try:
        for name in ("admin-one", "admin-two"):
            workdir = tmp_path_factory.mktemp(name)
            started.append(GatewayProcess(workdir, upstream_url=orthanc.dicomweb_url, store_url=redis.url).start())
        yield started
    finally:
        for gateway in started:
            gateway.stop()
        redis.close()


def _cr_instance(gateway: GatewayProcess) -> dict[str, str]:
    study = STUDY_UIDS["b_cr"]
    instance = requests.get(
        gateway.dicomweb_url + f"/studies/{study}/instances",
        headers={**gateway.headers("clinician"), **JSON},
        timeout=10,
    ).json()[0]
    return {
        "StudyInstanceUID": study,
        "SeriesInstanceUID": instance["0020000E"]["Value"][0],
        "SOPInstanceUID": instance["00080018"]["Value"][0],
    }


def _researcher_sees_sex(gateway: GatewayProcess) -> bool:
    headers = {**gateway.headers("researcher"), **JSON}
    studies = requests.get(
        gateway.dicomweb_url + "/studies", headers=headers, params={"includefield": "00080061"}, timeout=10
    ).json()
    cr = next(s for s in studies if "CR" in s.get("00080061", {}).get("Value", []))
    metadata = requests.get(
        gateway.dicomweb_url + f"/studies/{cr['0020000D']['Value'][0]}/metadata", headers=headers, timeout=10
    ).json()
    return all("00100040" in obj for obj in metadata)


def _run_flow(ohif_installed: Path, gateway: GatewayProcess, withdrawal: dict[str, str]) -> dict[str, Any]:
    options = {
        "adminUrl": gateway.url + "/admin/",
        "adminKey": ROLE_KEYS["admin"],
        "role": "researcher",
        "search": PLANTED["id.patient_b"],
        "instance": _cr_instance(gateway),
        "badLine": "overrides:\n  NoSuchAttribute: remove\n",
        "goodLine": "overrides:\n  PatientSex: remove\n",
        "keyword": "PatientSex",
        "ohifDir": str(ohif_installed),
        "chromium": str(CHROMIUM),
        "withdrawal": withdrawal,
    }
    node = shutil.which("node") or pytest.fail("node is missing: install Node.js 18+", pytrace=False)
    done = subprocess.run(
        [node, str(FLOW), json.dumps(options)], capture_output=True, text=True, timeout=120, check=False
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"admin flow gave no report:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}", pytrace=False)
    assert report["error"] is None, report
    return report


def test_edit_preview_save_and_the_next_request_follows_the_new_rule(
    ohif_installed: Path, replicas: list[GatewayProcess]
) -> None:
    one, two = replicas
    assert _researcher_sees_sex(one) and _researcher_sees_sex(two)
    # Patient A's CT study goes to researcher, then A opts out: the console shows the withdrawal waiting.
    headers = {**one.headers("researcher"), **JSON}
    studies = requests.get(one.dicomweb_url + "/studies", headers=headers, timeout=10).json()
    for study in studies:
        requests.get(
            one.dicomweb_url + f"/studies/{study['0020000D']['Value'][0]}/metadata", headers=headers, timeout=10
        ).raise_for_status()
    added = requests.post(one.url + "/admin/optouts", json=PATIENT_A, headers=one.headers("admin"), timeout=30)
    assert added.status_code == 201 and added.json()["withdrawals"].get("researcher")
    try:
        report = _run_flow(ohif_installed, one, PATIENT_A)
    finally:
        requests.delete(one.url + "/admin/optouts", json=PATIENT_A, headers=one.headers("admin"), timeout=30)
    [researcher] = [w for w in report["withdrawals"] if w["cells"][0] == "researcher"]
    assert researcher["pending"] and researcher["cells"][3] == "not yet" and "instances" in researcher["cells"][2]
    try:
        assert report["storedKey"] is True
        assert report["before"] == {"before": "M", "after": "M", "change": "kept"}
        assert "researcher.yaml: overrides.NoSuchAttribute:" in report["validationError"]
        assert report["after"] == {"before": "M", "after": "—", "change": "removed"}
        assert report["saveStatus"].startswith("saved as version 1")
        assert not _researcher_sees_sex(one)  # the next request on the replica that took the edit
        time.sleep(REFRESH_S)
        assert not _researcher_sees_sex(two)  # and on the other one, once its view refreshed
    finally:
        restore = requests.put(
            one.url + "/admin/roles/researcher",
            headers=one.headers("admin"),
            json={"text": report["original"]},
            timeout=10,
        )
        assert restore.status_code == 200
    assert _researcher_sees_sex(one)
