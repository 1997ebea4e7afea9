"""Issues 8 and 14: /metrics scraped from the real gateway process after real traffic against Orthanc (and Redis).

Every series the issues name must be there with sensible values: the gateway's own requests (issue 8), and the
origin's, the pseudonym store's and the governance store's side of them (issue 14). The scrape must carry
nothing that identifies anybody: no UID, no path, no planted value, only transaction and role names, statuses,
phases, reason codes and kinds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from support.gateway_server import GatewayProcess, free_port
from support.redis_server import RedisServer

from gateway.adapters.upstream import ADMIN, READINESS
from gateway.core.transactions import TRANSACTIONS
from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED, encoded_forms
from gateway.demo.samples import UID_ROOT

# What an upstream series' transaction label may be: a name from the transaction table, or one of the gateway's
# own errands (the readiness probe, the admin API).
UPSTREAM_TRANSACTIONS = {t.name for t in TRANSACTIONS} | {READINESS, ADMIN}
UID_LIKE = re.compile(r"\d+(\.\d+){2,}")
# A label may name a route by its template (/healthz, /admin/optouts/{id}), never a request's path.
ROUTE_TEMPLATE = re.compile(r"(/([a-z-]+|\{[a-z_]+\}))+")

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


def test_metrics_carry_requests_latency_bytes_and_instances(
    start_gateway: Callable[..., GatewayProcess], orthanc: OrthancProcess
) -> None:
    """A gateway of its own: one that served these studies already knows their values of record and makes no
    store call for them (run after test_deidentified on the shared gateway, this saw no get_or_create)."""
    gateway = start_gateway(orthanc.dicomweb_url)
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


def test_upstream_latency_bytes_and_statuses_per_transaction(gateway: GatewayProcess, orthanc: OrthancProcess) -> None:
    """Issue 14: the origin's side of a QIDO search and of study retrieves, by transaction."""
    direct_studies = requests.get(orthanc.dicomweb_url + "/studies", headers=JSON, timeout=30)
    real_uids = [study["0020000D"]["Value"][0] for study in direct_studies.json()]
    # What the origin sends the gateway for the same retrieves (the gateway forwards the client's Accept).
    origin_bytes = sum(
        len(requests.get(f"{orthanc.dicomweb_url}/studies/{uid}", headers=DICOM, timeout=30).content)
        for uid in real_uids
    )
    _, before = scrape(gateway)
    studies = get(gateway, "researcher", "/studies", JSON).json()
    for study in studies:
        assert get(gateway, "researcher", f"/studies/{study['0020000D']['Value'][0]}", DICOM).status_code in (200, 404)
    for uid in real_uids:  # the clinician's retrieves ask the origin for exactly what `origin_bytes` measured
        assert get(gateway, "clinician", f"/studies/{uid}", DICOM).status_code == 200
    assert get(gateway, "clinician", "/studies/1.2.3/metadata", JSON).status_code == 404  # the origin's 404
    _, after = scrape(gateway)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    duration = "gateway_upstream_request_duration_seconds"
    for transaction, requests_made in (("search_for_studies", 1), ("retrieve_study", len(studies) + len(real_uids))):
        for phase in ("headers", "body_wait", "total"):
            assert grew(f"{duration}_count", transaction=transaction, phase=phase) == requests_made, phase
            assert grew(f"{duration}_bucket", transaction=transaction, phase=phase, le="+Inf") == requests_made
        total = grew(f"{duration}_sum", transaction=transaction, phase="total")
        assert total >= grew(f"{duration}_sum", transaction=transaction, phase="headers") > 0
        assert total >= grew(f"{duration}_sum", transaction=transaction, phase="body_wait")
        assert grew("gateway_upstream_responses_total", transaction=transaction, status="2xx") == requests_made
    received = "gateway_upstream_response_bytes_total"
    # The search asks the origin for more attributes than a plain /studies, never fewer.
    assert grew(received, transaction="search_for_studies") >= len(direct_studies.content)
    assert grew(received, transaction="retrieve_study") >= origin_bytes > 100_000
    metadata = {"transaction": "retrieve_study_metadata"}
    assert grew("gateway_upstream_responses_total", **metadata, status="4xx") == 1
    assert grew("gateway_upstream_errors_total", **metadata, kind="UpstreamStatus_4xx") == 1


