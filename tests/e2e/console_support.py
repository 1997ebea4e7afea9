"""Runs one console flow (a tests/e2e/*_flow.mjs built on console_browser.mjs) and returns its report.

Each flow saves a screenshot of its section in test-artifacts/console/<name>.png (gitignored), kept after the
run for a reviewer to look at.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.gateway_server import REPO, ROLE_KEYS, GatewayProcess

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "console"


def run_console_flow(ohif_installed: Path, gateway: GatewayProcess, flow: str, **options: Any) -> dict[str, Any]:
    """Run tests/e2e/<flow>.mjs against `gateway`'s console; the screenshot is test-artifacts/console/<flow>.png.
    `expectedStatuses=[...]`: answers the flow provokes on purpose, not counted as page errors."""
    script = Path(__file__).with_name(f"{flow}.mjs")
    screenshot = ARTIFACTS / f"{flow}.png"
    screenshot.unlink(missing_ok=True)
    full = {"consoleUrl": gateway.url + "/admin/", "adminKey": ROLE_KEYS["admin"], "ohifDir": str(ohif_installed),
            "chromium": str(CHROMIUM), "screenshot": str(screenshot), **options}  # fmt: skip
    node = shutil.which("node") or pytest.fail("node is missing: install Node.js 18+", pytrace=False)
    done = subprocess.run([node, str(script), json.dumps(full)], capture_output=True, text=True, timeout=180,
                          check=False)  # fmt: skip
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{flow} gave no report:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}", pytrace=False)
    assert report["error"] is None, report
    assert not report["console"], report["console"]  # no script error, no unexpected failed call
    assert screenshot.is_file(), screenshot
    return report
