"""Integration fixtures: the real gateway process in front of the real Orthanc (never a mock upstream)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dicomweb_client.api import DICOMwebClient
from support.gateway_server import GatewayProcess, running_gateway

from gateway.demo.orthanc import OrthancProcess


@pytest.fixture(scope="session")
def gateway(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with running_gateway(tmp_path_factory.mktemp("gateway"), orthanc.dicomweb_url) as process:
        yield process


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Start extra gateways with their own settings (a dead upstream, a short timeout, a Redis store)."""
    started: list[GatewayProcess] = []

    def start(upstream_url: str, store_url: str | None = None, **overrides: Any) -> GatewayProcess:
        workdir = tmp_path / f"gw{len(started)}"
        workdir.mkdir()
        process = GatewayProcess(workdir, upstream_url=upstream_url, store_url=store_url, **overrides)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def client_as(gateway: GatewayProcess) -> Callable[[str], DICOMwebClient]:
    def make(role: str) -> DICOMwebClient:
        return DICOMwebClient(gateway.dicomweb_url, headers=gateway.headers(role))

    return make


@pytest.fixture
def direct(orthanc: OrthancProcess) -> DICOMwebClient:
    return DICOMwebClient(orthanc.dicomweb_url)
