"""Issue 11, finding 1: the path-traversal matrix against the real Orthanc, through the session gateway.

As `researcher` and `external`, every route that names an instance gets traversal payloads in every encoding,
in its free segment (frame list, bulk tag path) and in the study, series and instance UID segments, with
several Accept headers. The property: a 4xx answer, and no body that carries a planted identifier or a real
UID. (Orthanc decodes and normalises `%2F..`, so a forwarded raw segment reaches another resource.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from support.gateway_server import GatewayProcess

from adversarial.client import fetch
from adversarial.leaks import Scanner
from gateway.demo.samples import STUDY_UIDS

ROLES = ("researcher", "external")
UP7 = "%2F.." * 7
PAYLOADS = (
    "1%2F..%2F..", "1%2F..%2F..%2F..%2F..", "1" + "%2F.." * 6, "%2e%2e", "%2E%2E", "1%2F%2e%2e%2F%2E%2E",
    "1%5C..%5C..", "1,2%2F..", "..", ".", "%2F", "%00", "%0a", "%252F..", "1%252F..%252F..", "1%2F",
    "1%3B..", "1/../..",
    f"1{UP7}%2F{STUDY_UIDS['b_cr']}",  # another patient's study, by its real UID
)  # fmt: skip
ACCEPTS = (
    'multipart/related; type="application/dicom"',
    'multipart/related; type="application/octet-stream"',
    "application/dicom+json",
    "*/*",
    "image/jpeg",
)
# route -> (suffix after the instance, where the payload goes besides the UID segments)
ROUTES = {
    "frames": ("/frames/{p}", True),
    "frames-rendered": ("/frames/{p}/rendered", True),
    "frames-thumbnail": ("/frames/{p}/thumbnail", True),
    "bulk-tagpath": ("/bulk/{p}", True),
    "bulk-after-tag": ("/bulk/7fe00010{p}", True),
    "rendered": ("/rendered", False),
    "thumbnail": ("/thumbnail", False),
    "bulkdata": ("/bulkdata", False),
    "metadata": ("/metadata", False),
    "instance-retrieve": ("", False),
    "series-retrieve": (None, False),
}


@dataclass(frozen=True)
class Known:
    study: str
    series: str
    instance: str


def _first(obj: dict, tag: str) -> str:
    return str(obj[tag]["Value"][0])


@pytest.fixture(scope="module")
def known(gateway: GatewayProcess) -> dict[str, Known]:
    """Real pseudonyms of one CT instance of patient A, as each role's QIDO gives them."""
    out = {}
    for role in ROLES:
        headers = {**gateway.headers(role), "Accept": "application/dicom+json"}

        def get(path: str, role: str = role, headers: dict = headers, **params: str) -> list[dict]:
            response = requests.get(gateway.dicomweb_url + path, headers=headers, params=params, timeout=30)
            assert response.status_code == 200, (role, path, response.status_code)
            return response.json()

        for study in get("/studies", ModalitiesInStudy="CT"):
            st = _first(study, "0020000D")
            series = [s for s in get(f"/studies/{st}/series") if _first(s, "00080060") == "CT"]
            if series:
                se = _first(series[0], "0020000E")
                sop = _first(get(f"/studies/{st}/series/{se}/instances")[0], "00080018")
                out[role] = Known(st, se, sop)
                break
    assert set(out) == set(ROLES)
    return out


def requests_for(route: str, k: Known) -> Iterator[tuple[str, str]]:
    """(where the payload went, raw path) for every payload."""
    suffix, free = ROUTES[route]
    for payload in PAYLOADS:
        if free:
            yield f"segment {payload}", _instance_path(k.study, k.series, k.instance) + suffix.format(p=payload)
        tail = "" if suffix is None else suffix.format(p="1")
        if suffix is None:  # series retrieve: traversal in the series and study segments only
            yield f"series {payload}", f"/studies/{k.study}/series/{k.series}{payload}"
            yield f"series= {payload}", f"/studies/{k.study}/series/{payload}"
            yield f"study {payload}", f"/studies/{k.study}{payload}/series/{k.series}"
            continue
        yield f"instance {payload}", _instance_path(k.study, k.series, k.instance + payload) + tail
        yield f"instance= {payload}", _instance_path(k.study, k.series, payload) + tail
        yield f"series {payload}", _instance_path(k.study, k.series + payload, k.instance) + tail
        yield f"study {payload}", _instance_path(k.study + payload, k.series, k.instance) + tail


def _instance_path(study: str, series: str, instance: str) -> str:
    return f"/dicom-web/studies/{study}/series/{series}/instances/{instance}"


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("role", ROLES)
def test_traversal_is_refused(gateway: GatewayProcess, known: dict[str, Known], role: str, route: str) -> None:
    k, scanner = known[role], Scanner.for_role(role)
    failures = []
    count = 0
    for where, path in requests_for(route, k):
        for accept in ACCEPTS:
            count += 1
            outcome = fetch(gateway.port, path, {**gateway.headers(role), "Accept": accept})
            leaked = scanner.scan(outcome.body)
            if not 400 <= outcome.status < 500 or leaked:
                keys = ",".join(sorted(leaked)) or "-"
                failures.append(f"role={role} route={route} payload-in={where!r} accept={accept!r} -> {outcome}"
                                f" leaked={keys}")
    assert gateway.process is not None and gateway.process.poll() is None, "the gateway died"
    assert not failures, f"{len(failures)} of {count} traversal requests were not refused:\n" + "\n".join(failures[:40])
