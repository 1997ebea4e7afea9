"""Issue 6: STOW-RS as ai-service, against a real Orthanc. Results land re-identified; the service sees pseudonyms.

These tests store into Orthanc, so they run against an Orthanc and a gateway of their own: the shared session
Orthanc keeps exactly the samples other tests count on.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import highdicom as hd
import numpy as np
import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from support.gateway_server import GatewayProcess, running_gateway
from support.orthanc_server import require_orthanc, running_orthanc

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED, encoded_forms
from gateway.demo.samples import STUDY_UIDS, UID_ROOT

A_CT = STUDY_UIDS["a_ct"]
CT_SERIES = f"{A_CT}.1"
STOW = 'multipart/related; type="application/dicom"; boundary=stowtest'
DICOM = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
# highdicom checks person names; the pseudonymous name the gateway writes ("P=P=P") has a single component.
pytestmark = pytest.mark.filterwarnings("ignore:The string .* is unlikely to represent:UserWarning")


@pytest.fixture(scope="module")
def orthanc_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancProcess]:
    require_orthanc()
    with running_orthanc(tmp_path_factory.mktemp("orthanc-stow")) as server:
        yield server


@pytest.fixture(scope="module")
def gw(orthanc_own: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with running_gateway(tmp_path_factory.mktemp("gateway-stow"), orthanc_own.dicomweb_url) as process:
        yield process


@pytest.fixture(scope="module")
def ai(gw: GatewayProcess) -> DICOMwebClient:
    return DICOMwebClient(gw.dicomweb_url, headers=gw.headers("ai-service"))


@pytest.fixture(scope="module")
def direct_own(orthanc_own: OrthancProcess) -> DICOMwebClient:
    return DICOMwebClient(orthanc_own.dicomweb_url)


@pytest.fixture(scope="module")
def pseudo_ct(ai: DICOMwebClient) -> list[Dataset]:
    """Patient A's CT series as the AI service sees it (the study with 20 CT slices and an SR)."""
    for study in ai.search_for_studies():
        study_uid = study["0020000D"]["Value"][0]
        for series in ai.search_for_series(study_uid):
            if series.get("00080060", {}).get("Value") == ["CT"] and len(ai.search_for_instances(study_uid)) == 21:
                instances = ai.retrieve_series(study_uid, series["0020000E"]["Value"][0])
                return sorted(instances, key=lambda ds: int(ds.InstanceNumber))
    raise AssertionError("patient A's CT study is not visible to ai-service")


def _seg(sources: list[Dataset]) -> Dataset:
    mask = np.zeros((len(sources), sources[0].Rows, sources[0].Columns), dtype=bool)
    mask[:, 40:80, 40:80] = True
    description = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label="lesion",
        segmented_property_category=hd.sr.CodedConcept("49755003", "SCT", "Morphologically Altered Structure"),
        segmented_property_type=hd.sr.CodedConcept("4147007", "SCT", "Mass"),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=hd.AlgorithmIdentificationSequence(
            "unet", hd.sr.CodedConcept("123109", "DCM", "Machine learning"), "1"
        ),
    )
    return hd.seg.Segmentation(
        source_images=sources,
        pixel_array=mask,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[description],
        series_instance_uid=hd.UID(),
        series_number=900,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="AI vendor",
        manufacturer_model_name="unet",
        software_versions="1",
        device_serial_number="1",
    )


