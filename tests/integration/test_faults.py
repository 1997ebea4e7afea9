"""Issue 5 fault tests: the gateway fails closed when the origin dies, the store stops, or an instance is bad."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pydicom
import pytest
import requests
from pydicom.uid import DeflatedExplicitVRLittleEndian
from support.gateway_server import GatewayProcess
from support.orthanc_server import running_orthanc
from support.redis_server import RedisServer

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED, encoded_forms
from gateway.demo.samples import LARGE_STUDY_UID, large_ct_study, sample_studies

JSON = {"Accept": "application/dicom+json"}
DICOM_AS_STORED = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}


@pytest.fixture
def big_orthanc(tmp_path: Path) -> Iterator[OrthancProcess]:
    """A private Orthanc holding a 100-slice 512x512 CT (about 52 MB), to be killed mid-retrieve: several times
    what the gateway reads ahead (8 MB) and what socket buffers hold, so the kill lands mid-study."""
    with running_orthanc(tmp_path / "orthanc", with_samples=False) as orthanc:
        for instance in large_ct_study(n=100):
            orthanc.upload(instance)
        yield orthanc


def _pseudonymous_study(gateway: GatewayProcess, role: str) -> str:
    if role == "clinician":
        return LARGE_STUDY_UID
    studies = requests.get(gateway.dicomweb_url + "/studies", headers={**gateway.headers(role), **JSON}, timeout=30)
    return str(studies.json()[0]["0020000D"]["Value"][0])


@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_upstream_killed_mid_study_aborts_the_stream(
    big_orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], role: str
) -> None:
    gateway = start_gateway(big_orthanc.dicomweb_url)
    study = _pseudonymous_study(gateway, role)
    received = bytearray()
    with requests.get(
        f"{gateway.dicomweb_url}/studies/{study}", headers={**gateway.headers(role), **DICOM_AS_STORED},
        stream=True, timeout=30,
    ) as response:  # fmt: skip
        assert response.status_code == 200
        boundary = response.headers["Content-Type"].split("boundary=")[1].strip('"')
        chunks = response.iter_content(64 * 1024)
        received += next(chunks)
        big_orthanc.stop(graceful=False)  # SIGKILL, mid-study
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in chunks:
                received += chunk
    assert len(received) < 40_000_000
    assert f"--{boundary}--".encode() not in received  # the client can tell the study is incomplete


def test_store_outage_gives_503_fast_and_recovers(
    orthanc: OrthancProcess, redis_server: RedisServer, start_gateway: Callable[..., GatewayProcess]
) -> None:
    gateway = start_gateway(orthanc.dicomweb_url, store_url=redis_server.url)
    url, headers = gateway.dicomweb_url + "/studies", {**gateway.headers("researcher"), **JSON}
    before = requests.get(url + "?limit=1", headers=headers, timeout=10)
    assert before.status_code == 200 and len(before.json()) == 1
    redis_server.stop()
    started = time.monotonic()
    during = requests.get(url, headers=headers, timeout=10)  # studies this process has never seen
    assert during.status_code == 503 and time.monotonic() - started < 1.0
    assert during.json()["message"].startswith("the pseudonym store is unavailable")
    # Identity needs no store and keeps working; readiness reports the outage.
    assert requests.get(url, headers={**gateway.headers("clinician"), **JSON}, timeout=10).status_code == 200
    assert requests.get(gateway.url + "/readyz", timeout=10).json()["store"] is False
    redis_server.start()
    after = requests.get(url + "?limit=1", headers=headers, timeout=10)
    assert after.status_code == 200 and after.json() == before.json()  # same pseudonyms, no gateway restart
    assert requests.get(url, headers=headers, timeout=10).status_code == 200


def test_readiness_names_a_governance_store_that_is_down(
    orthanc: OrthancProcess, redis_server: RedisServer, start_gateway: Callable[..., GatewayProcess]
) -> None:
    """Pseudonyms in the embedded store, governance on a Redis that stops: no de-identifying request can pass."""
    gateway = start_gateway(orthanc.dicomweb_url, governance={"url": redis_server.url})
    ready = requests.get(gateway.url + "/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["governance"] is True
    redis_server.stop()
    url, headers = gateway.dicomweb_url + "/studies", {**gateway.headers("researcher"), **JSON}
    assert requests.get(url, headers=headers, timeout=10).status_code == 503
    ready = requests.get(gateway.url + "/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json() == {"ready": False, "upstream": True, "store": True, "governance": False}


def test_a_frame_whose_ledger_entry_cannot_be_written_is_not_sent(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess]
) -> None:
    """A frames answer begins its ledger append before it asks the origin for the pixels; one whose append
    fails is still a 503 with no pixel bytes, and the next one, once the ledger can be written, goes."""
    gateway = start_gateway(orthanc.dicomweb_url)
    headers = gateway.headers("researcher")
    study = _pseudonymous_study(gateway, "researcher")
    base = f"{gateway.dicomweb_url}/studies/{study}/series"
    series = requests.get(base, headers={**headers, **JSON}, timeout=10).json()[0]["0020000E"]["Value"][0]
    base += f"/{series}/instances"
    sop = requests.get(base, headers={**headers, **JSON}, timeout=10).json()[0]["00080018"]["Value"][0]
    frame = (f"{base}/{sop}/frames/1", {**headers, "Accept": 'multipart/related; type="application/octet-stream"'})
    assert requests.get(frame[0], headers=frame[1], timeout=10).status_code == 200
    witness = gateway.workdir / "ledger-head.json"
    witness.unlink()
    witness.mkdir()  # the witness can no longer be written, so no ledger append can complete
    try:
        refused = requests.get(frame[0], headers=frame[1], timeout=10)
        assert refused.status_code == 503 and refused.headers["Content-Type"].startswith("application/json")
        assert b"--" not in refused.content and len(refused.content) < 1000
    finally:
        witness.rmdir()
    assert requests.get(frame[0], headers=frame[1], timeout=10).status_code == 200


def test_unprocessable_instance_is_withheld_and_nothing_leaks(
    tmp_path: Path, start_gateway: Callable[..., GatewayProcess]
) -> None:
    """A deflated instance cannot be split as it streams: it is left out, and the rest of the study goes."""
    good = sample_studies()["a_followup"]
    bad = pydicom.dcmread(io.BytesIO(good[0]))
    bad.SOPInstanceUID = bad.SOPInstanceUID + ".99"
    bad.file_meta.MediaStorageSOPInstanceUID = bad.SOPInstanceUID
    out = io.BytesIO()
    bad.save_as(out, enforce_file_format=True, implicit_vr=False, little_endian=True)
    bad.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    out = io.BytesIO()
    bad.save_as(out, enforce_file_format=True)
    with running_orthanc(tmp_path / "orthanc", with_samples=False) as orthanc:
        for instance in [*good, out.getvalue()]:
            orthanc.upload(instance)
        gateway = start_gateway(orthanc.dicomweb_url)
        study = _pseudonymous_study(gateway, "researcher")
        response = requests.get(
            f"{gateway.dicomweb_url}/studies/{study}",
            headers={**gateway.headers("researcher"), **DICOM_AS_STORED},
            timeout=30,
        )
    assert response.status_code == 200
    assert response.content.count(b"Content-Type: application/dicom") == len(good)
    for key, value in PLANTED.items():
        if key.startswith(("name.", "id.", "accession.", "institution.")):
            assert not any(form in response.content for form in encoded_forms(value)), key
    assert "withheld" in gateway.log_path.read_text()


@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_a_client_hanging_up_mid_study_leaves_the_gateway_well(
    big_orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], role: str
) -> None:
    gateway = start_gateway(big_orthanc.dicomweb_url)
    study = _pseudonymous_study(gateway, role)
    url, headers = f"{gateway.dicomweb_url}/studies/{study}", {**gateway.headers(role), **DICOM_AS_STORED}
    for _ in range(3):
        with requests.get(url, headers=headers, stream=True, timeout=30) as response:
            assert response.status_code == 200
            next(response.iter_content(64 * 1024))
        # Leaving the block closes the connection with most of the study unsent.
    complete = requests.get(url, headers=headers, timeout=60)
    assert complete.status_code == 200 and len(complete.content) > 20_000_000
    log = gateway.log_path.read_text()
    assert "unhandled error" not in log and "Traceback" not in log
