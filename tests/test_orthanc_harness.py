"""The test harness itself: the synthetic samples, and the private Orthanc that serves them (names intact over
DICOMweb, reachable on loopback only)."""

from __future__ import annotations

import io
import socket

import pydicom
import pytest
from dicomweb_client import DICOMwebClient
from support.orthanc_server import non_loopback_addresses

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.samples import PLANTED, STUDY_UIDS, UID_ROOT, encoded_forms, sample_instances, sample_studies

# PS3.5 Annex H.3.1, example 1: the exact bytes of Yamada^Tarou=山田^太郎=やまだ^たろう under \ISO 2022 IR 87.
PS3_5_H_3_1 = (b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B")


def test_japanese_sample_is_encoded_as_in_ps3_5_annex_h() -> None:
    raw = sample_studies()["b_cr"][0]
    assert PS3_5_H_3_1 in raw
    ds = pydicom.dcmread(io.BytesIO(raw))
    assert ds.SpecificCharacterSet == ["", "ISO 2022 IR 87"]
    assert str(ds.PatientName) == PLANTED["name.patient_b"]


def test_every_planted_value_occurs_in_the_samples() -> None:
    instances = sample_instances()
    for key, value in PLANTED.items():
        assert any(form in raw for form in encoded_forms(value) for raw in instances), key


def test_every_sample_uid_is_under_the_fake_root() -> None:
    for raw in sample_instances():
        ds = pydicom.dcmread(io.BytesIO(raw))
        for uid in (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID):
            assert uid.startswith(UID_ROOT)


@pytest.fixture
def client(orthanc: OrthancProcess) -> DICOMwebClient:
    return DICOMwebClient(orthanc.dicomweb_url)


@pytest.mark.integration
def test_search_for_studies_finds_every_sample_study(client: DICOMwebClient) -> None:
    studies = client.search_for_studies()
    found = {study["0020000D"]["Value"][0] for study in studies}
    assert set(STUDY_UIDS.values()) <= found


@pytest.mark.integration
def test_japanese_name_round_trips_in_qido_as_utf8(client: DICOMwebClient) -> None:
    (study,) = client.search_for_studies(search_filters={"PatientID": PLANTED["id.patient_b"]})
    assert study["00080005"]["Value"] == ["ISO_IR 192"]
    assert study["00100010"]["Value"] == [
        {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
    ]


@pytest.mark.integration
def test_japanese_name_round_trips_in_wado(client: DICOMwebClient) -> None:
    instances = client.retrieve_study(STUDY_UIDS["b_cr"])
    assert len(instances) == 2
    assert {str(ds.PatientName) for ds in instances} == {PLANTED["name.patient_b"]}


@pytest.mark.integration
def test_multiframe_and_burned_in_metadata(client: DICOMwebClient) -> None:
    (mr,) = client.retrieve_study_metadata(STUDY_UIDS["c_mr"])
    (us,) = client.retrieve_study_metadata(STUDY_UIDS["c_us"])
    assert mr["00280008"]["Value"] == [8]
    assert us["00280301"]["Value"] == ["YES"]


@pytest.mark.integration
def test_http_port_is_not_reachable_on_other_addresses(orthanc: OrthancProcess) -> None:
    addresses = non_loopback_addresses()
    if not addresses:
        pytest.skip("this machine has only loopback addresses")
    if not orthanc.loopback_only:
        pytest.skip("bind shim not compiled (gcc or libc6-dev missing): Orthanc listens on 0.0.0.0")
    for address in addresses:
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as sock:
            sock.settimeout(2)
            assert sock.connect_ex((address, orthanc.http_port)) != 0, address


@pytest.mark.integration
def test_http_port_is_reachable_on_loopback(orthanc: OrthancProcess) -> None:
    with socket.create_connection(("127.0.0.1", orthanc.http_port), timeout=2):
        pass
