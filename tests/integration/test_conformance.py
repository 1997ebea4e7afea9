"""Issue 16: the gateway answers like its origin (PS3.18), whatever the role. Against the real Orthanc.

A search that finds nothing is 200 with an empty DICOM JSON array, at every level, for every role; a search
whose pseudonymous key or path UID this scope never issued looks exactly like one that matches nothing.
"""

from __future__ import annotations

import pytest
import requests
from support.gateway_server import GatewayProcess

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED
from gateway.demo.samples import STUDY_UIDS, UID_ROOT

JSON = {"Accept": "application/dicom+json"}
ROLES = ["clinician", "researcher", "external", "ai-service"]
NO_MATCH = {"StudyDate": "19000101"}  # no sample study is that old


def _get(gateway: GatewayProcess, role: str, path: str, **params: str) -> requests.Response:
    headers = {**gateway.headers(role), **JSON}
    return requests.get(gateway.dicomweb_url + path, headers=headers, params=params, timeout=30)


def _a_study(gateway: GatewayProcess, role: str) -> tuple[str, str]:
    """A study and one of its series as `role` names them."""
    study = _get(gateway, role, "/studies").json()[0]["0020000D"]["Value"][0]
    series = _get(gateway, role, f"/studies/{study}/series").json()[0]["0020000E"]["Value"][0]
    return study, series


def _assert_empty(response: requests.Response) -> None:
    assert response.status_code == 200, (response.status_code, response.text[:200])
    assert response.headers["Content-Type"].startswith("application/dicom+json")
    assert response.json() == []


@pytest.mark.parametrize("role", ROLES)
def test_no_match_is_200_and_an_empty_array_at_every_level(gateway: GatewayProcess, role: str) -> None:
    study, series = _a_study(gateway, role)
    for path in (
        "/studies",
        "/series",
        "/instances",
        f"/studies/{study}/series",
        f"/studies/{study}/instances",
        f"/studies/{study}/series/{series}/instances",
    ):
        _assert_empty(_get(gateway, role, path, **NO_MATCH))


@pytest.mark.parametrize("role", ["researcher", "external"])
def test_everything_withheld_is_an_empty_array(gateway: GatewayProcess, role: str) -> None:
    # The only US instances carry burned-in text, and both roles withhold them.
    _assert_empty(_get(gateway, role, "/instances", Modality="US"))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PatientID", "RID-ABCDEFGHJK"),  # a well-formed pseudonym this scope never issued
        ("PatientID", PLANTED["id.patient_a"]),  # a real MRN
        ("StudyInstanceUID", "2.25.1234567890"),
        ("StudyInstanceUID", UID_ROOT + "1.1"),  # a real UID
        ("AccessionNumber", "RAC-ABCDEFGHJK"),
    ],
)
def test_unknown_pseudonym_looks_like_no_match(gateway: GatewayProcess, key: str, value: str) -> None:
    unknown = _get(gateway, "researcher", "/studies", **{key: value})
    no_match = _get(gateway, "researcher", "/studies", **NO_MATCH)
    _assert_empty(unknown)
    assert unknown.content == no_match.content


@pytest.mark.parametrize("role", ["researcher", "external", "ai-service"])
def test_unknown_study_in_a_search_path_answers_as_the_origin_does(
    gateway: GatewayProcess, orthanc: OrthancProcess, role: str
) -> None:
    # Orthanc searches the series of a study it does not hold and finds none; an unknown pseudonym must give the
    # same answer, and a real UID sent by a de-identifying role is an unknown pseudonym.
    for level in ("series", "instances"):
        direct = requests.get(f"{orthanc.dicomweb_url}/studies/2.25.99/{level}", headers=JSON, timeout=30)
        for study in ("2.25.1234567890", STUDY_UIDS["a_ct"]):
            response = _get(gateway, role, f"/studies/{study}/{level}")
            assert (response.status_code, response.content or b"[]") == (direct.status_code, direct.content or b"[]")
            _assert_empty(response)


@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_a_method_the_resource_does_not_offer_is_405_with_allow(gateway: GatewayProcess, role: str) -> None:
    # PS3.18 8.5: a 405 names the methods the resource does offer.
    response = requests.delete(gateway.dicomweb_url + "/studies", headers=gateway.headers(role), timeout=30)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "POST"}
    assert response.json()["message"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"accept": "application/dicom+json"}, 200),
        ({"charset": "utf-8"}, 200),
        ({"accept": 'multipart/related; type="application/dicom+xml"'}, 406),
        ({"accept": "application/dicom+jsonx"}, 406),  # a type that only contains the name is another type
        ({"accept": "application/dicom+xml, application/json;q=0"}, 406),  # q=0: not acceptable
    ],
)
def test_the_accept_and_charset_query_parameters_are_media_not_matching_keys(
    gateway: GatewayProcess, params: dict[str, str], status: int
) -> None:
    # PS3.18 8.3.3.1: `accept` and `charset` may stand in for the headers; they are never attributes to match.
    response = requests.get(gateway.dicomweb_url + "/studies", params=params, timeout=30,
                            headers=gateway.headers("researcher"))  # fmt: skip
    assert response.status_code == status, response.text[:200]
    if status == 200:
        assert len(response.json()) == len(_get(gateway, "researcher", "/studies").json())