def _sr(sources: list[Dataset]) -> Dataset:
    """A Comprehensive SR whose image references sit two and three levels deep in ContentSequence."""
    first = sources[0]
    sr = Dataset()
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate",
                    "StudyTime", "AccessionNumber", "StudyID", "ReferringPhysicianName"):  # fmt: skip
        setattr(sr, keyword, getattr(first, keyword, ""))
    sr.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    sr.SOPInstanceUID = generate_uid()
    sr.SeriesInstanceUID = generate_uid()
    sr.Modality, sr.SeriesNumber, sr.InstanceNumber = "SR", 901, 1
    sr.ContentDate, sr.ContentTime = first.StudyDate, "120000"
    sr.ValueType, sr.CompletionFlag, sr.VerificationFlag = "CONTAINER", "COMPLETE", "UNVERIFIED"
    sr.ConceptNameCodeSequence = [_code("126000", "Imaging Measurement Report")]
    sr.ContinuityOfContent = "SEPARATE"
    image = Dataset()
    image.RelationshipType, image.ValueType = "CONTAINS", "IMAGE"
    image.ReferencedSOPSequence = [_ref(sources[1])]
    finding = Dataset()
    finding.RelationshipType, finding.ValueType = "CONTAINS", "CONTAINER"
    finding.ContinuityOfContent = "SEPARATE"
    finding.ConceptNameCodeSequence = [_code("125007", "Measurement Group")]
    finding.ContentSequence = Sequence([image, _nested_image(sources[2])])
    sr.ContentSequence = Sequence([finding])
    evidence = Dataset()
    evidence.StudyInstanceUID = first.StudyInstanceUID
    series = Dataset()
    series.SeriesInstanceUID = first.SeriesInstanceUID
    series.ReferencedSOPSequence = [_ref(s) for s in sources[1:3]]
    evidence.ReferencedSeriesSequence = [series]
    sr.CurrentRequestedProcedureEvidenceSequence = [evidence]
    return _part10(sr)


def _nested_image(source: Dataset) -> Dataset:
    deeper = Dataset()
    deeper.RelationshipType, deeper.ValueType = "CONTAINS", "IMAGE"
    deeper.ReferencedSOPSequence = [_ref(source)]
    group = Dataset()
    group.RelationshipType, group.ValueType, group.ContinuityOfContent = "CONTAINS", "CONTAINER", "SEPARATE"
    group.ConceptNameCodeSequence = [_code("125007", "Measurement Group")]
    group.ContentSequence = [deeper]
    return group


