"""Issue 18, the console's Roles form in headless chromium: the form and the YAML follow each other, an override
added with keyword completion is validated live (a bad keyword is named), saved, and the next researcher QIDO
follows it. Also: every route the form and the overview added is the admin's alone, and recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml
from console_support import run_console_flow
from support.gateway_server import GatewayProcess

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
JSON = {"Accept": "application/dicom+json"}
STUDY_DESCRIPTION = "00081030"
NEW_ROUTES = (
    ("POST", "/admin/roles/researcher/form", {"text": "permissions: [search]\n"}, "admin.roles.form"),
    ("POST", "/admin/roles/researcher/yaml", {"data": {"permissions": ["search"]}}, "admin.roles.yaml"),
    ("GET", "/admin/profile-schema", None, "admin.profile_schema"),
    ("GET", "/admin/dictionary?prefix=Pat", None, "admin.dictionary"),
    ("GET", "/admin/overview", None, "admin.overview"),
)


def _descriptions(gateway: GatewayProcess) -> list[dict[str, object] | None]:
    studies = requests.get(gateway.dicomweb_url + "/studies", params={"includefield": STUDY_DESCRIPTION},
                           headers={**gateway.headers("researcher"), **JSON}, timeout=10)  # fmt: skip
    studies.raise_for_status()
    return [study.get(STUDY_DESCRIPTION) for study in studies.json()]


def test_the_new_admin_routes_are_the_admins_alone_and_recorded(gateway: GatewayProcess) -> None:
    for method, path, body, _ in NEW_ROUTES:
        url = gateway.url + path
        assert requests.request(method, url, json=body, timeout=10).status_code == 401, path
        researcher = requests.request(method, url, json=body, headers=gateway.headers("researcher"), timeout=10)
        assert researcher.status_code == 403, path
        admin = requests.request(method, url, json=body, headers=gateway.headers("admin"), timeout=10)
        assert admin.status_code == 200, (path, admin.text)
    ledger = requests.get(gateway.url + "/admin/ledger", headers=gateway.headers("admin"), timeout=10).json()
    recorded = {entry["action"] for entry in ledger["entries"]}
    assert {action for *_, action in NEW_ROUTES} <= recorded, recorded


def test_the_form_edits_a_role_and_the_next_search_follows(ohif_installed: Path, gateway: GatewayProcess) -> None:
    assert any(described for described in _descriptions(gateway))  # the researcher sees study descriptions
    report = run_console_flow(ohif_installed, gateway, "console_roles_flow", role="researcher",
                              option="retain-patient-characteristics", badKeyword="NoSuchKeyword",
                              prefix="StudyDesc", keyword="StudyDescription", action="remove",
                              identityRole="clinician", expectedStatuses=[422])  # fmt: skip
    try:
        assert report["identityFields"] == ["perm-search", "perm-retrieve", "perm-store"]
        assert report["optionChecked"] is True
        assert "Retain Patient Characteristics: keep sex, age, size and weight" in report["optionLabel"]
        assert report["yamlToForm"] is True
        assert "retain-patient-characteristics" in yaml.safe_load(report["formToYaml"])["options"]
        assert "#" not in report["formToYaml"]  # the form's YAML is the data, without the file's comments
        assert "researcher.yaml: overrides.NoSuchKeyword: not a keyword" in report["formError"]
        assert report["yamlError"].startswith("researcher.yaml: overrides.NoSuchKeyword:")
        assert report["invalidMarked"] == "true"
        assert {"value": "StudyDescription", "tag": "(0008,1030)"} in report["suggestions"]
        assert all(s["value"].startswith("StudyDesc") for s in report["suggestions"])
        assert report["tagShown"] == "(0008,1030) LO"
        assert report["pixelError"].startswith("researcher.yaml: pixel_rules.0")
        assert "wider than the Columns" in report["pixelError"]
        pixel_rules = yaml.safe_load(report["pixelYaml"])["pixel_rules"]
        assert pixel_rules == [{"match": {"Columns": 100}, "regions": [[0, 0, 200, 1]]}]
        assert report["saveStatus"].startswith("saved as version 1")
        assert report["roleInfo"].startswith("version 1,")
        assert "StudyDescription: remove" in report["savedText"]
        assert _descriptions(gateway) and not any(_descriptions(gateway))  # the next search follows the new rule
    finally:
        restore = requests.put(gateway.url + "/admin/roles/researcher", headers=gateway.headers("admin"),
                               json={"text": report["original"]}, timeout=10)  # fmt: skip
        assert restore.status_code == 200
    assert any(described for described in _descriptions(gateway))