def test_a_disclosure_times_its_ledger_append(gateway: GatewayProcess) -> None:
    _, before = scrape(gateway)
    assert get(gateway, "researcher", "/studies", JSON).status_code == 200  # discloses the studies it lists
    _, after = scrape(gateway)
    name = "gateway_governance_round_trip_seconds"
    assert value(after, f"{name}_count", operation="append") - value(before, f"{name}_count", operation="append") == 1
    assert value(after, f"{name}_sum", operation="append") > value(before, f"{name}_sum", operation="append")


def test_withholding_reasons_are_codes_without_values(gateway: GatewayProcess) -> None:
    for study in get(gateway, "external", "/studies", JSON).json():
        get(gateway, "external", f"/studies/{study['0020000D']['Value'][0]}", DICOM)
    _, samples = scrape(gateway)
    reasons = {dict(ls)["reason"] for (n, ls) in samples if n == "gateway_instances_withheld_total"}
    assert reasons, "no instance was withheld"
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9 -]*", reason) for reason in reasons), reasons


def test_the_scrape_carries_no_identifier(gateway: GatewayProcess) -> None:
    for role in ("researcher", "external", "clinician"):
        for study in get(gateway, role, "/studies", JSON).json():
            get(gateway, role, f"/studies/{study['0020000D']['Value'][0]}/metadata", JSON)
    get(gateway, "clinician", f"/studies/{UID_ROOT}.9.9/metadata", JSON)  # a 404 from the origin
    get(gateway, "clinician", f"/no/such/{UID_ROOT}.9.9", JSON)  # no route at all
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


def test_every_label_value_is_bounded(gateway: GatewayProcess) -> None:
    """No label value is a UID or a path, and the upstream's transactions come from the gateway's own table."""
    get(gateway, "clinician", f"/studies/{UID_ROOT}.9.9/series", JSON)
    get(gateway, "researcher", f"/studies/{UID_ROOT}.9.9", DICOM)
    assert requests.get(gateway.url + "/readyz", timeout=10).status_code == 200
    text, _ = scrape(gateway)
    families = list(text_string_to_metric_families(text))
    values = {v for family in families for sample in family.samples for k, v in sample.labels.items() if k != "le"}
    assert not [v for v in values if UID_LIKE.search(v)]
    assert not [v for v in values if "/" in v and not ROUTE_TEMPLATE.fullmatch(v)]
    upstream = {
        sample.labels["transaction"]
        for family in families
        if family.name.startswith("gateway_upstream_")
        for sample in family.samples
    }
    assert {"search_for_studies", "readiness"} <= upstream <= UPSTREAM_TRANSACTIONS, upstream


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
    outage = {"kind": "UpstreamUnavailable", "transaction": "search_for_studies"}
    assert value(samples, "gateway_upstream_errors_total", **outage) == 1
    assert value(samples, "gateway_upstream_request_duration_seconds_count", transaction="search_for_studies") == 0


def test_governance_errors_are_counted(
    orthanc: OrthancProcess, redis_server: RedisServer, start_gateway: Callable[..., GatewayProcess]
) -> None:
    """Pseudonyms in the embedded store, the ledger and opt-outs on a Redis that stops."""
    gateway = start_gateway(orthanc.dicomweb_url, governance={"url": redis_server.url})
    assert get(gateway, "researcher", "/studies?limit=1", JSON).status_code == 200
    redis_server.stop()
    assert get(gateway, "researcher", "/studies?limit=1", JSON).status_code == 503
    _, samples = scrape(gateway)
    assert value(samples, "gateway_governance_errors_total") >= 1
    assert value(samples, "gateway_governance_round_trip_seconds_count", operation="append") >= 1


def test_metrics_can_be_switched_off(orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess]) -> None:
    quiet = start_gateway(orthanc.dicomweb_url, metrics={"enabled": False})
    assert requests.get(quiet.url + "/metrics", timeout=10).status_code == 404
