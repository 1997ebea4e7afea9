"""Fixtures of the adversarial suite.

The integration fixtures (the real gateway in front of the real Orthanc) live in tests/integration/conftest.py,
which pytest only applies below that folder; they are imported here so the path-traversal matrix runs against
the same session gateway. The hostile origin gets a gateway process of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from integration.conftest import gateway  # noqa: F401  (re-exported fixture)
from support.gateway_server import GatewayProcess, running_gateway

from adversarial.hostile_origin import HostileOrigin

# The CI seed; set ADVERSARIAL_SEED to explore others (every failure prints its seed and index).
SEED = int(os.environ.get("ADVERSARIAL_SEED", "20240611"))


@pytest.fixture(scope="session")
def seed() -> int:
    return SEED


@pytest.fixture(scope="module")
def hostile_origin() -> Iterator[HostileOrigin]:
    with HostileOrigin() as origin:
        yield origin


@pytest.fixture(scope="module")
def hostile_gateway(
    hostile_origin: HostileOrigin, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    workdir: Path = tmp_path_factory.mktemp("hostile-gateway")
    with running_gateway(workdir, hostile_origin.base) as process:
        yield process
        # The process outlived every case: still running, and still answering.
        assert process.process is not None and process.process.poll() is None, "the gateway process died"
        assert requests.get(process.url + "/healthz", timeout=5).status_code == 200
