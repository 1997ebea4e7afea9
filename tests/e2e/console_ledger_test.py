"""Issue 18, the console's Ledger section in headless chromium: filter by role, scope and study (only matching
rows shown), verify the chain (intact); then an entry is edited in the gateway's SQLite store, and the console's
verify names the broken link and highlights its row."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests
from console_support import ARTIFACTS, run_console_flow
from support.gateway_server import GatewayProcess

from gateway.demo.planted import PLANTED
from gateway.demo.samples import STUDY_UIDS

JSON = {"Accept": "application/dicom+json"}
pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _get(gateway: GatewayProcess, role: str, path: str) -> Any:
    response = requests.get(gateway.dicomweb_url + path, headers={**gateway.headers(role), **JSON}, timeout=30)
    response.raise_for_status()
    return response.json()


def _flow(ohif_installed: Path, gateway: GatewayProcess, phase: str) -> dict[str, Any]:
    return run_console_flow(ohif_installed, gateway, "console_ledger_flow", phase=phase, study=STUDY_UIDS["a_ct"],
                            patient=PLANTED["id.patient_c"])  # fmt: skip


def _read_c(gateway: GatewayProcess) -> bool:
    second = requests.get(gateway.url + "/admin/ledger", params={"after": "1", "limit": "1"},
                          headers=gateway.headers("admin"), timeout=10).json()["entries"][0]  # fmt: skip
    return bool({STUDY_UIDS["c_mr"], STUDY_UIDS["c_us"]} & set(second["real"]["studies"]))


def _tamper(gateway: GatewayProcess, seq: int) -> None:
    """Edit one entry's stored body, as someone with the database file could (tests/integration/test_governance)."""
    with sqlite3.connect(gateway.workdir / "pseudonyms.sqlite3") as db:
        (text,) = db.execute("SELECT entry FROM gov_sealed_ledger WHERE seq = ?", (seq,)).fetchone()
        entry = json.loads(text)
        entry["actor"] = "key:somebodyelse"
        db.execute("UPDATE gov_sealed_ledger SET entry = ? WHERE seq = ?", (json.dumps(entry), seq))


def test_filter_verify_and_see_the_broken_link(ohif_installed: Path, gateway: GatewayProcess) -> None:
    studies = _get(gateway, "researcher", "/studies")  # entry 1
    _get(gateway, "researcher", f"/studies/{studies[0]['0020000D']['Value'][0]}/metadata")  # entry 2
    _get(gateway, "external", "/studies")  # entry 3
    report = _flow(ohif_installed, gateway, "filter")
    shutil.copy(ARTIFACTS / "console_ledger_flow.png", ARTIFACTS / "console_ledger_flow-filter.png")
    assert {"researcher", "external", "admin"} <= set(report["roles"])
    # Newest first; only the matching rows: [seq, time, actor, role, action, scope, pseudonymous, real].
    assert [(r["cells"][0], r["cells"][3]) for r in report["researcher"]] == [("2", "researcher"), ("1", "researcher")]
    assert [r["cells"][0] for r in report["researcherScope"]] == ["2", "1"]
    assert [(r["cells"][0], r["cells"][5]) for r in report["external"]] == [("3", "external")]
    # Every search across patients names A's CT study; the study read (entry 2) may be another one.
    by_study = [r["cells"] for r in report["study"]]
    assert {"1", "3"} <= {c[0] for c in by_study} and all(STUDY_UIDS["a_ct"] in c[7] for c in by_study)
    # A patient (C): the disclosures that named one of its studies: both searches, and entry 2 if it read C's.
    assert {r["cells"][0] for r in report["patient"]} == {"1", "3"} | ({"2"} if _read_c(gateway) else set())
    exports = report["exports"]
    assert exports["csv"]["name"] == "ledger.csv" and exports["csv"]["text"].startswith("seq,time,actor,role,")
    assert exports["json"]["name"] == "ledger.json" and json.loads(exports["json"]["text"])[0]["seq"] == 1
    assert PLANTED["id.patient_c"] not in report["url"]
    assert report["verdict"]["cls"] == "ok" and report["verdict"]["text"].startswith("Chain intact")
    assert report["url"] == gateway.url + "/admin/"

    _tamper(gateway, 2)
    broken = _flow(ohif_installed, gateway, "broken")
    assert broken["verdict"]["cls"] == "error"
    assert broken["verdict"]["text"].startswith("Chain broken at entry 2: was changed")
    assert "highlighted below" in broken["verdict"]["text"]
    assert [r["cells"][0] for r in broken["rows"] if r["broken"]] == ["2"]
