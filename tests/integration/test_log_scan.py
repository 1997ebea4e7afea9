"""Issue 8, logs: the planted-identifier crawl with DEBUG logging, then a scan of everything the gateway wrote.

A gateway process of its own (so its log holds only this run) logs at DEBUG (the GatewayProcess default) to a
file that captures stdout and stderr. The crawl of test_deidentified runs for the researcher and the external
role, plus requests that put planted values where a careless log would pick them up: the query string, an
unknown path, a refused credential. The scan then looks for every planted value in every byte form a body
could carry, in JSON escapes too, and for any real UID; and every line must be a JSON record with a request id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from support.gateway_server import GatewayProcess
from test_deidentified import crawl_role

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED, encoded_forms
from gateway.demo.samples import UID_ROOT

pytestmark = pytest.mark.integration
JSON = {"Accept": "application/dicom+json"}


@dataclass
class Logged:
    gateway: GatewayProcess
    requests: int  # requests the crawl and _provoke made


@pytest.fixture(scope="module")
def logged(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> Logged:
    workdir = tmp_path_factory.mktemp("logged-gateway")
    process = GatewayProcess(workdir, upstream_url=orthanc.dicomweb_url).start()
    made = 0
    try:
        for role in ("researcher", "external"):
            made += len(crawl_role(process, role).bodies) + _provoke(process, role)
    finally:
        process.stop()  # flushes; the shutdown records are scanned too
    return Logged(process, made)


def _provoke(gateway: GatewayProcess, role: str) -> int:
    """Requests whose query, path or headers hold identifying values, refused or translated by the gateway."""
    headers = {**gateway.headers(role), **JSON, "X-Request-ID": PLANTED["id.patient_a"]}  # never logged
    queries = [
        {"PatientID": PLANTED["id.patient_a"]},
        {"PatientName": PLANTED["name.patient_a_family"] + "*"},
        {"PatientName": PLANTED["name.patient_b"]},
        {"AccessionNumber": PLANTED["accession.a_ct"]},
        {"StudyInstanceUID": UID_ROOT + "1.1"},
        {"ReferringPhysicianName": PLANTED["name.referring_a"]},
    ]
    for query in queries:
        requests.get(gateway.dicomweb_url + "/studies", headers=headers, params=query, timeout=30)
    for path in (f"/studies/{UID_ROOT}1.1/metadata", f"/studies/{quote(PLANTED['name.patient_a'])}/series"):
        requests.get(gateway.dicomweb_url + path, headers=headers, timeout=30)
    requests.get(
        gateway.dicomweb_url + "/studies",
        headers={"Authorization": f"Bearer {PLANTED['id.patient_a']}", **JSON},
        params={"PatientID": PLANTED["id.patient_b"]},
        timeout=30,
    )
    return len(queries) + 3


def _forms(value: str) -> set[bytes]:
    """encoded_forms plus how a JSON writer that escapes non-ASCII would spell the value."""
    return encoded_forms(value) | {json.dumps(value)[1:-1].encode()}


def _log(logged: Logged) -> bytes:
    data = logged.gateway.log_path.read_bytes()
    assert data.count(b"\n") > logged.requests > 50, "every request logs at least its access record"
    return data


def test_no_planted_value_or_real_uid_in_the_debug_log(logged: Logged) -> None:
    data = _log(logged)
    planted = {key: value for key, value in PLANTED.items() if key != "uid_root"}
    found = sorted(key for key, value in planted.items() if any(form in data for form in _forms(value)))
    assert not found, found
    assert UID_ROOT.encode() not in data


def test_every_log_line_is_json_with_a_request_id(logged: Logged) -> None:
    records = []
    for number, line in enumerate(_log(logged).splitlines(), 1):
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"line {number} is not JSON: {line[:80]!r}")
    assert all(isinstance(record.get("request_id"), str) and record["request_id"] for record in records)
    access = [record for record in records if record["logger"] == "gateway.access"]
    assert len(access) >= logged.requests and all(record["request_id"] != "-" for record in access)  # + /healthz
    assert PLANTED["id.patient_a"] not in {record["request_id"] for record in access}  # the gateway's own ids
    assert "log_level: DEBUG" in logged.gateway.config_path.read_text()  # the scan means most at the chattiest level


def test_the_scan_would_catch_a_leak(logged: Logged, tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.log"
    leaky.write_bytes(_log(logged) + json.dumps({"msg": PLANTED["name.patient_b_ideographic"]}).encode())
    assert any(form in leaky.read_bytes() for form in _forms(PLANTED["name.patient_b_ideographic"]))
