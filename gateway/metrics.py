"""Prometheus metrics: every series the gateway exposes on `/metrics`, and the one-line calls that feed them.

Each event is counted in one place: requests in the `exchange` middleware, de-identified and withheld
instances where they are decided (the retrieve stream and `View`), pseudonym store round trips in the `Resolver`,
governance store round trips in `SealedGovernance`, and the origin's requests, answers and errors in
`upstream.py`. Labels hold only bounded, non-identifying values: transaction names (from the gateway's own table,
never a URL), role names, statuses, phases, operations, reason codes and error kinds, never a UID, a path or a
value.

Where the time goes: for one transaction, `gateway_request_duration_seconds` is the gateway's whole answer,
`gateway_upstream_request_duration_seconds` the origin's part in it (to its headers, waiting for its body, and
in all), and the two round-trip histograms the stores' part. Hot paths tally locally and call in here once per
request or round trip, never once per chunk.

The series live in the gateway's own registry, not prometheus-client's global one, so building several apps
in one process (the tests do) never registers a collector twice. This module does not import aiohttp: the
pseudonym store's resolver calls it, and `gateway/core/` stays free of the web framework.

The same calls feed `HISTORY` (history.py): the last hour per minute, which the admin console's overview shows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.history import History

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
CONTENT_TYPE = CONTENT_TYPE_LATEST
HISTORY = History()  # the last hour per minute, for the console's overview (this process's counts only)

# A whole-study retrieve can run for minutes; the default buckets stop at 10 s.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)
# An origin on the same host answers a small request in about a millisecond.
_UPSTREAM_BUCKETS = (0.001, 0.0025, *_LATENCY_BUCKETS)

REQUESTS = Counter(
    "gateway_requests", "Requests answered, by transaction, role and status.",
    ["transaction", "role", "status"], registry=REGISTRY,
)  # fmt: skip
LATENCY = Histogram(
    "gateway_request_duration_seconds", "Time from request to the last byte written, by transaction and role.",
    ["transaction", "role"], buckets=_LATENCY_BUCKETS, registry=REGISTRY,
)  # fmt: skip
RESPONSE_BYTES = Counter(
    "gateway_response_bytes",
    "Bytes sent in response bodies. Streamed responses count what went on the wire, chunk framing included.",
    ["transaction", "role"], registry=REGISTRY,
)  # fmt: skip
DEIDENTIFIED = Counter(
    "gateway_instances_deidentified",
    "Objects de-identified and sent: form=part10 for retrieved instances, form=json for DICOM JSON objects.",
    ["form"], registry=REGISTRY,
)  # fmt: skip
WITHHELD = Counter(
    "gateway_instances_withheld", "Objects left out on purpose, by form and reason code (never a value).",
    ["form", "reason"], registry=REGISTRY,
)  # fmt: skip
OCR_READS = Counter(
    "gateway_ocr_reads", "Instances whose first frame was read by OCR for burned-in text, by outcome.",
    ["outcome"], registry=REGISTRY,
)  # fmt: skip
OCR_SECONDS = Histogram(
    "gateway_ocr_duration_seconds", "Time to fetch and read one first frame by OCR.",
    buckets=_LATENCY_BUCKETS, registry=REGISTRY,
)  # fmt: skip
STORE_CALLS = Histogram(
    "gateway_store_round_trip_seconds", "Pseudonym store round trips, by operation.",
    ["operation"], buckets=_STORE_BUCKETS, registry=REGISTRY,
)  # fmt: skip
STORE_ERRORS = Counter(
    "gateway_store_errors", "Pseudonym store round trips that failed, by operation.", ["operation"], registry=REGISTRY
)
GOVERNANCE_CALLS = Histogram(
    "gateway_governance_round_trip_seconds",
    "Governance store round trips, by operation: append (a ledger entry sealed and chained), versions, "
    "withdrawals and profiles (a replica's refresh of opt-outs and edited profiles).",
    ["operation"], buckets=_STORE_BUCKETS, registry=REGISTRY,
)  # fmt: skip
GOVERNANCE_ERRORS = Counter(
    "gateway_governance_errors", "Governance store round trips that failed, by operation.", ["operation"],
    registry=REGISTRY,
)  # fmt: skip
UPSTREAM_DURATION = Histogram(
    "gateway_upstream_request_duration_seconds",
    "Requests to the origin server, by the transaction they serve and phase: headers (from sending the request to "
    "its response headers), body_wait (time spent waiting for body bytes), total (from sending to the response's "
    "release, the gateway's own work between reads included).",
    ["transaction", "phase"], buckets=_UPSTREAM_BUCKETS, registry=REGISTRY,
)  # fmt: skip
UPSTREAM_RESPONSES = Counter(
    "gateway_upstream_responses", "Responses from the origin server, by transaction and status class (2xx, 4xx...).",
    ["transaction", "status"], registry=REGISTRY,
)  # fmt: skip
UPSTREAM_BYTES = Counter(
    "gateway_upstream_response_bytes", "Body bytes read from the origin server, by transaction.", ["transaction"],
    registry=REGISTRY,
)  # fmt: skip
UPSTREAM_ERRORS = Counter(
    "gateway_upstream_errors", "Failures talking to the origin server, by transaction and error kind.",
    ["transaction", "kind"], registry=REGISTRY,
)  # fmt: skip

# A reason is "<code> (<tag path>)" or "<code>: <detail>"; the code is its leading words.
_REASON_CODE = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?: [A-Za-z0-9-]+)*")


def request_done(transaction: str, role: str, status: int, seconds: float, body_bytes: int) -> None:
    REQUESTS.labels(transaction, role, str(status)).inc()
    LATENCY.labels(transaction, role).observe(seconds)
    RESPONSE_BYTES.labels(transaction, role).inc(body_bytes)
    HISTORY.request(role, status, seconds)


def deidentified(form: str) -> None:
    DEIDENTIFIED.labels(form).inc()


def withheld(form: str, reason: str) -> None:
    code = reason_code(reason)
    WITHHELD.labels(form, code).inc()
    HISTORY.withheld(code)


def ocr_read(outcome: str, seconds: float) -> None:
    """One instance judged by OCR: clean, masked, withheld, timeout or failed."""
    OCR_READS.labels(outcome).inc()
    OCR_SECONDS.observe(seconds)


def upstream_answered(transaction: str, status: int, seconds: float) -> None:
    """The origin's response headers arrived, `seconds` after the request was sent."""
    UPSTREAM_RESPONSES.labels(transaction, f"{status // 100}xx").inc()
    UPSTREAM_DURATION.labels(transaction, "headers").observe(seconds)


