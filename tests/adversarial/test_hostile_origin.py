"""The gateway in front of a hostile origin: mutated Part 10 and DICOM JSON made from the planted phantoms.

The property, for every case and every de-identifying role: the answer is an error status (never a 500, never
a traceback), or an aborted stream, or bodies and headers that carry no planted identifier in any encoding
(base64 included) and no real UID. Bytes that arrived before an abort are scanned too. Every failure prints
(seed, index), the route and the mutation; `reproduce(...)` below re-runs one case.
"""

from __future__ import annotations

import dataclasses
import threading

import orjson
import pytest
import requests
from support.gateway_server import GatewayProcess

from adversarial.cases import OCTETS, ROUTES, Pseudonyms, learn_pseudonyms, run_case
from adversarial.client import fetch
from adversarial.hostile_origin import HostileOrigin, frame_parts, json_answer, multipart
from adversarial.leaks import Scanner
from gateway.demo.planted import PLANTED

# Cases per (role, route) in CI; bench/fuzz_adversarial.py runs many more with the same generator.
CASES = {"researcher": 24, "external": 24, "ai-service": 6}


@pytest.fixture(scope="module")
def pseudonyms(hostile_origin: HostileOrigin, hostile_gateway: GatewayProcess) -> dict[str, Pseudonyms]:
    return {role: learn_pseudonyms(hostile_origin, hostile_gateway, role) for role in CASES}


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("role", sorted(CASES))
def test_hostile_origin_never_leaks(
    hostile_origin: HostileOrigin,
    hostile_gateway: GatewayProcess,
    pseudonyms: dict[str, Pseudonyms],
    seed: int,
    role: str,
    route: str,
) -> None:
    failures = []
    for index in range(CASES[role]):
        result = run_case(hostile_origin, hostile_gateway, pseudonyms[role], role, route, seed, index)
        if result.violations:
            failures.append(result.describe())
    assert hostile_gateway.process is not None and hostile_gateway.process.poll() is None, "the gateway died"
    assert not failures, f"{len(failures)} of {CASES[role]} cases broke the property:\n" + "\n".join(failures[:25])


def test_baseline_is_clean(
    hostile_origin: HostileOrigin, hostile_gateway: GatewayProcess, pseudonyms: dict[str, Pseudonyms]
) -> None:
    """The clean phantoms through the hostile origin's baseline: the harness itself finds nothing."""
    for role, known in pseudonyms.items():
        assert known.study and known.series and known.instance, role
    hostile_origin.reset()
    url = f"{hostile_gateway.dicomweb_url}/studies/{pseudonyms['researcher'].study}/metadata"
    response = requests.get(
        url, headers={**hostile_gateway.headers("researcher"), "Accept": "application/dicom+json"}, timeout=10
    )
    assert response.status_code == 200
    assert not Scanner("researcher").scan(response.content)


@pytest.mark.parametrize("role", ["researcher", "external"])
def test_instance_bulkdata_is_refused_not_relayed(
    hostile_origin: HostileOrigin, hostile_gateway: GatewayProcess, pseudonyms: dict[str, Pseudonyms], role: str
) -> None:
    """Instance-level /bulkdata is every bulk value of the instance (PS3.18 Retrieve Bulkdata). An origin that offers
    it sends private and removed values beside Pixel Data, each an octet-stream part the gateway cannot tell
    apart: only a tag path says what a part is, so this resource is refused for de-identifying roles."""
    hostile_origin.reset()
    ct = hostile_origin.phantoms["a_ct"]
    private = ({"Content-Type": "application/octet-stream"}, b"note on " + PLANTED["name.patient_a"].encode() + b" ")
    hostile_origin.serve(
        "bulk", multipart([*frame_parts(ct, hostile_origin.base), private], "application/octet-stream")
    )
    try:
        url = hostile_gateway.dicomweb_url + pseudonyms[role].path("instance") + "/bulkdata"
        response = requests.get(url, headers={**hostile_gateway.headers(role), "Accept": OCTETS}, timeout=10)
        assert not Scanner(role).scan(response.content)
        assert response.status_code == 400 and "/bulk/" in response.json()["message"]
    finally:
        hostile_origin.reset()


def _metadata(hostile_gateway: GatewayProcess, study: str, *, timeout: float) -> requests.Response:
    url = f"{hostile_gateway.dicomweb_url}/studies/{study}/metadata"
    headers = {**hostile_gateway.headers("researcher"), "Accept": "application/dicom+json"}
    return requests.get(url, headers=headers, timeout=timeout, stream=True)


