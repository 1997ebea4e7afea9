"""Issue 14, many cores: `workers: 2` runs two gateway processes on one port (SO_REUSEPORT) under a parent that
only supervises them, in front of the real Orthanc and a real Redis.

    spread    connections to the one port land on both workers, and both give the same pseudonyms: which
              worker took a connection is read from the process tree (the worker holding the socket whose
              peer is the client's port), never from anything the gateway tells a client
    stop      SIGTERM to the parent stops every worker; a worker that dies takes the gateway down with a
              non-zero status; a parent killed outright takes its workers with it
    refuse    workers: 2 on the embedded SQLite store is a config error naming the key
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from support.gateway_server import REPO, GatewayProcess
from support.redis_server import RedisServer

from gateway.demo.orthanc import OrthancProcess

pytestmark = pytest.mark.integration

CONNECTIONS = 24  # all on one worker by chance: 2 in 2**24
WAIT_S = 20.0


@pytest.fixture
def two_workers(
    orthanc: OrthancProcess, redis_server: RedisServer, start_gateway: Callable[..., GatewayProcess]
) -> Iterator[GatewayProcess]:
    gateway = start_gateway(orthanc.dicomweb_url, redis_server.url, workers=2)
    workers(gateway)  # /healthz answered from one of them; connections made before the other binds all go there
    yield gateway
    gateway.stop()
    for pid in _seen.pop(gateway.port, set()):  # a supervisor that failed its test must not leave workers behind
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


_seen: dict[int, set[int]] = {}  # port -> the worker PIDs a test saw, for the fixture's teardown


def _until(condition: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {WAIT_S} s")


def _sockets(process: psutil.Process, port: int, status: str) -> list[psutil._common.pconn]:
    try:
        return [c for c in process.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == status]
    except psutil.NoSuchProcess:
        return []


def workers(gateway: GatewayProcess) -> list[psutil.Process]:
    """The parent's children that listen on the gateway's port, once there are two of them."""
    assert gateway.process is not None
    parent = psutil.Process(gateway.process.pid)

    def listening() -> list[psutil.Process]:
        found = [c for c in parent.children() if _sockets(c, gateway.port, psutil.CONN_LISTEN)]
        _seen.setdefault(gateway.port, set()).update(c.pid for c in found)
        return found if len(found) == 2 else []

    return _until(listening, "two workers listening")  # type: ignore[return-value]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class Connection:
    """One kept-alive client connection: its local port tells which worker holds the other end."""

    def __init__(self, gateway: GatewayProcess) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
        self.http.connect()
        self.port = self.http.sock.getsockname()[1]
        self.headers = {**gateway.headers("researcher"), "Accept": "application/dicom+json"}

    def get_json(self, path: str) -> list[dict]:
        self.http.request("GET", "/dicom-web" + path, headers=self.headers)
        response = self.http.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status)
        return json.loads(body)


def _owners(gateway: GatewayProcess, connections: list[Connection]) -> dict[int, int]:
    """Client port -> the PID of the worker holding that connection."""
    owners = {}
    for worker in workers(gateway):
        for socket in _sockets(worker, gateway.port, psutil.CONN_ESTABLISHED):
            owners[socket.raddr.port] = worker.pid
    return {c.port: owners[c.port] for c in connections}


def _identities(studies: list[dict]) -> set[tuple[str, str]]:
    return {(s["00100020"]["Value"][0], s["0020000D"]["Value"][0]) for s in studies}


def test_both_workers_serve_one_port_with_the_same_pseudonyms(two_workers: GatewayProcess) -> None:
    connections = [Connection(two_workers) for _ in range(CONNECTIONS)]
    try:
        # All at once, so both workers race to issue the pseudonyms of studies neither has met.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda c: _identities(c.get_json("/studies")), connections))
        owners = _owners(two_workers, connections)
        assert len(set(owners.values())) == 2, "every connection went to one worker"
        assert all(answer == answers[0] for answer in answers)
        assert len(answers[0]) >= 3 and all(patient.startswith("RID-") for patient, _ in answers[0])
        # A pseudonym one worker issued opens the study on the other, with the same series UIDs.
        study = sorted(answers[0])[0][1]
        series = [{s["0020000E"]["Value"][0] for s in c.get_json(f"/studies/{study}/series")} for c in connections]
        assert all(seen == series[0] for seen in series) and series[0]
    finally:
        for connection in connections:
            connection.http.close()


def test_sigterm_to_the_parent_stops_every_worker(two_workers: GatewayProcess) -> None:
    pids = [worker.pid for worker in workers(two_workers)]
    assert two_workers.process is not None
    two_workers.process.send_signal(signal.SIGTERM)
    assert two_workers.process.wait(WAIT_S) == 0
    _until(lambda: all(_gone(pid) for pid in pids), "workers gone")


def test_a_worker_that_dies_stops_the_gateway(two_workers: GatewayProcess) -> None:
    victim, survivor = workers(two_workers)
    os.kill(victim.pid, signal.SIGKILL)
    assert two_workers.process is not None
    assert two_workers.process.wait(WAIT_S) != 0
    _until(lambda: _gone(survivor.pid), "the other worker gone")
    assert "worker exited" in two_workers.log_path.read_text()


def test_a_parent_killed_outright_takes_its_workers_with_it(two_workers: GatewayProcess) -> None:
    pids = [worker.pid for worker in workers(two_workers)]
    assert two_workers.process is not None
    two_workers.process.kill()
    two_workers.process.wait(WAIT_S)
    _until(lambda: all(_gone(pid) for pid in pids), "orphaned workers gone")


def test_two_workers_on_the_embedded_store_are_refused(tmp_path: Path, orthanc: OrthancProcess) -> None:
    gateway = GatewayProcess(tmp_path, upstream_url=orthanc.dicomweb_url, workers=2)  # SQLite by default
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", str(gateway.config_path)],
        capture_output=True, text=True, cwd=REPO, timeout=60, env={**os.environ, "GATEWAY_SECRET": gateway.secret},
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{gateway.config_path}: store.url:" in result.stderr and "workers" in result.stderr
