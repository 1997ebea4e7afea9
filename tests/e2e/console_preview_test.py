"""Issue 18, the console's Preview in headless chromium: pick an instance from the origin's lists (no UID typed),
see every attribute before and after the researcher's rules with the scrubbed spans marked, and both images."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from console_support import run_console_flow
from support.gateway_server import GatewayProcess

from gateway.demo.planted import PLANTED
from gateway.demo.samples import STUDY_UIDS

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def ct_choice(gateway: GatewayProcess, study: str, index: int = 0) -> dict[str, str]:
    """The real UIDs of the `index`th instance of a study's CT series, as the admin's pickers list them."""

    def listed(path: str) -> list[dict[str, str]]:
        answer = requests.get(gateway.url + "/admin/origin" + path, headers=gateway.headers("admin"), timeout=10)
        answer.raise_for_status()
        return list(answer.json())

    series = next(s for s in listed(f"/studies/{study}/series") if s["Modality"] == "CT")["SeriesInstanceUID"]
    instance = listed(f"/studies/{study}/series/{series}/instances")[index]["SOPInstanceUID"]
    return {"study": study, "series": series, "instance": instance}


def test_pick_preview_and_see_rows_spans_and_images(ohif_installed: Path, gateway: GatewayProcess) -> None:
    family = PLANTED["name.patient_a_family"]
    choice = ct_choice(gateway, STUDY_UIDS["a_ct"])
    report = run_console_flow(ohif_installed, gateway, "console_preview_flow", role="researcher",
                              search=family[:4], **choice)  # fmt: skip
    assert STUDY_UIDS["a_ct"] in report["studyOptions"]  # found by the start of the name
    rows = report["rows"]
    assert report["status"].startswith("profile ") and "changed" in report["status"]
    assert any(r["cls"] == "changed" for r in rows)
    removed = [r for r in rows if r["cls"] == "removed"]
    assert removed and all("line-through" in r["struck"] for r in removed)
    assert "InstitutionAddress" in {r["keyword"] for r in removed}
    assert {r["keyword"] for r in rows if r["cls"] == "changed"} >= {"PatientName", "PatientID"}  # pseudonyms
    marked = {r["keyword"]: r["marks"] for r in rows if r["marks"]}
    # The scrubbed name, marked in place (with the given name beside it, one span: scrub_cued_names.beside_a_name)
    assert any(family in mark for mark in marked.get("StudyDescription", [])), marked
    assert report["images"] == [{"width": 128, "height": 128, "blob": True}] * 2, report["images"]
    assert "withhold" not in report["imagesStatus"]
    assert report["url"] == gateway.url + "/admin/"  # nothing identifying in the page's address
    assert report["storage"] == {"local": [], "session": ["adminToken"]}
