"""End-to-end fixtures: the real OHIF viewer, served from loopback, in front of a real gateway and Orthanc.

    ohif_installed  session: `ohif/node_modules` (runs `npm ci` once when it is missing); the chromium binary
    ohif_gateway    session: a gateway whose CORS allows the viewer's origin (the browser calls it directly)
    ohif_viewer     session: gateway.demo.ohif.OhifViewer configured with the researcher's API key
    gateway         module: a gateway of the test module's own, for the console tests

The tests are marked `e2e` (and `integration`): `pytest -m e2e` runs them alone.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.gateway_server import ROLE_KEYS, GatewayProcess, free_port, running_gateway

from gateway.demo.ohif import OHIF_DIR, OhifViewer, viewer_missing_reason
from gateway.demo.orthanc import OrthancProcess

CHROMIUM = Path("/usr/bin/chromium")
VIEWER_ROLE = "researcher"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives the real OHIF viewer in headless chromium through the gateway")


def _npm_install() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: install Node.js 18+ and npm to run the OHIF end-to-end test", pytrace=False)
    verb = "ci" if (OHIF_DIR / "package-lock.json").is_file() else "install"
    done = subprocess.run([npm, verb], cwd=OHIF_DIR, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        pytest.fail(f"npm {verb} in {OHIF_DIR} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}", pytrace=False)


@pytest.fixture(scope="session")
def ohif_installed() -> Path:
    """The viewer and playwright-core in `ohif/node_modules`, and Debian's chromium."""
    if not (OHIF_DIR / "node_modules").is_dir():
        _npm_install()
    reason = viewer_missing_reason()
    if reason:
        pytest.fail(reason, pytrace=False)
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test.sh (it installs Debian's chromium)", pytrace=False)
    return OHIF_DIR


@pytest.fixture(scope="session")
def viewer_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def ohif_gateway(
    orthanc: OrthancProcess, viewer_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    cors = {"allow_origins": [f"http://127.0.0.1:{viewer_port}"]}
    with running_gateway(tmp_path_factory.mktemp("ohif-gateway"), orthanc.dicomweb_url, cors=cors) as process:
        yield process


@pytest.fixture(scope="session")
def ohif_viewer(ohif_installed: Path, ohif_gateway: GatewayProcess, viewer_port: int) -> Iterator[OhifViewer]:
    with OhifViewer(ohif_gateway.dicomweb_url, ROLE_KEYS[VIEWER_ROLE], port=viewer_port) as viewer:
        yield viewer


@pytest.fixture(scope="module")
def gateway(
    orthanc: OrthancProcess, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A gateway of the test module's own (embedded store) before the session Orthanc: the console tests edit
    profiles, opt-outs and the ledger, which no other module may see."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    with running_gateway(tmp_path_factory.mktemp(name), orthanc.dicomweb_url) as process:
        yield process