def _code(value: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, "DCM", meaning
    return code


def _ref(source: Dataset) -> Dataset:
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = source.SOPClassUID, source.SOPInstanceUID
    return ref


def _part10(ds: Dataset) -> Dataset:
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.preamble = b"\0" * 128  # without it pydicom writes no "DICM" prefix, which is no PS3.10 file
    return ds


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _stow(gw: GatewayProcess, parts: list[tuple[str, bytes]], path: str = "/studies") -> requests.Response:
    body = b"".join(b"--stowtest\r\nContent-Type: %s\r\n\r\n%s\r\n" % (kind.encode(), data) for kind, data in parts)
    headers = {**gw.headers("ai-service"), "Content-Type": STOW, "Accept": "application/dicom+json"}
    return requests.post(gw.dicomweb_url + path, data=body + b"--stowtest--\r\n", headers=headers, timeout=30)


def _real_uids(ds: Dataset) -> set[str]:
    found: set[str] = set()
    for element in ds.iterall():
        if element.VR == "UI" and element.value:
            values = element.value if element.VM > 1 else [element.value]
            found.update(str(v) for v in values if str(v).startswith(UID_ROOT))
    return found


def _leaks(data: bytes) -> list[str]:
    planted = {k: v for k, v in PLANTED.items() if k != "uid_root" and not k.startswith(("time.", "sex."))}
    found = [key for key, value in planted.items() if any(form in data for form in encoded_forms(value))]
    return found + (["uid_root"] if UID_ROOT.encode() in data else [])


def _instance_bytes(gw: GatewayProcess, study: str, series: str, sop: str) -> bytes:
    url = f"{gw.dicomweb_url}/studies/{study}/series/{series}/instances/{sop}"
    response = requests.get(url, headers={**gw.headers("ai-service"), **DICOM}, timeout=30)
    assert response.status_code == 200
    return response.content


def _assert_real_patient(stored: Dataset) -> None:
    assert str(stored.PatientName) == PLANTED["name.patient_a"]
    assert stored.PatientID == PLANTED["id.patient_a"]
    assert stored.IssuerOfPatientID == PLANTED["id.patient_a_issuer"]
    assert stored.PatientBirthDate == PLANTED["date.patient_a_birth"]
    assert stored.PatientSex == "F"
    assert stored.StudyInstanceUID == A_CT
    assert stored.StudyDate == PLANTED["date.a_ct_study"]


def test_seg_lands_in_the_real_study_and_reads_back_pseudonymous(
    ai: DICOMwebClient,
    direct_own: DICOMwebClient,
    orthanc_own: OrthancProcess,
    gw: GatewayProcess,
    pseudo_ct: list[Dataset],
) -> None:
    seg = _seg(pseudo_ct[:3])
    answer = ai.store_instances([seg])
    assert answer.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == seg.SOPInstanceUID
    url = answer.ReferencedSOPSequence[0].RetrieveURL  # dicomweb-client sends Host without the port
    address = urlsplit(url)
    assert address.hostname == "127.0.0.1" and address.port != orthanc_own.http_port and UID_ROOT not in url
    assert f"/dicom-web/studies/{pseudo_ct[0].StudyInstanceUID}/series/{seg.SeriesInstanceUID}/" in url

    stored = direct_own.retrieve_instance(A_CT, seg.SeriesInstanceUID, seg.SOPInstanceUID)
    _assert_real_patient(stored)
    assert stored.FrameOfReferenceUID == f"{CT_SERIES}.0"
    referenced = stored.ReferencedSeriesSequence[0]
    assert referenced.SeriesInstanceUID == CT_SERIES
    assert {i.ReferencedSOPInstanceUID for i in referenced.ReferencedInstanceSequence} == {
        f"{CT_SERIES}.{n}" for n in (1, 2, 3)
    }
    sources = [f.DerivationImageSequence[0].SourceImageSequence[0] for f in stored.PerFrameFunctionalGroupsSequence]
    assert {s.ReferencedSOPInstanceUID for s in sources} <= {f"{CT_SERIES}.{n}" for n in (1, 2, 3)}
    assert stored.pixel_array.shape == seg.pixel_array.shape

    study = pseudo_ct[0].StudyInstanceUID
    back = ai.retrieve_instance(study, seg.SeriesInstanceUID, seg.SOPInstanceUID)
    assert (back.StudyInstanceUID, back.PatientID, back.StudyDate) == (study, seg.PatientID, seg.StudyDate)
    assert back.ReferencedSeriesSequence[0].SeriesInstanceUID == pseudo_ct[0].SeriesInstanceUID
    assert back.FrameOfReferenceUID == pseudo_ct[0].FrameOfReferenceUID
    assert not _real_uids(back)
    assert not _leaks(_instance_bytes(gw, study, seg.SeriesInstanceUID, seg.SOPInstanceUID))


def test_sr_with_nested_references_round_trips(
    ai: DICOMwebClient, direct_own: DICOMwebClient, gw: GatewayProcess, pseudo_ct: list[Dataset]
) -> None:
    sr = _sr(pseudo_ct)
    answer = ai.store_instances([sr])
    assert len(answer.ReferencedSOPSequence) == 1

    stored = direct_own.retrieve_instance(A_CT, sr.SeriesInstanceUID, sr.SOPInstanceUID)
    _assert_real_patient(stored)
    finding = stored.ContentSequence[0]
    assert finding.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == f"{CT_SERIES}.2"
    deep = finding.ContentSequence[1].ContentSequence[0].ReferencedSOPSequence[0]
    assert deep.ReferencedSOPInstanceUID == f"{CT_SERIES}.3"
    evidence = stored.CurrentRequestedProcedureEvidenceSequence[0]
    assert (evidence.StudyInstanceUID, evidence.ReferencedSeriesSequence[0].SeriesInstanceUID) == (A_CT, CT_SERIES)

    study = pseudo_ct[0].StudyInstanceUID
    back = ai.retrieve_instance(study, sr.SeriesInstanceUID, sr.SOPInstanceUID)
    deep_back = back.ContentSequence[0].ContentSequence[1].ContentSequence[0].ReferencedSOPSequence[0]
    assert deep_back.ReferencedSOPInstanceUID == pseudo_ct[2].SOPInstanceUID
    assert not _real_uids(back)
    assert not _leaks(_instance_bytes(gw, study, sr.SeriesInstanceUID, sr.SOPInstanceUID))


def _count(direct: DICOMwebClient) -> int:
    return sum(len(direct.search_for_instances(uid)) for uid in STUDY_UIDS.values())


@pytest.fixture
def nothing_stored(direct_own: DICOMwebClient) -> Iterator[None]:
    before = _count(direct_own)
    yield
    assert _count(direct_own) == before


def _failure(response: requests.Response) -> list[int]:
    failed = response.json().get("00081198", {}).get("Value", [])
    return [item["00081197"]["Value"][0] for item in failed]


@pytest.mark.usefixtures("nothing_stored")
def test_forged_pseudonyms_are_refused(gw: GatewayProcess, pseudo_ct: list[Dataset]) -> None:
    for keyword in ("StudyInstanceUID", "PatientID"):
        sr = _sr(pseudo_ct)
        setattr(sr, keyword, "2.25.12345" if keyword == "StudyInstanceUID" else "AID-FORGED0000")
        response = _stow(gw, [("application/dicom", _bytes(sr))])
        assert response.status_code == 409, keyword
        assert _failure(response) == [0x0110]
        assert "pseudonym-not-issued" in response.headers["Warning"]
    forged_reference = _sr(pseudo_ct)
    image = forged_reference.ContentSequence[0].ContentSequence[0]
    image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID = "2.25.999"
    response = _stow(gw, [("application/dicom", _bytes(forged_reference))])
    assert (response.status_code, "(0008,1155)" in response.headers["Warning"]) == (409, True)


@pytest.mark.usefixtures("nothing_stored")
def test_mixed_patients_are_refused(ai: DICOMwebClient, gw: GatewayProcess, pseudo_ct: list[Dataset]) -> None:
    other = next(
        s for s in ai.search_for_studies() if s["00100020"]["Value"][0] != pseudo_ct[0].PatientID
    )  # a study of another patient
    other_study = other["0020000D"]["Value"][0]
    other_instance = ai.search_for_instances(other_study)[0]
    sr = _sr(pseudo_ct)
    image = sr.ContentSequence[0].ContentSequence[0]
    image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID = other_instance["00080018"]["Value"][0]
    mismatched = _sr(pseudo_ct)
    mismatched.PatientID = other["00100020"]["Value"][0]
    response = _stow(gw, [("application/dicom", _bytes(sr)), ("application/dicom", _bytes(mismatched))])
    assert response.status_code == 409
    assert _failure(response) == [0xA900, 0xA900]
    warning = response.headers["Warning"]  # requests joins repeated headers
    assert "part 1: mixed-patients (0008,1155)" in warning and "part 2: mixed-patients (0010,0020)" in warning


@pytest.mark.usefixtures("nothing_stored")
def test_non_dicom_part_is_refused(gw: GatewayProcess) -> None:
    response = _stow(gw, [("text/plain", b"not an instance"), ("application/dicom", b"\0" * 200)])
    assert response.status_code == 400
    other = response.json()["0008119A"]["Value"]
    assert [item["00081197"]["Value"][0] for item in other] == [0xC000, 0xC000]
    assert "not-application/dicom" in response.headers["Warning"]


def test_partial_store_answers_202(direct_own: DICOMwebClient, gw: GatewayProcess, pseudo_ct: list[Dataset]) -> None:
    before = _count(direct_own)
    good, forged = _sr(pseudo_ct), _sr(pseudo_ct)
    forged.StudyInstanceUID = "2.25.777"
    response = _stow(gw, [("application/dicom", _bytes(forged)), ("application/dicom", _bytes(good))])
    assert response.status_code == 202
    answer = response.json()
    assert answer["00081199"]["Value"][0]["00081155"]["Value"] == [good.SOPInstanceUID]
    assert answer["00081198"]["Value"][0]["00081155"]["Value"] == [forged.SOPInstanceUID]
    assert UID_ROOT.encode() not in response.content
    assert _count(direct_own) == before + 1


@pytest.mark.usefixtures("nothing_stored")
def test_oversized_body_is_413_and_nothing_stored(
    orthanc_own: OrthancProcess, start_gateway: Callable[..., GatewayProcess], pseudo_ct: list[Dataset]
) -> None:
    segs = [_bytes(_seg(pseudo_ct[:3])) for _ in range(4)]
    # The first instance fits and goes upstream; the limit trips on a later one, mid-stream.
    small = start_gateway(orthanc_own.dicomweb_url, limits={"stow_max_bytes": len(segs[0]) + 4096})
    body = b"".join(b"--stowtest\r\nContent-Type: application/dicom\r\n\r\n%s\r\n" % data for data in segs)

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit must hold while the body streams
        yield from (body[i : i + 4096] for i in range(0, len(body), 4096))
        yield b"--stowtest--\r\n"

    headers = {**small.headers("ai-service"), "Content-Type": STOW, "Accept": "application/dicom+json"}
    response = requests.post(small.dicomweb_url + "/studies", data=chunked(), headers=headers, timeout=30)
    assert response.status_code == 413


@pytest.mark.usefixtures("nothing_stored")
def test_an_opted_out_patient_takes_no_new_results(
    ai: DICOMwebClient, gw: GatewayProcess, pseudo_ct: list[Dataset]
) -> None:
    patient = {"PatientID": PLANTED["id.patient_a"], "IssuerOfPatientID": PLANTED["id.patient_a_issuer"]}
    study = pseudo_ct[0].StudyInstanceUID

    def visible() -> bool:
        return any(s["0020000D"]["Value"][0] == study for s in ai.search_for_studies())

    added = requests.post(gw.url + "/admin/optouts", json=patient, headers=gw.headers("admin"), timeout=30)
    assert added.status_code == 201 and added.json()["changed"] is True
    try:
        deadline = time.monotonic() + 2.0
        while visible() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not visible()
        response = _stow(gw, [("application/dicom", _bytes(_sr(pseudo_ct)))])
        assert response.status_code == 409
        assert _failure(response) == [0x0110]
        assert "study-not-found" in response.headers["Warning"]
        assert not _leaks(response.content) and UID_ROOT.encode() not in response.content
    finally:
        removed = requests.delete(gw.url + "/admin/optouts", json=patient, headers=gw.headers("admin"), timeout=30)
        assert removed.status_code == 200
    deadline = time.monotonic() + 2.0
    while not visible() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert visible()


# -- the metadata and bulk data form (PS3.18 10.5, type="application/dicom+json") ------------------------------
JSON_STOW = 'multipart/related; type="application/dicom+json"; boundary=stowtest'


def _json_form(datasets: list[Dataset], *, inline: bool = False) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The metadata array and its bulk data parts (location, bytes), as a STOW-RS client would build them."""
    bulk: list[tuple[str, bytes]] = []

    def handler(element: pydicom.DataElement) -> str:
        location = f"http://client.example/bulk/{len(bulk)}"
        bulk.append((location, element.value))
        return location

    objects = []
    for built in datasets:
        ds = pydicom.dcmread(io.BytesIO(_bytes(built)))  # values as read, as a client has them (not highdicom's DA)
        if inline:
            objects.append(json.loads(ds.to_json(bulk_data_threshold=1 << 30)))
        else:
            objects.append(json.loads(ds.to_json(bulk_data_threshold=64, bulk_data_element_handler=handler)))
    return json.dumps(objects).encode(), bulk


def _stow_json(gw: GatewayProcess, metadata: bytes, bulk: list[tuple[str, bytes]]) -> requests.Response:
    body = b"--stowtest\r\nContent-Type: application/dicom+json\r\n\r\n%s\r\n" % metadata
    for location, data in bulk:
        head = f"Content-Type: application/octet-stream\r\nContent-Location: {location}\r\n\r\n".encode()
        body += b"--stowtest\r\n" + head + data + b"\r\n"
    headers = {**gw.headers("ai-service"), "Content-Type": JSON_STOW, "Accept": "application/dicom+json"}
    return requests.post(gw.dicomweb_url + "/studies", data=body + b"--stowtest--\r\n", headers=headers, timeout=30)


@pytest.mark.parametrize("inline", [False, True], ids=["bulkdatauri", "inlinebinary"])
def test_json_form_seg_and_sr_land_like_part10(
    ai: DICOMwebClient, direct_own: DICOMwebClient, gw: GatewayProcess, pseudo_ct: list[Dataset], inline: bool
) -> None:
    seg, sr = _seg(pseudo_ct[:3]), _sr(pseudo_ct)
    metadata, bulk = _json_form([seg, sr], inline=inline)
    assert bool(bulk) is not inline
    response = _stow_json(gw, metadata, bulk)
    assert response.status_code == 200, (response.status_code, response.headers.get("Warning"))
    stored_uids = [i["00081155"]["Value"][0] for i in response.json()["00081199"]["Value"]]
    assert stored_uids == [seg.SOPInstanceUID, sr.SOPInstanceUID]
    assert not _leaks(response.content)

    stored = direct_own.retrieve_instance(A_CT, seg.SeriesInstanceUID, seg.SOPInstanceUID)
    _assert_real_patient(stored)
    assert stored.FrameOfReferenceUID == f"{CT_SERIES}.0"
    assert stored.ReferencedSeriesSequence[0].SeriesInstanceUID == CT_SERIES
    assert np.array_equal(stored.pixel_array, seg.pixel_array)
    stored_sr = direct_own.retrieve_instance(A_CT, sr.SeriesInstanceUID, sr.SOPInstanceUID)
    _assert_real_patient(stored_sr)
    deep = stored_sr.ContentSequence[0].ContentSequence[1].ContentSequence[0].ReferencedSOPSequence[0]
    assert deep.ReferencedSOPInstanceUID == f"{CT_SERIES}.3"

    study = pseudo_ct[0].StudyInstanceUID
    back = ai.retrieve_instance(study, seg.SeriesInstanceUID, seg.SOPInstanceUID)
    assert (back.PatientID, back.StudyDate, back.StudyInstanceUID) == (seg.PatientID, seg.StudyDate, study)
    assert not _real_uids(back)
    assert not _leaks(_instance_bytes(gw, study, seg.SeriesInstanceUID, seg.SOPInstanceUID))


@pytest.mark.usefixtures("nothing_stored")
def test_json_form_refuses_as_part10_does(gw: GatewayProcess, pseudo_ct: list[Dataset]) -> None:
    forged = _sr(pseudo_ct)
    forged.ContentSequence[0].ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID = "2.25.999"
    metadata, bulk = _json_form([forged])
    response = _stow_json(gw, metadata, bulk)
    assert response.status_code == 409
    assert _failure(response) == [0x0110]
    assert "part 1: pseudonym-not-issued (0008,1155)" in response.headers["Warning"]


@pytest.mark.usefixtures("nothing_stored")
def test_json_form_with_a_missing_or_foreign_bulk_part_is_refused(gw: GatewayProcess, pseudo_ct: list[Dataset]) -> None:
    metadata, bulk = _json_form([_seg(pseudo_ct[:3])])
    missing = _stow_json(gw, metadata, [])  # the BulkDataURI names no part: never fetched from elsewhere
    assert missing.status_code == 400
    assert [i["00081197"]["Value"][0] for i in missing.json()["0008119A"]["Value"]] == [0xC000]
    assert "bulk-data-not-sent (7FE0,0010)" in missing.headers["Warning"]
    for body in (b"{}", b"[1]", b"not json"):
        response = _stow_json(gw, body, bulk)
        assert response.status_code == 400, body
        assert "message" in response.json() or "0008119A" in response.json()


@pytest.mark.usefixtures("nothing_stored")
def test_xml_form_is_refused_with_a_clear_message(gw: GatewayProcess) -> None:
    headers = {
        **gw.headers("ai-service"),
        "Content-Type": 'multipart/related; type="application/dicom+xml"; boundary=stowtest',
        "Accept": "application/dicom+json",
    }
    body = b"--stowtest\r\nContent-Type: application/dicom+xml\r\n\r\n<NativeDicomModel/>\r\n--stowtest--\r\n"
    response = requests.post(gw.dicomweb_url + "/studies", data=body, headers=headers, timeout=30)
    assert response.status_code == 415
    assert "application/dicom+json" in response.json()["message"]
