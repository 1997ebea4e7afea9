"""Issue 18: `dicomweb-gateway demo` prints the console's URL and an admin key, and opens with data in every
section of the console: several roles, a pixel rule, an opt-out and ledger entries."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from support.gateway_server import REPO, free_port

from gateway.demo.planted import PLANTED

pytestmark = pytest.mark.integration


def _wait_for(condition, within: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise AssertionError("the demo did not get there in time")


def test_the_demo_prints_the_console_and_an_admin_key_and_seeds_every_section(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:
        demo = subprocess.Popen([sys.executable, "-m", "gateway", "demo", "--port", str(port), "--dir",
                                 str(tmp_path / "demo")], stdout=sink, stderr=subprocess.STDOUT, cwd=REPO,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        _wait_for(lambda: "seeded" in (tmp_path / "demo").joinpath("seeded").read_text()
                  if (tmp_path / "demo" / "seeded").exists() else False, within=120)  # fmt: skip
        printed = out.read_text()
        assert f"Console: http://127.0.0.1:{port}/admin/" in printed
        admin_key = re.search(r"^  admin\s+(\S+)$", printed, re.MULTILINE)
        assert admin_key is not None, printed
        admin = {"Authorization": f"Bearer {admin_key.group(1)}"}
        base = f"http://127.0.0.1:{port}/admin"
        assert requests.get(base + "/", timeout=10).status_code == 200

        roles = {r["role"] for r in requests.get(base + "/roles", headers=admin, timeout=10).json()}
        assert {"clinician", "researcher", "external", "ai-service"} <= roles
        researcher = requests.get(base + "/roles/researcher", headers=admin, timeout=10).json()["text"]
        assert "pixel_rules:" in researcher and "Synthetica US" in researcher
        assert [o["PatientID"] for o in requests.get(base + "/optouts", headers=admin, timeout=10).json()] == [
            PLANTED["id.patient_b"]
        ]
        entries = requests.get(base + "/ledger?limit=1000", headers=admin, timeout=10).json()["entries"]
        actions = {e["action"] for e in entries}
        assert {"disclose", "withdraw", "withdrawals.deliver"} <= actions
        loop = requests.post(base + "/optouts/status", json={"PatientID": PLANTED["id.patient_b"]}, headers=admin,
                             timeout=10).json()["withdrawals"]  # fmt: skip
        assert {row["scope"] for row in loop} == {"researcher", "external"}
        assert all(row["fetched_at"] for row in loop if row["scope"] == "researcher")

        # The pixel rule makes the ultrasound (burned in, withheld otherwise) visible to researcher, masked.
        keys = dict(re.findall(r"^  (\S+)\s+(\S+)$", printed, re.MULTILINE))
        series = requests.get(f"http://127.0.0.1:{port}/dicom-web/series", params={"Modality": "US"},
                              headers={"Authorization": f"Bearer {keys['researcher']}",
                                       "Accept": "application/dicom+json"}, timeout=10).json()  # fmt: skip
        assert len(series) == 1
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
