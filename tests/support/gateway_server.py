"""Runs the real gateway as a child process (`python -m gateway serve`) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

ROLE_KEYS = {
    "clinician": "clinician-key-0123456789",
    "researcher": "researcher-key-0123456789",
    "external": "external-key-0123456789",
    "ai-service": "ai-service-key-0123456789",
    "nobody": "norole-key-0123456789abc",  # bound to a role that has no profile
    "admin": "admin-key-0123456789abcdef",  # the admin API, and nothing else
}
SECRET = "test-secret-0123456789abcdef"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    def __init__(
        self, workdir: Path, *, upstream_url: str, store_url: str | None = None, secret: str = SECRET, **overrides: Any
    ) -> None:
        self.workdir = workdir
        self.secret = secret
        self.port = free_port()
        config: dict[str, Any] = {
            "listen": {"host": "127.0.0.1", "port": self.port, **overrides.pop("listen", {})},
            "upstream": {"url": upstream_url, "timeout_s": 5},
            "store": {"url": store_url or f"sqlite:///{workdir / 'pseudonyms.sqlite3'}"},  # embedded by default
            "governance": {"witness_path": str(workdir / "ledger-head.json"), **overrides.pop("governance", {})},
            "auth": {"api_keys": {key: role for role, key in ROLE_KEYS.items()}},
            "roles_dir": str(REPO / "conf" / "roles"),
            "cors": {"allow_origins": ["http://viewer.example"]},
            "log_level": "DEBUG",
            **overrides,
        }
        self.config_path = workdir / "gateway.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "gateway.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb_url(self) -> str:
        return self.url + "/dicom-web"

    def start(self) -> GatewayProcess:
        env = {**os.environ, "GATEWAY_SECRET": self.secret}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", str(self.config_path)],
                stdout=log, stderr=log, env=env, cwd=REPO,
            )  # fmt: skip
        deadline = time.monotonic() + 45  # a loaded 2-core machine has taken over 20 s to import and bind
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()  # never leave it running behind a failed start
        raise RuntimeError(f"gateway did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {ROLE_KEYS[role]}"}


@contextmanager
def running_gateway(workdir: Path, upstream_url: str, **options: Any) -> Iterator[GatewayProcess]:
    """A started gateway in `workdir` (options as for GatewayProcess), stopped on exit."""
    process = GatewayProcess(workdir, upstream_url=upstream_url, **options).start()
    try:
        yield process
    finally:
        process.stop()
