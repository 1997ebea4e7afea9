"""Issue 5: every DICOMweb path through the gateway for the de-identifying roles, against the real Orthanc.

The crawl walks what a viewer or an AI client can reach (QIDO at every level, metadata at every level,
whole-study retrieve, frames, rendered images and thumbnails) and keeps every raw body and header it got.
The scans then look for every planted identifier, in every encoding that could carry it, and for any real UID.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from support.gateway_server import GatewayProcess

from gateway.demo.planted import PLANTED, encoded_forms
from gateway.demo.samples import UID_ROOT

JSON = {"Accept": "application/dicom+json"}
DICOM = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
FRAMES = {"Accept": "multipart/related; type=application/octet-stream; transfer-syntax=*"}
# What each role keeps on purpose: the researcher profile keeps times (only dates are shifted).
KEPT = {"researcher": ("time.",), "ai-service": ("time.",), "external": ()}


@dataclass
class Crawl:
    role: str
    bodies: list[tuple[str, bytes]] = field(default_factory=list)
    studies: list[dict] = field(default_factory=list)

    def all_bytes(self) -> Iterator[tuple[str, bytes]]:
        yield from self.bodies


def _get(gateway: GatewayProcess, crawl: Crawl, path: str, accept: dict[str, str], **params: str) -> requests.Response:
    response = requests.get(
        gateway.dicomweb_url + path, headers={**gateway.headers(crawl.role), **accept}, params=params, timeout=30
    )
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items()).encode()
    crawl.bodies.append((f"{response.status_code} {path}", headers + b"\n" + response.content))
    return response


def _values(obj: dict, tag: str) -> list:
    return obj.get(tag, {}).get("Value", [])


def crawl_role(gateway: GatewayProcess, role: str) -> Crawl:
    crawl = Crawl(role)
    fields = "00081030,00080061,00100030,00101010,00081080,00200010,00080050,00080090"
    crawl.studies = _get(gateway, crawl, "/studies", JSON, includefield=fields).json()
    _get(gateway, crawl, "/series", JSON)
    _get(gateway, crawl, "/instances", JSON)
    for study in crawl.studies:
        st = _values(study, "0020000D")[0]
        _get(gateway, crawl, f"/studies/{st}/metadata", JSON)
        _get(gateway, crawl, f"/studies/{st}", DICOM)
        _get(gateway, crawl, f"/studies/{st}/thumbnail", {"Accept": "image/jpeg"})
        for series in _get(gateway, crawl, f"/studies/{st}/series", JSON, includefield="0008103E").json():
            se = _values(series, "0020000E")[0]
            _get(gateway, crawl, f"/studies/{st}/series/{se}/metadata", JSON)
            instances = _get(gateway, crawl, f"/studies/{st}/series/{se}/instances", JSON).json()
            for instance in instances[:2]:
                sop = _values(instance, "00080018")[0]
                base = f"/studies/{st}/series/{se}/instances/{sop}"
                metadata = _get(gateway, crawl, base + "/metadata", JSON).json()
                if "7FE00010" in metadata[0]:
                    _get(gateway, crawl, base + "/frames/1", FRAMES)
                    _get(gateway, crawl, base + "/rendered", {"Accept": "image/jpeg"})
                    _get(gateway, crawl, base + "/thumbnail", {"Accept": "image/jpeg"})
    return crawl


@pytest.fixture(scope="module", params=["researcher", "external"])
def crawl(request: pytest.FixtureRequest, gateway: GatewayProcess) -> Crawl:
    return crawl_role(gateway, request.param)


def test_no_planted_identifier_in_any_response(crawl: Crawl) -> None:
    planted = {k: v for k, v in PLANTED.items() if k != "uid_root" and not k.startswith(KEPT[crawl.role])}
    found = []
    for where, data in crawl.all_bytes():
        for key, value in planted.items():
            if any(form in data for form in encoded_forms(value)):
                found.append((key, where))
    assert not found, found[:20]


def test_no_real_uid_in_any_response(crawl: Crawl) -> None:
    leaks = [where for where, data in crawl.all_bytes() if UID_ROOT.encode() in data]
    assert not leaks, leaks[:10]


def test_every_request_succeeded_or_was_withheld(crawl: Crawl) -> None:
    statuses = {where.split()[0] for where, _ in crawl.bodies}
    assert statuses <= {"200", "404"}, [w for w, _ in crawl.bodies if not w.startswith(("200", "404"))]
    assert sum(w.startswith("200") for w, _ in crawl.bodies) > 20


def test_pseudonyms_are_consistent_across_requests(gateway: GatewayProcess) -> None:
    first, second = crawl_role(gateway, "researcher"), crawl_role(gateway, "researcher")
    uids = sorted(_values(s, "0020000D")[0] for s in first.studies)
    assert uids == sorted(_values(s, "0020000D")[0] for s in second.studies)
    by_patient: dict[str, set[str]] = {}
    for study in first.studies:
        by_patient.setdefault(_values(study, "00100020")[0], set()).add(_values(study, "0020000D")[0])
    # B; C (the MR: its US study has burned-in text and is withheld); A (two studies)
    assert sorted(len(s) for s in by_patient.values()) == [1, 1, 2]
    assert all(p.startswith("RID-") and len(p) == 14 for p in by_patient)


def _researcher_studies(gateway: GatewayProcess, **params: str) -> requests.Response:
    return requests.get(
        gateway.dicomweb_url + "/studies",
        headers={**gateway.headers("researcher"), **JSON},
        params=params,
        timeout=30,
    )


def test_query_by_pseudonymous_keys_is_translated(gateway: GatewayProcess) -> None:
    studies = _researcher_studies(gateway).json()
    patient_a = next(s for s in studies if len([t for t in studies if t["00100020"] == s["00100020"]]) == 2)
    pseudonym = _values(patient_a, "00100020")[0]
    found = _researcher_studies(gateway, PatientID=pseudonym).json()
    assert len(found) == 2 and {_values(s, "00100020")[0] for s in found} == {pseudonym}
    study_uid = _values(patient_a, "0020000D")[0]
    assert [_values(s, "0020000D")[0] for s in _researcher_studies(gateway, StudyInstanceUID=study_uid).json()] == [
        study_uid
    ]
    accession = _values(patient_a, "00080050")[0]
    assert [_values(s, "00080050")[0] for s in _researcher_studies(gateway, AccessionNumber=accession).json()] == [
        accession
    ]
    # The name shown is the pseudonym, so searching by it works; OHIF's patient list sends exactly this.
    assert len(_researcher_studies(gateway, PatientName=pseudonym).json()) == 2


@pytest.mark.parametrize(
    ("key", "value", "status"),
    [
        ("PatientID", PLANTED["id.patient_a"], 200),  # a real MRN matches nothing
        ("StudyInstanceUID", UID_ROOT + "1.1", 200),  # a real UID matches nothing
        ("PatientName", "Whitaker*", 400),  # a real name is never matched
        ("PatientBirthDate", PLANTED["date.patient_a_birth"], 400),
        ("ReferringPhysicianName", "Okonkwo*", 400),
        ("PatientID", "RID-*", 400),  # wildcards on pseudonyms cannot be translated
    ],
)
def test_keys_are_never_an_oracle(gateway: GatewayProcess, key: str, value: str, status: int) -> None:
    response = _researcher_studies(gateway, **{key: value})
    assert response.status_code == status
    if status == 400:
        assert response.json()["message"]
    else:
        assert response.json() == []


def test_shifted_date_ranges_match_de_identified_dates(gateway: GatewayProcess) -> None:
    studies = _researcher_studies(gateway).json()
    dates = sorted(_values(s, "00080020")[0] for s in studies)
    real = {PLANTED[k] for k in PLANTED if k.startswith("date.") and k.endswith("_study")}
    assert not real & set(dates)  # every study date is shifted
    for low, high in [(dates[0], dates[0]), (dates[1], dates[-2]), (dates[0], dates[-1])]:
        found = _researcher_studies(gateway, StudyDate=f"{low}-{high}")
        expected = sorted(d for d in dates if low <= d <= high)
        assert sorted(_values(s, "00080020")[0] for s in found.json()) == expected


def test_interval_between_a_patients_studies_is_kept(gateway: GatewayProcess) -> None:
    import datetime as dt

    def day(text: str) -> dt.date:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))

    studies = _researcher_studies(gateway).json()
    patient = [s for s in studies if len([t for t in studies if t["00100020"] == s["00100020"]]) == 2]
    shifted = sorted(day(_values(s, "00080020")[0]) for s in patient)
    real = sorted(day(PLANTED[k]) for k in ("date.a_ct_study", "date.a_followup_study"))
    assert shifted[1] - shifted[0] == real[1] - real[0]


def test_paging_is_consistent(gateway: GatewayProcess) -> None:
    everything = [_values(s, "0020000D")[0] for s in _researcher_studies(gateway).json()]
    paged = []
    more = "There are additional results that can be requested."
    for offset in range(len(everything)):
        page = _researcher_studies(gateway, limit="1", offset=str(offset))
        paged += [_values(s, "0020000D")[0] for s in page.json()]
        last = offset == len(everything) - 1
        assert (more in page.headers.get("Warning", "")) is not last, offset  # PS3.18 8.3.4.4
    assert paged == everything
    past_the_end = _researcher_studies(gateway, limit="2", offset=str(len(everything)))
    assert (past_the_end.status_code, past_the_end.json()) == (200, [])


def test_unsupported_matching_is_literal_and_says_so(gateway: GatewayProcess) -> None:
    everything = _researcher_studies(gateway)
    assert "Warning" not in everything.headers
    fuzzy = _researcher_studies(gateway, fuzzymatching="true", emptyvaluematching="true")
    assert fuzzy.json() == everything.json()
    warnings = fuzzy.headers["Warning"]  # requests joins repeated headers with ", "
    for name in ("fuzzymatching", "emptyvaluematching"):
        assert f"The {name} parameter is not supported. Only literal matching has been performed." in warnings
    assert "fuzzymatching" not in _researcher_studies(gateway, fuzzymatching="false").headers.get("Warning", "")


@pytest.mark.parametrize("role", ["researcher", "external"])
def test_burned_in_ultrasound_is_withheld_everywhere(gateway: GatewayProcess, role: str) -> None:
    headers = {**gateway.headers(role), **JSON}
    series = requests.get(gateway.dicomweb_url + "/series", headers=headers, timeout=30).json()
    modalities = sorted(_values(s, "00080060")[0] for s in series)
    assert modalities == ["CR", "CT", "CT", "MR", "SR"]  # everything but the US with burned-in text
    instances = requests.get(
        gateway.dicomweb_url + "/instances", headers=headers, params={"Modality": "US"}, timeout=30
    )
    assert (instances.status_code, instances.json()) == (200, [])


def test_external_refuses_patient_id_queries(gateway: GatewayProcess) -> None:
    response = requests.get(
        gateway.dicomweb_url + "/studies",
        headers={**gateway.headers("external"), **JSON},
        params={"PatientID": "XID-ABCDEFGHJKMN"},
        timeout=30,
    )
    assert response.status_code == 400
    assert "irreversible" in response.json()["message"]


def test_unknown_pseudonymous_uid_in_path_is_404(gateway: GatewayProcess) -> None:
    response = requests.get(
        gateway.dicomweb_url + "/studies/2.25.1234567890/metadata",
        headers={**gateway.headers("researcher"), **JSON},
        timeout=30,
    )
    assert response.status_code == 404


def test_bulk_data_uris_point_at_the_gateway_and_work(gateway: GatewayProcess) -> None:
    headers = {**gateway.headers("researcher"), **JSON}
    study = requests.get(
        gateway.dicomweb_url + "/studies", headers=headers, params={"ModalitiesInStudy": "CT"}, timeout=30
    )
    uid = _values(study.json()[0], "0020000D")[0]
    metadata = requests.get(f"{gateway.dicomweb_url}/studies/{uid}/metadata", headers=headers, timeout=30).json()
    uris = [obj["7FE00010"]["BulkDataURI"] for obj in metadata if "7FE00010" in obj]
    assert uris and all(u.startswith(f"{gateway.dicomweb_url}/studies/{uid}/series/") for u in uris)
    pixels = requests.get(
        uris[0],
        headers={**gateway.headers("researcher"), "Accept": 'multipart/related; type="application/octet-stream"'},
        timeout=30,
    )
    assert pixels.status_code == 200 and len(pixels.content) > 128 * 128 * 2
    assert UID_ROOT.encode() not in pixels.content
    assert pixels.headers["Content-Location"].startswith(gateway.dicomweb_url + f"/studies/{uid}/")


@pytest.mark.parametrize("role", ["researcher", "external", "ai-service"])
def test_dicomweb_client_sees_no_identifier(gateway: GatewayProcess, role: str) -> None:
    """The same scan through dicomweb-client, as an AI or research service pulls: datasets and JSON alike."""
    client = DICOMwebClient(gateway.dicomweb_url, headers=gateway.headers(role))
    seen: list[bytes] = []
    studies = client.search_for_studies()
    seen.append(orjson.dumps(studies))
    for study in studies:
        study_uid = _values(study, "0020000D")[0]
        series = client.search_for_series(study_uid)
        seen.append(orjson.dumps(series))
        for instance in client.retrieve_study(study_uid):
            buffer = io.BytesIO()
            instance.save_as(buffer, enforce_file_format=True)
            seen.append(buffer.getvalue())
        for one in series:
            series_uid = _values(one, "0020000E")[0]
            metadata = client.retrieve_series_metadata(study_uid, series_uid)
            seen.append(orjson.dumps(metadata))
            if "7FE00010" in metadata[0]:
                sop = _values(metadata[0], "00080018")[0]
                frames = client.retrieve_instance_frames(
                    study_uid, series_uid, sop, frame_numbers=[1], media_types=(("application/octet-stream", "*"),)
                )
                seen.extend(frames)
    planted = {k: v for k, v in PLANTED.items() if k != "uid_root" and not k.startswith(KEPT[role])}
    leaks = [key for key, value in planted.items() for data in seen if any(f in data for f in encoded_forms(value))]
    assert not leaks, sorted(set(leaks))
    assert not [data for data in seen if UID_ROOT.encode() in data]
    assert len(seen) > 20


@pytest.mark.parametrize(
    ("tag_path", "status"),
    [
        ("00100010", 404),  # PatientName: removed, so never fetchable as bulkdata
        ("00321064/0/00080100", 404),  # inside RequestedProcedureCodeSequence: removed in the basic profile
        ("00111010", 404),  # private: its creator cannot be judged from a path
        ("7fe00010/x", 404),  # not a tag path
    ],
)
def test_bulkdata_paths_follow_the_profile(gateway: GatewayProcess, tag_path: str, status: int) -> None:
    headers = {**gateway.headers("researcher"), **JSON}
    instance = requests.get(gateway.dicomweb_url + "/instances", headers=headers, params={"Modality": "CT"}, timeout=30)
    uids = [_values(instance.json()[0], tag)[0] for tag in ("0020000D", "0020000E", "00080018")]
    url = "{}/studies/{}/series/{}/instances/{}/bulk/{}".format(gateway.dicomweb_url, *uids, tag_path)
    response = requests.get(
        url,
        headers={**gateway.headers("researcher"), "Accept": 'multipart/related; type="application/octet-stream"'},
        timeout=30,
    )
    assert response.status_code == status
