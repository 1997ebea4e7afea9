"""Issue 18, the console's Overview in headless chromium: after requests as researcher and clinician, the charts
show each role's count, the withheld objects, the errors and the latency, from this process's own history."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from console_support import run_console_flow
from support.gateway_server import GatewayProcess

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
JSON = {"Accept": "application/dicom+json"}


def _get(gateway: GatewayProcess, role: str, path: str) -> requests.Response:
    return requests.get(gateway.dicomweb_url + path, headers={**gateway.headers(role), **JSON}, timeout=30)


def test_the_overview_charts_this_process_requests(ohif_installed: Path, gateway: GatewayProcess) -> None:
    studies = _get(gateway, "researcher", "/studies").json()
    for study in studies:  # the samples hold objects the researcher is not shown
        assert _get(gateway, "researcher", f"/studies/{study['0020000D']['Value'][0]}/metadata").status_code == 200
    assert _get(gateway, "clinician", "/studies").status_code == 200
    assert _get(gateway, "clinician", "/studies").status_code == 200
    assert _get(gateway, "researcher", "/studies/2.25.1/metadata").status_code == 404
    report = run_console_flow(ohif_installed, gateway, "console_overview_flow")
    assert report["firstTab"] == "overview"
    assert report["requests"]["researcher"] == len(studies) + 2
    assert report["requests"]["clinician"] == 2
    assert report["requests"]["admin"] >= 1  # the console's own calls
    assert f"researcher: {len(studies) + 2} requests in the last hour" in report["titles"]
    assert sum(report["withheld"].values()) >= 1
    assert report["errors"].get("404", 0) >= 1
    assert 0 < report["latency"]["p50"] <= report["latency"]["p95"] and report["latency"]["lines"] >= 2
    assert "this gateway process only" in report["note"] and "workers > 1" in report["note"]
