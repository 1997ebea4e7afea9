"""The console's pickers: the origin's studies, series and instances as the admin sees them (real values)."""

from __future__ import annotations

import requests
from support.gateway_server import GatewayProcess

from gateway.demo.planted import PLANTED
from gateway.demo.samples import STUDY_UIDS


def _admin(gateway: GatewayProcess, path: str, **params: str) -> requests.Response:
    return requests.get(gateway.url + "/admin" + path, headers=gateway.headers("admin"), params=params, timeout=30)


def test_studies_are_found_by_id_accession_or_name_prefix(gateway: GatewayProcess) -> None:
    a_studies = {STUDY_UIDS["a_ct"], STUDY_UIDS["a_followup"]}
    by_id = _admin(gateway, "/origin/studies", q=PLANTED["id.patient_a"]).json()
    assert {s["StudyInstanceUID"] for s in by_id} == a_studies
    assert {s["PatientID"] for s in by_id} == {PLANTED["id.patient_a"]}
    by_name = _admin(gateway, "/origin/studies", q=PLANTED["name.patient_a_family"][:4]).json()
    assert a_studies <= {s["StudyInstanceUID"] for s in by_name}
    assert all(s["PatientName"].startswith(PLANTED["name.patient_a_family"][:4]) for s in by_name)
    assert _admin(gateway, "/origin/studies", q="NOSUCH-PATIENT").json() == []


def test_series_and_instances_of_a_study_are_listed_in_order(gateway: GatewayProcess) -> None:
    study = STUDY_UIDS["a_ct"]
    series = _admin(gateway, f"/origin/studies/{study}/series").json()
    assert series and all(s["SeriesInstanceUID"] and s["Modality"] for s in series)
    first = series[0]["SeriesInstanceUID"]
    instances = _admin(gateway, f"/origin/studies/{study}/series/{first}/instances").json()
    numbers = [int(i["InstanceNumber"]) for i in instances]
    assert numbers == sorted(numbers) and len(numbers) > 1
    assert all(i["Rows"] and i["Columns"] for i in instances)


def test_pickers_are_for_the_admin_only_and_check_their_input(gateway: GatewayProcess) -> None:
    path = "/admin/origin/studies"
    assert requests.get(gateway.url + path, params={"q": "x"}, timeout=10).status_code == 401
    researcher = requests.get(gateway.url + path, params={"q": "x"}, headers=gateway.headers("researcher"), timeout=10)
    assert researcher.status_code == 403
    for q in ("", "*", "Wh*", "a\\b", "x" * 65):
        response = _admin(gateway, "/origin/studies", q=q)
        assert response.status_code == 400 and response.json()["message"], q
    assert _admin(gateway, "/origin/studies/1.2.x/series").status_code == 400
