"""Where the Debian packages for Orthanc and its DICOMweb plugin are, and whether they are there.

Installing them is scripts/setup.sh's job (with a policy-rc.d so no system Orthanc starts); this only checks.
"""

from __future__ import annotations

import shutil
import subprocess

ORTHANC_BINARY = "/usr/sbin/Orthanc"
ORTHANC_PACKAGES = ("orthanc", "orthanc-dicomweb")


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


def require_orthanc_installed(packages: tuple[str, ...] = ORTHANC_PACKAGES) -> None:
    """Refuse to start the demo without Orthanc, naming the one installer (scripts/setup.sh, run by
    `bash scripts/demo.sh`), rather than install it a second way from here."""
    missing = missing_packages(packages)
    if missing:
        names = " ".join(missing)
        raise RuntimeError(f"the demo needs {names}: run `bash scripts/demo.sh`, which installs them")
