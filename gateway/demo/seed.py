"""What the demo does through its own gateway once it is up, so the console opens on something to look at.

    researcher and external browse every study (the ledger fills with disclosures),
    patient B opts out (the Opt-outs section has one, and the withdrawal feed an entry per scope),
    researcher reads its withdrawal feed (the loop shows it fetched, not yet acknowledged).

It runs once per demo directory, over plain HTTP with the demo's own keys, as any client would. The roles the
demo serves are a copy of conf/roles with one pixel rule added (`demo_roles`).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gateway.demo.planted import PLANTED

# The ultrasound's burned-in band (rows 4-12): with this rule researcher sees the image masked, not withheld.
_PIXEL_RULE = """
# Added by the demo: mask the top band of the sample ultrasound, where its scanner burns in the patient's name.
pixel_rules:
  - match: {Manufacturer: ACME Medical Systems, ManufacturerModelName: Synthetica US, Rows: 96, Columns: 128}
    regions: [[0, 0, 128, 16]]
"""
OPTED_OUT = {"PatientID": PLANTED["id.patient_b"]}


def demo_roles(workdir: Path, source: Path) -> Path:
    """conf/roles copied into the demo directory on the first run, the pixel rule added to researcher."""
    roles = workdir / "roles"
    if not roles.exists():
        shutil.copytree(source, roles)
        with (roles / "researcher.yaml").open("a", encoding="utf-8") as profile:
            profile.write(_PIXEL_RULE)
    return roles


def seed_in_background(workdir: Path, base: str, keys: dict[str, str]) -> None:
    """Seed the demo once the gateway answers; a marker file keeps a second run from seeding again."""
    marker = workdir / "seeded"
    if marker.exists():
        return
    threading.Thread(target=_seed, args=(marker, base, keys), name="demo-seed", daemon=True).start()


def _seed(marker: Path, base: str, keys: dict[str, str]) -> None:
    if not _up(base):
        return
    try:
        for role in ("researcher", "external"):
            for study in _call(base, keys[role], "GET", "/dicom-web/studies"):
                uid = study["0020000D"]["Value"][0]
                _call(base, keys[role], "GET", f"/dicom-web/studies/{uid}/metadata")
        _call(base, keys["admin"], "POST", "/admin/optouts", OPTED_OUT)
        _call(base, keys["researcher"], "GET", "/withdrawals")
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        print(f"demo: seeding the console's data failed ({exc}); the demo runs without it", flush=True)
        return
    marker.write_text("seeded\n")
    print("demo: the console has data: disclosures in the ledger, patient B opted out, "
          "a pixel rule on researcher", flush=True)  # fmt: skip


def _up(base: str) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    return False


def _call(base: str, key: str, method: str, path: str, body: dict[str, str] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/dicom+json, application/json"}
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")
