"""Issue 18, the console's Opt-outs section in headless chromium: find patient A by a name prefix, pick it, opt
out (the studies covered are shown), and A's studies vanish from the researcher's searches; list what each
scope was given and export the withdrawal CSV; withdraw the opt-out, and the studies are back."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
import requests
from console_support import ARTIFACTS, run_console_flow
from support.gateway_server import GatewayProcess

from gateway.demo.planted import PLANTED

JSON = {"Accept": "application/dicom+json"}
PATIENT_ID, ISSUER = PLANTED["id.patient_a"], PLANTED["id.patient_a_issuer"]
FAMILY = PLANTED["name.patient_a_family"]
pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _researcher_studies(gateway: GatewayProcess, *, read: bool = False) -> set[str]:
    headers = {**gateway.headers("researcher"), **JSON}
    found = requests.get(gateway.dicomweb_url + "/studies", headers=headers, timeout=10)
    found.raise_for_status()
    studies = {s["0020000D"]["Value"][0] for s in found.json()}
    for study in studies if read else ():
        requests.get(
            gateway.dicomweb_url + f"/studies/{study}/metadata", headers=headers, timeout=30
        ).raise_for_status()
    return studies


def _a_studies_at_origin(gateway: GatewayProcess) -> int:
    found = requests.get(gateway.url + "/admin/origin/studies", params={"q": PATIENT_ID},
                         headers=gateway.headers("admin"), timeout=10)  # fmt: skip
    return sum(s["PatientID"] == PATIENT_ID and s["IssuerOfPatientID"] == ISSUER for s in found.json())


def _flow(ohif_installed: Path, gateway: GatewayProcess, phase: str) -> dict[str, object]:
    return run_console_flow(ohif_installed, gateway, "console_optouts_flow", phase=phase, query=FAMILY[:4],
                            patientId=PATIENT_ID)  # fmt: skip


def test_find_opt_out_list_disclosures_export_and_withdraw(ohif_installed: Path, gateway: GatewayProcess) -> None:
    before = _researcher_studies(gateway, read=True)  # A's studies disclosed to researcher, metadata and all
    held = _a_studies_at_origin(gateway)
    assert held == 2
    try:
        report = _flow(ohif_installed, gateway, "optout")
        shutil.copy(ARTIFACTS / "console_optouts_flow.png", ARTIFACTS / "console_optouts_flow-optout.png")
        after = _researcher_studies(gateway)
        removed = _flow(ohif_installed, gateway, "remove")
        back = _researcher_studies(gateway)
    finally:  # a no-op when the console withdrew it
        requests.delete(gateway.url + "/admin/optouts", json={"PatientID": PATIENT_ID, "IssuerOfPatientID": ISSUER},
                        headers=gateway.headers("admin"), timeout=30)  # fmt: skip
    # The patients found are grouped: A once, with its two studies, picked into the form.
    [a_row] = [row for row in report["patients"] if row[1] == PATIENT_ID]  # type: ignore[union-attr]
    assert a_row[0].startswith(FAMILY[:4]) and a_row[2] == ISSUER and a_row[3] == str(held)
    assert report["picked"] == {"id": PATIENT_ID, "issuer": ISSUER}
    assert f"covers {held} studies" in str(report["covered"])
    assert ["researcher", report["feed"][0][1]] in report["feed"] and int(report["feed"][0][1]) > 0  # type: ignore[index]
    # The researcher's searches no longer find A's studies, and only those.
    vanished = before - after
    assert len(vanished) == held and after < before
    # The disclosures, per scope, as a table; the CSV lists the researcher's pseudonyms of what it was given.
    [disclosed] = [row for row in report["disclosed"] if row[0] == "researcher"]  # type: ignore[union-attr]
    assert disclosed[1].startswith("RID-") and disclosed[2] == str(held) and int(disclosed[4]) > 0
    assert "Identifiers given to researcher" in report["identifierTables"]  # type: ignore[operator]
    assert report["csvName"] == "withdrawal-request.csv"
    rows = list(csv.DictReader(io.StringIO(str(report["csv"]))))
    given = {row["identifier"] for row in rows if row["scope"] == "researcher" and row["level"] == "studies"}
    assert given == vanished
    assert {row["level"] for row in rows} == {"patients", "studies", "series", "instances"}
    assert [row["identifier"] for row in rows if row["level"] == "patients"] == [disclosed[1]]
    # Nothing identifying in the page URL or the browser's storage: only the session credential.
    assert report["url"] == gateway.url + "/admin/" and PATIENT_ID not in str(report["url"])
    assert report["storage"] == {"session": ["adminToken"], "local": 0}

    # Withdrawn in the console: the studies are back.
    assert "withdrawn" in str(removed["removed"]) and removed["registry"] == []
    assert back == before