def test_metadata_streams_objects_before_the_origin_has_finished(
    hostile_origin: HostileOrigin, hostile_gateway: GatewayProcess, pseudonyms: dict[str, Pseudonyms]
) -> None:
    """Issue 14, metadata as a stream: the first objects go out while the origin is still sending, so memory
    holds what is in flight, not the whole answer. The origin holds back the rest of its array until the
    client has read the start of the gateway's."""
    ct = hostile_origin.phantoms["a_ct"]
    body = orjson.dumps([ct.json] * 40)
    hold = threading.Event()
    hostile_origin.reset()
    hostile_origin.serve("metadata", json_answer(body, hold=hold, hold_after=len(body) // 2))
    try:
        with _metadata(hostile_gateway, pseudonyms["researcher"].study, timeout=8) as response:
            assert response.status_code == 200
            chunks = response.iter_content(chunk_size=64)
            first = next(chunks)  # arrives with the origin still holding back the rest
            hold.set()
            whole = first + b"".join(chunks)
        objects = orjson.loads(whole)
        assert len(objects) == 40 and not Scanner("researcher").scan(whole)
    finally:
        hold.set()
        hostile_origin.reset()


def test_metadata_that_breaks_after_its_first_objects_is_cut_not_closed(
    hostile_origin: HostileOrigin, hostile_gateway: GatewayProcess, pseudonyms: dict[str, Pseudonyms]
) -> None:
    """Once the array is open, an origin whose body turns out malformed gets the connection cut: the client
    never receives the closing bracket, so it cannot take the first objects for the whole answer."""
    ct = hostile_origin.phantoms["a_ct"]
    body = orjson.dumps([ct.json] * 40)[:-1] + b', {"00100010": {"vr": "PN", "Value": [}]'
    hostile_origin.reset()
    hostile_origin.serve("metadata", json_answer(body, chunk=4096))
    try:
        path = "/dicom-web" + pseudonyms["researcher"].path("study") + "/metadata"
        outcome = fetch(hostile_gateway.port, path, {**hostile_gateway.headers("researcher"),
                                                     "Accept": "application/dicom+json"})
        assert not Scanner("researcher").scan(outcome.body)
        assert outcome.status == 502 or (outcome.aborted and not outcome.body.rstrip().endswith(b"]")), outcome
    finally:
        hostile_origin.reset()


def _frames_answer(origin: HostileOrigin, frames: list[bytes], **options: object) -> None:
    ct = origin.phantoms["a_ct"]
    (headers, _), = frame_parts(ct, origin.base)
    origin.serve("frames", multipart([(headers, frame) for frame in frames], "application/octet-stream", **options))


@pytest.mark.parametrize("size", [64 * 1024, 1024**2])  # three frames: held whole, or past the hold and streamed
def test_frames_arrive_as_the_origin_sent_them(
    hostile_origin: HostileOrigin, hostile_gateway: GatewayProcess, pseudonyms: dict[str, Pseudonyms], size: int
) -> None:
    """Issue 14, frames sent whole: an answer that fits is rebuilt and sent with its length, a larger one
    streams; either way every frame's bytes arrive as the origin sent them, under the pseudonymous path."""
    frames = [bytes([n]) * size for n in (1, 2, 3)]
    hostile_origin.reset()
    _frames_answer(hostile_origin, frames, chunk=256 * 1024)
    try:
        known = pseudonyms["researcher"]
        path = "/dicom-web" + known.path("instance") + "/frames/1"
        outcome = fetch(hostile_gateway.port, path, {**hostile_gateway.headers("researcher"), "Accept": OCTETS})
        assert outcome.status == 200 and not outcome.aborted and outcome.complete_multipart, outcome
        assert bool(outcome.header("Content-Length")) == (3 * size < 2 * 1024**2)
        boundary = outcome.header("Content-Type").split("boundary=")[1].split(";")[0].strip('"').encode()
        parts = outcome.body.split(b"--" + boundary)[1:-1]
        assert [part.split(b"\r\n\r\n", 1)[1][:-2] for part in parts] == frames
        assert all(f"/instances/{known.instance}/frames/1".encode() in part for part in parts)
        assert not Scanner("researcher").scan(outcome.body)
    finally:
        hostile_origin.reset()


@pytest.mark.parametrize("size", [64 * 1024, 1024**2])
def test_frames_cut_by_the_origin_never_look_whole(
    hostile_origin: HostileOrigin, hostile_gateway: GatewayProcess, pseudonyms: dict[str, Pseudonyms], size: int
) -> None:
    """An origin that drops the connection in the middle of its frames: a held answer becomes a 502, a streamed
    one is cut before its closing boundary."""
    ct = hostile_origin.phantoms["a_ct"]
    (headers, _), = frame_parts(ct, hostile_origin.base)
    whole = multipart([(headers, b"\x07" * size)] * 3, "application/octet-stream", chunk=256 * 1024, cut=True)
    hostile_origin.reset()
    hostile_origin.serve("frames", dataclasses.replace(whole, body=whole.body[: len(whole.body) * 2 // 3]))
    try:
        path = "/dicom-web" + pseudonyms["researcher"].path("instance") + "/frames/1"
        outcome = fetch(hostile_gateway.port, path, {**hostile_gateway.headers("researcher"), "Accept": OCTETS})
        assert not outcome.complete_multipart, outcome
        assert outcome.status == 502 if 3 * size < 2 * 1024**2 else outcome.aborted, outcome
    finally:
        hostile_origin.reset()
