"""A private Orthanc (Debian `orthanc` + `orthanc-dicomweb`) on free loopback ports, for tests and the demo.

Orthanc has no setting for its listen address and binds 0.0.0.0. We preload a tiny shim
(`bind_loopback.c`, compiled with gcc on first start) that turns wildcard bind() calls into 127.0.0.1, so the
instance is reachable from this machine only. Without gcc we fall back to `RemoteAccessAllowed: false`, which
still accepts remote connections but answers them 401, and log a warning.

Orthanc starts even when a plugin path does not exist (it only logs an error), so `start()` also checks
`GET /plugins` for the DICOMweb plugin.

    with OrthancProcess() as orthanc:
        orthanc.upload(Path("ct.dcm"))
        client = DICOMwebClient(orthanc.dicomweb_url)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from gateway.demo.install import ORTHANC_BINARY, dicomweb_plugin_path
from gateway.demo.ports import free_port

__all__ = ["OrthancProcess", "OrthancStartError", "upload_instance"]

log = logging.getLogger(__name__)

SHIM_SOURCE = Path(__file__).with_name("bind_loopback.c")


class OrthancStartError(RuntimeError):
    """Orthanc did not come up; the message carries the tail of its log."""


class OrthancProcess:
    """One Orthanc server process with its own config, storage and log in `workdir`."""

    def __init__(self, workdir: str | Path | None = None, *, http_port: int | None = None,
                 dicom_port: int | None = None, http_threads: int = 20,
                 extra_config: dict[str, Any] | None = None, binary: str = ORTHANC_BINARY) -> None:
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="orthanc-"))
        self.http_port = http_port or free_port()
        self.dicom_port = dicom_port or free_port()
        self.http_threads = http_threads
        self.extra_config = extra_config or {}
        self.binary = binary
        self.loopback_only = False
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def log_path(self) -> Path:
        return self.workdir / "orthanc.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def config(self) -> dict[str, Any]:
        """The JSON configuration this instance runs with."""
        storage = self.workdir / "storage"
        return {
            "Name": f"gateway-test-{self.http_port}",
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": "ORTHANCTEST",
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "Plugins": [dicomweb_plugin_path()],
            "DefaultEncoding": "Utf8",
            "StableAge": 1,
            "HttpCompressionEnabled": False,
            "AuthenticationEnabled": False,
            "RemoteAccessAllowed": False,
            "HttpThreadsCount": self.http_threads,
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "StudiesMetadata": "Full",
                         "SeriesMetadata": "Full"},
            **self.extra_config,
        }

    def start(self, timeout: float = 30.0) -> OrthancProcess:
        """Start Orthanc and wait until `GET /system` answers; raise OrthancStartError otherwise."""
        if self._process is not None:
            raise RuntimeError("Orthanc is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "orthanc.json"
        config_path.write_text(json.dumps(self.config(), indent=2))
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen(
                [self.binary, str(config_path)], cwd=self.workdir, env=self._environment(),
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )
        log.info("started Orthanc pid=%s http=%s dicom=%s", self.pid, self.http_port, self.dicom_port)
        self._wait_until_ready(timeout)
        return self

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        shim = compile_bind_shim(self.workdir)
        self.loopback_only = shim is not None
        if shim is None:
            log.warning("no bind shim: Orthanc binds 0.0.0.0, relying on RemoteAccessAllowed=false only")
        else:
            env["LD_PRELOAD"] = " ".join(filter(None, [str(shim), env.get("LD_PRELOAD", "")]))
        return env

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                self._fail(f"Orthanc exited with status {self._process.returncode} during start-up")
            if self._get_json("/system") is not None:
                if "dicom-web" not in (self._get_json("/plugins") or []):
                    self._fail("Orthanc started without the DICOMweb plugin")
                return
            time.sleep(0.1)
        self._fail(f"Orthanc did not answer GET /system within {timeout:.0f} s")

    def _get_json(self, path: str) -> Any:
        """The JSON answer to GET `path`, or None when Orthanc does not answer (yet)."""
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=1.0) as response:
                return json.load(response)
        except (OSError, urllib.error.URLError, ValueError):
            return None

    def _fail(self, reason: str) -> None:
        tail = self.log_tail()
        self._terminate(timeout=10.0, graceful=False)  # keep the work directory for a post-mortem
        raise OrthancStartError(f"{reason}; config {self.workdir / 'orthanc.json'}; last log lines:\n{tail}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0, *, graceful: bool = True) -> None:
        """Terminate the process we started (by its PID), kill it if it lingers, and clean up.

        A graceful stop takes Orthanc about 3 s (its HTTP and DICOM servers poll for shutdown);
        `graceful=False` kills at once, which is fine for a throwaway storage directory.
        """
        self._terminate(timeout=timeout, graceful=graceful)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _terminate(self, *, timeout: float, graceful: bool) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def upload(self, instance: str | Path | bytes) -> dict[str, Any]:
        """Store one Part 10 instance via Orthanc's REST `POST /instances`; returns Orthanc's JSON answer."""
        return upload_instance(self.url, instance)

    def __enter__(self) -> OrthancProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def upload_instance(orthanc_url: str, instance: str | Path | bytes) -> dict[str, Any]:
    """`POST /instances` to any Orthanc at `orthanc_url`; returns its JSON answer, raises unless stored."""
    data = instance if isinstance(instance, bytes) else Path(instance).read_bytes()
    request = urllib.request.Request(f"{orthanc_url.rstrip('/')}/instances", data=data, method="POST",
                                     headers={"Content-Type": "application/dicom"})
    with urllib.request.urlopen(request, timeout=60.0) as response:
        answer: dict[str, Any] = json.load(response)
    if answer.get("Status") not in ("Success", "AlreadyStored"):
        raise RuntimeError(f"Orthanc refused an instance: status {answer.get('Status')!r}")
    return answer


def compile_bind_shim(directory: Path) -> Path | None:
    """Compile `bind_loopback.c` into `directory`; None when gcc (or libc6-dev) is missing."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return None
    target = directory / "bind_loopback.so"
    if not target.exists():
        command = [gcc, "-shared", "-fPIC", "-O2", "-o", str(target), str(SHIM_SOURCE), "-ldl"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            log.warning("could not compile the bind shim (are the libc headers installed?):\n%s", result.stderr)
            return None
    return target