def upstream_done(transaction: str, seconds: float, waited: float, body_bytes: int) -> None:
    """The origin's response was released: `waited` of its `seconds` went on waiting for its `body_bytes`."""
    UPSTREAM_DURATION.labels(transaction, "body_wait").observe(waited)
    UPSTREAM_DURATION.labels(transaction, "total").observe(seconds)
    UPSTREAM_BYTES.labels(transaction).inc(body_bytes)


def upstream_error(transaction: str, kind: str) -> None:
    UPSTREAM_ERRORS.labels(transaction, kind).inc()
    HISTORY.error(f"upstream {kind}")


def store_round_trip(operation: str) -> AbstractContextManager[None]:
    return _round_trip(STORE_CALLS, STORE_ERRORS, operation)


def governance_round_trip(operation: str) -> AbstractContextManager[None]:
    return _round_trip(GOVERNANCE_CALLS, GOVERNANCE_ERRORS, operation)


@contextmanager
def _round_trip(calls: Histogram, errors: Counter, operation: str) -> Iterator[None]:
    """Time one store call and count it as an error if it raises (a cancellation is not the store's fault)."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        errors.labels(operation).inc()
        raise
    finally:
        calls.labels(operation).observe(time.perf_counter() - started)


def reason_code(reason: str) -> str:
    """The leading words of a withholding reason, without the tag path or detail: a small, fixed set."""
    match = _REASON_CODE.match(reason)
    return match.group(0) if match else "other"


def exposition() -> bytes:
    return generate_latest(REGISTRY)
