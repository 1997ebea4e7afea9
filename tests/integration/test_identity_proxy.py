"""Issue 2: the clinician (identity) role through the gateway, against the real Orthanc."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator

import orjson
import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from support.gateway_server import GatewayProcess, free_port

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.samples import sample_studies


def test_search_for_studies_matches_orthanc(client_as: Callable[[str], DICOMwebClient], direct: DICOMwebClient) -> None:
    through = client_as("clinician").search_for_studies()
    assert sorted(s["0020000D"]["Value"][0] for s in through) == sorted(
        s["0020000D"]["Value"][0] for s in direct.search_for_studies()
    )
    assert len(through) >= 4


def test_retrieve_study_is_identical(client_as: Callable[[str], DICOMwebClient], direct: DICOMwebClient) -> None:
    study = direct.search_for_studies(search_filters={"ModalitiesInStudy": "CT"})[0]["0020000D"]["Value"][0]
    through = client_as("clinician").retrieve_study(study)
    expected = direct.retrieve_study(study)
    assert sorted(_part10(ds) for ds in through) == sorted(_part10(ds) for ds in expected)


def test_series_metadata_points_at_the_gateway(
    gateway: GatewayProcess, orthanc: OrthancProcess, direct: DICOMwebClient
) -> None:
    series = direct.search_for_series(search_filters={"Modality": "CT"})[0]
    study_uid, series_uid = series["0020000D"]["Value"][0], series["0020000E"]["Value"][0]
    # Raw HTTP on purpose: dicomweb-client rewrites BulkDataURIs itself, which would hide what we send.
    response = requests.get(
        f"{gateway.dicomweb_url}/studies/{study_uid}/series/{series_uid}/metadata",
        headers={**gateway.headers("clinician"), "Accept": "application/dicom+json"},
        timeout=10,
    )
    uris = [i["7FE00010"]["BulkDataURI"] for i in response.json()]
    assert uris and all(u.startswith(gateway.dicomweb_url + f"/studies/{study_uid}/") for u in uris)
    assert orthanc.url not in response.text
    assert len(uris) == len(direct.retrieve_series_metadata(study_uid, series_uid))


def test_retrieve_instance_frames_is_identical(
    client_as: Callable[[str], DICOMwebClient], direct: DICOMwebClient
) -> None:
    instance = direct.search_for_instances(search_filters={"Modality": "CT"})[0]
    uids = [instance[tag]["Value"][0] for tag in ("0020000D", "0020000E", "00080018")]
    # dicomweb-client's default Accept (type="*/*") is refused by Orthanc itself; ask as OHIF does.
    media = (("application/octet-stream", "*"),)
    through = client_as("clinician").retrieve_instance_frames(*uids, frame_numbers=[1], media_types=media)
    assert through == direct.retrieve_instance_frames(*uids, frame_numbers=[1], media_types=media)


def test_store_instances_lands_in_orthanc(client_as: Callable[[str], DICOMwebClient], direct: DICOMwebClient) -> None:
    ds = pydicom.dcmread(io.BytesIO(sample_studies()["a_ct"][0]))
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    client_as("clinician").store_instances([ds])
    found = direct.search_for_instances(search_filters={"SOPInstanceUID": ds.SOPInstanceUID})
    assert len(found) == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer not-a-known-key-at-all"}, 401), ({"Authorization": "Basic abc"}, 401)],
)
def test_unauthenticated(gateway: GatewayProcess, headers: dict[str, str], status: int) -> None:
    response = requests.get(gateway.dicomweb_url + "/studies", headers=headers, timeout=5)
    assert response.status_code == status
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == status and "Traceback" not in response.text


def test_role_without_permission_gets_403(gateway: GatewayProcess) -> None:
    response = requests.post(
        gateway.dicomweb_url + "/studies",
        data=b"--x--",
        headers={
            **gateway.headers("researcher"),
            "Content-Type": 'multipart/related; type="application/dicom"; boundary=x',
        },
        timeout=5,
    )
    assert response.status_code == 403


def test_role_without_profile_is_refused(gateway: GatewayProcess) -> None:
    response = requests.get(gateway.dicomweb_url + "/studies", headers=gateway.headers("nobody"), timeout=5)
    assert response.status_code == 403
    assert "profile" in response.json()["message"]


def test_upstream_down_gives_502_quickly(start_gateway: Callable[..., GatewayProcess]) -> None:
    dead = start_gateway(f"http://127.0.0.1:{free_port()}/dicom-web")
    started = time.monotonic()
    response = requests.get(dead.dicomweb_url + "/studies", headers=dead.headers("clinician"), timeout=10)
    assert response.status_code == 502
    assert time.monotonic() - started < 5  # within upstream.timeout_s
    ready = requests.get(dead.url + "/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json()["upstream"] is False


@pytest.fixture
def silent_upstream() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/dicom-web"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_upstream_timeout_gives_504(start_gateway: Callable[..., GatewayProcess], silent_upstream: str) -> None:
    slow = start_gateway(silent_upstream, upstream={"url": silent_upstream, "timeout_s": 1})
    started = time.monotonic()
    response = requests.get(slow.dicomweb_url + "/studies", headers=slow.headers("clinician"), timeout=10)
    assert response.status_code == 504
    assert time.monotonic() - started < 3


def test_upstream_4xx_is_passed_on(gateway: GatewayProcess) -> None:
    response = requests.get(
        gateway.dicomweb_url + "/studies/1.2.3.4/series/5.6.7/instances/8.9.10/metadata",
        headers={**gateway.headers("clinician"), "Accept": "application/dicom+json"},
        timeout=5,
    )
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")


def test_cors_preflight_and_headers(gateway: GatewayProcess) -> None:
    preflight = requests.options(
        gateway.dicomweb_url + "/studies",
        headers={
            "Origin": "http://viewer.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=5,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://viewer.example"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    response = requests.get(
        gateway.dicomweb_url + "/studies",
        headers={**gateway.headers("clinician"), "Origin": "http://viewer.example"},
        timeout=5,
    )
    assert response.headers["Access-Control-Allow-Origin"] == "http://viewer.example"
    denied = requests.options(
        gateway.dicomweb_url + "/studies",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        timeout=5,
    )
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_health_and_readiness(gateway: GatewayProcess) -> None:
    assert requests.get(gateway.url + "/healthz", timeout=5).json() == {"status": "up"}
    ready = requests.get(gateway.url + "/readyz", timeout=5).json()
    assert ready == {"ready": True, "upstream": True, "store": True, "governance": True}


def test_no_hop_by_hop_or_upstream_length(gateway: GatewayProcess, orthanc: OrthancProcess) -> None:
    response = requests.get(
        gateway.dicomweb_url + "/studies",
        headers={**gateway.headers("clinician"), "Accept": "application/dicom+json"},
        timeout=5,
    )
    assert response.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.headers
    assert str(orthanc.http_port) not in response.text
    assert len(response.headers["X-Request-ID"]) >= 16


def test_logs_are_json_lines_with_the_gateways_own_request_ids(gateway: GatewayProcess) -> None:
    response = requests.get(
        gateway.dicomweb_url + "/studies",
        headers={**gateway.headers("clinician"), "X-Request-ID": "trace-42"},
        timeout=5,
    )
    given = response.headers["X-Request-ID"]
    assert given != "trace-42"
    time.sleep(0.2)
    log = gateway.log_path.read_text()
    records = [orjson.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(r.get("request_id") == given and r.get("transaction") == "search_for_studies" for r in records)
    assert "trace-42" not in log


def _part10(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_public_url_overrides_the_host_header(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], direct: DICOMwebClient
) -> None:
    gateway = start_gateway(orthanc.dicomweb_url, listen={"public_url": "https://pacs.example.org/"})
    series = direct.search_for_series(search_filters={"Modality": "CT"})[0]
    study_uid, series_uid = series["0020000D"]["Value"][0], series["0020000E"]["Value"][0]
    response = requests.get(
        f"{gateway.dicomweb_url}/studies/{study_uid}/series/{series_uid}/metadata",
        headers={**gateway.headers("clinician"), "Accept": "application/dicom+json", "Host": "127.0.0.1"},
        timeout=10,
    )
    uris = {i["7FE00010"]["BulkDataURI"].split("/studies/")[0] for i in response.json()}
    assert uris == {"https://pacs.example.org/dicom-web"}


@pytest.mark.parametrize("resource", ["frames/1", "bulk/7fe00010"])
def test_pixel_bytes_that_spell_the_origin_url_pass_unchanged(
    client_as: Callable[[str], DICOMwebClient], direct: DICOMwebClient, orthanc: OrthancProcess,
    gateway: GatewayProcess, resource: str,
) -> None:  # fmt: skip
    """Only a part's Content-Location names the origin in a frames or bulk data answer. Pixel bytes (or an
    encapsulated document) that happen to spell the origin's URL are data, and reach the clinician unchanged."""
    ds = pydicom.dcmread(io.BytesIO(sample_studies()["a_ct"][0]))
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    size = ds.Rows * ds.Columns * ds.BitsAllocated // 8 * ds.get("SamplesPerPixel", 1)
    spelled = orthanc.dicomweb_url.encode() + b" "
    ds.PixelData = (spelled * (size // len(spelled) + 1))[:size]
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    orthanc.upload(buffer.getvalue())
    path = f"/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}/{resource}"
    accept = {"Accept": 'multipart/related; type="application/octet-stream"; transfer-syntax=*'}
    through = requests.get(gateway.dicomweb_url + path, headers={**gateway.headers("clinician"), **accept}, timeout=10)
    origin = requests.get(orthanc.dicomweb_url + path, headers=accept, timeout=10)
    assert through.status_code == origin.status_code == 200
    assert _part_bodies(through) == _part_bodies(origin) == [ds.PixelData]


def _part_bodies(response: requests.Response) -> list[bytes]:
    boundary = response.headers["Content-Type"].split("boundary=")[1].split(";")[0].strip('"').encode()
    return [part.split(b"\r\n\r\n", 1)[1][:-2] for part in response.content.split(b"--" + boundary)[1:-1]]
