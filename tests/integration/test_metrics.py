"""Issue 8: /metrics scraped from the real gateway process after real traffic against Orthanc (and Redis).

Every series the issue names must be there with sensible values, and the scrape must carry nothing that
identifies anybody: no UID, no planted value, only transaction and role names, statuses, reason codes and kinds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from support.gateway_server import GatewayProcess, free_port
from support.redis_server import RedisServer

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED, encoded_forms
from gateway.demo.samples import UID_ROOT

JSON = {"Accept": "application/dicom+json"}
DICOM = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

pytestmark = pytest.mark.integration


def scrape(gateway: GatewayProcess) -> tuple[str, Samples]:
    response = requests.get(gateway.url + "/metrics", timeout=10)  # no credentials needed
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def get(gateway: GatewayProcess, role: str, path: str, accept: dict[str, str]) -> requests.Response:
    return requests.get(gateway.dicomweb_url + path, headers={**gateway.headers(role), **accept}, timeout=30)


def test_metrics_carry_requests_latency_bytes_and_instances(gateway: GatewayProcess) -> None:
    _, before = scrape(gateway)
    studies = get(gateway, "researcher", "/studies", JSON).json()
    for study in studies:
        uid = study["0020000D"]["Value"][0]
        assert get(gateway, "researcher", f"/studies/{uid}", DICOM).status_code in (200, 404)
        assert get(gateway, "researcher", f"/studies/{uid}/metadata", JSON).status_code == 200
    assert get(gateway, "researcher", "/studies/2.25.1/metadata", JSON).status_code == 404
    assert requests.get(gateway.dicomweb_url + "/studies", timeout=10).status_code == 401
    _, after = scrape(gateway)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    search = {"transaction": "search_for_studies", "role": "researcher"}
    assert grew("gateway_requests_total", **search, status="200") == 1
    assert grew("gateway_requests_total", transaction="retrieve_study_metadata", status="404") == 1
    assert grew("gateway_requests_total", transaction="search_for_studies", role="-", status="401") == 1
    assert grew("gateway_request_duration_seconds_count", **search) == 1
    assert grew("gateway_request_duration_seconds_bucket", **search, le="+Inf") == 1
    assert grew("gateway_request_duration_seconds_sum", **search) > 0
    retrieved = grew("gateway_response_bytes_total", transaction="retrieve_study", role="researcher")
    assert retrieved > 100_000  # the studies' pixel data went through
    assert grew("gateway_instances_deidentified_total", form="part10") >= len(studies)
    assert grew("gateway_instances_deidentified_total", form="json") >= len(studies)
    assert grew("gateway_instances_withheld_total") >= 1  # the samples hold instances that must be withheld
    assert grew("gateway_store_round_trip_seconds_count", operation="get_or_create") >= 1
    assert grew("gateway_store_round_trip_seconds_count", operation="reverse") >= 1


def test_withholding_reasons_are_codes_without_values(gateway: GatewayProcess) -> None:
    for study in get(gateway, "external", "/studies", JSON).json():
        get(gateway, "external", f"/studies/{study['0020000D']['Value'][0]}", DICOM)
    _, samples = scrape(gateway)
    reasons = {dict(ls)["reason"] for (n, ls) in samples if n == "gateway_instances_withheld_total"}
    assert reasons, "no instance was withheld"
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9 -]*", reason) for reason in reasons), reasons


def test_the_scrape_carries_no_identifier(gateway: GatewayProcess) -> None:
    for role in ("researcher", "external", "clinician"):
        get(gateway, role, "/studies", JSON)
    text, _ = scrape(gateway)
    # Sample values are the gateway's own numbers (durations, byte counts); a six-digit planted time can turn
    # up inside one by chance, so only the text a value could be written into is scanned: names, help, labels.
    words = [
        piece
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for piece in (family.name, family.documentation, sample.name, *sample.labels.keys(), *sample.labels.values())
    ]
    body = "\n".join(words).encode()
    assert UID_ROOT.encode() not in body
    planted = {key: secret for key, secret in PLANTED.items() if key != "uid_root"}
    leaks = [key for key, secret in planted.items() if any(form in body for form in encoded_forms(secret))]
    assert not leaks, leaks


def test_store_and_upstream_errors_are_counted(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], tmp_path_factory: pytest.TempPathFactory
) -> None:
    redis = RedisServer(tmp_path_factory.mktemp("redis"))
    redis.start()
    try:
        with_redis = start_gateway(orthanc.dicomweb_url, redis.url)
        assert get(with_redis, "researcher", "/studies?limit=1", JSON).status_code == 200
        redis.stop()
        assert get(with_redis, "researcher", "/studies", JSON).status_code == 503  # studies never seen here
        _, samples = scrape(with_redis)
        assert value(samples, "gateway_store_errors_total") >= 1
        assert value(samples, "gateway_requests_total", transaction="search_for_studies", status="503") == 1
    finally:
        redis.close()
    dead = start_gateway(f"http://127.0.0.1:{free_port()}/dicom-web")
    assert get(dead, "clinician", "/studies", JSON).status_code == 502
    _, samples = scrape(dead)
    assert value(samples, "gateway_upstream_errors_total", kind="UpstreamUnavailable") >= 1


def test_metrics_can_be_switched_off(orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess]) -> None:
    quiet = start_gateway(orthanc.dicomweb_url, metrics={"enabled": False})
    assert requests.get(quiet.url + "/metrics", timeout=10).status_code == 404
