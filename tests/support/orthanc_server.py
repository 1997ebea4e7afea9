"""Test-side helpers around `gateway.demo.orthanc`: a private loopback Orthanc holding the synthetic samples."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

from gateway.demo.install import ORTHANC_BINARY, missing_packages
from gateway.demo.orthanc import OrthancProcess
from gateway.demo.samples import sample_instances


def orthanc_missing_reason() -> str | None:
    """Why a test Orthanc cannot start here, or None when it can."""
    missing = missing_packages()
    if missing or not os.access(ORTHANC_BINARY, os.X_OK):
        return f"Debian packages missing: {' '.join(missing) or 'orthanc'}; run scripts/test.sh as root"
    return None


def require_orthanc() -> None:
    """Fail (not skip) the test when the Debian packages are missing: scripts/test.sh installs them."""
    reason = orthanc_missing_reason()
    if reason:
        pytest.fail(reason, pytrace=False)


def upload_all(orthanc: OrthancProcess, instances: Iterable[bytes]) -> list[dict[str, Any]]:
    """Store every instance; returns Orthanc's answers in order."""
    return [orthanc.upload(instance) for instance in instances]


@contextmanager
def running_orthanc(workdir: Path, *, with_samples: bool = True, **options: Any) -> Iterator[OrthancProcess]:
    """Start Orthanc in `workdir` on free loopback ports, optionally load the samples, stop it on exit."""
    orthanc = OrthancProcess(workdir, **options)
    with orthanc:
        if with_samples:
            upload_all(orthanc, sample_instances())
        yield orthanc


def non_loopback_addresses() -> list[str]:
    """This machine's IPv4 and IPv6 addresses other than loopback and link-local."""
    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family.name not in ("AF_INET", "AF_INET6"):
                continue
            ip = ipaddress.ip_address(address.address.split("%")[0])
            if not (ip.is_loopback or ip.is_link_local):
                found.append(str(ip))
    return found
