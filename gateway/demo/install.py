"""Install the Debian packages for Orthanc and its DICOMweb plugin, without starting a system Orthanc."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ORTHANC_BINARY = "/usr/sbin/Orthanc"
ORTHANC_PACKAGES = ("orthanc", "orthanc-dicomweb")
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


def missing_packages(packages: tuple[str, ...] = ORTHANC_PACKAGES) -> list[str]:
    """The Debian packages among `packages` that are not installed."""
    return [name for name in packages if not _installed(name)]


def _installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "install ok installed"


def dicomweb_plugin_path() -> str:
    """Where `orthanc-dicomweb` put libOrthancDicomWeb.so (from `dpkg -L`)."""
    listing = subprocess.run(["dpkg", "-L", "orthanc-dicomweb"], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines():
        if line.endswith("libOrthancDicomWeb.so"):
            return line
    raise FileNotFoundError("orthanc-dicomweb is installed but lists no libOrthancDicomWeb.so")


def ensure_orthanc_installed(packages: tuple[str, ...] = ORTHANC_PACKAGES) -> None:
    """apt-get install the missing packages (needs root); a no-op when all are present."""
    missing = missing_packages(packages)
    if not missing:
        print(f"ensure_orthanc_installed: {', '.join(packages)} already installed")
        return
    if os.geteuid() != 0:
        names = " ".join(missing)
        raise PermissionError(f"installing {names} needs root; run as root: apt-get install {names}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _services_not_started():
        _run(["apt-get", "update"], env)
        _run(["apt-get", "install", "-y", "--no-install-recommends", *missing], env)


def _run(command: list[str], env: dict[str, str]) -> None:
    print(f"ensure_orthanc_installed: running {' '.join(command)}", flush=True)
    subprocess.run(command, env=env, check=True)


@contextmanager
def _services_not_started() -> Iterator[None]:
    """A policy-rc.d that exits 101, so the package scripts do not start a system Orthanc on 8042."""
    if POLICY_RC_D.exists():
        print(f"ensure_orthanc_installed: {POLICY_RC_D} already exists, leaving it alone")
        yield
        return
    print(f"ensure_orthanc_installed: writing {POLICY_RC_D} (exit 101) so no service is started")
    POLICY_RC_D.write_text("#!/bin/sh\nexit 101\n")
    POLICY_RC_D.chmod(0o755)
    try:
        yield
    finally:
        print(f"ensure_orthanc_installed: removing {POLICY_RC_D}")
        POLICY_RC_D.unlink(missing_ok=True)
