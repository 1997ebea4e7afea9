"""GET /admin/ledger with filters, against the real Orthanc: a patient is matched through its real studies at the
origin, a study by its real or pseudonymous UID; what the admin typed as a patient is sealed in the ledger."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support.gateway_server import GatewayProcess, running_gateway

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED
from gateway.demo.samples import STUDY_UIDS

JSON = {"Accept": "application/dicom+json"}
PATIENT_A = PLANTED["id.patient_a"]
A_STUDIES = {STUDY_UIDS["a_ct"], STUDY_UIDS["a_followup"]}
_READ: dict[int, int] = {}  # gateway port -> studies researcher read


@pytest.fixture(scope="module")
def gateway(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """A fresh ledger: researcher searched and read the metadata of every study it found; external searched.
    The tests only add admin entries to it (their own reads)."""
    with running_gateway(tmp_path_factory.mktemp("ledger-search"), orthanc.dicomweb_url) as gateway:
        _disclose(gateway)
        yield gateway


def _disclose(gateway: GatewayProcess) -> None:
    studies = _get(gateway, "researcher", "/studies")
    for study in studies:
        _get(gateway, "researcher", f"/studies/{study['0020000D']['Value'][0]}/metadata")
    _get(gateway, "external", "/studies")
    _READ[gateway.port] = len(studies)


def _get(gateway: GatewayProcess, role: str, path: str) -> Any:
    response = requests.get(gateway.dicomweb_url + path, headers={**gateway.headers(role), **JSON}, timeout=30)
    response.raise_for_status()
    return response.json()


def _held(gateway: GatewayProcess) -> int:
    """How many studies researcher read the metadata of (as many as its search found)."""
    return _READ[gateway.port]


def _ledger(gateway: GatewayProcess, **params: str) -> list[dict[str, Any]]:
    response = requests.get(gateway.url + "/admin/ledger", params=params, headers=gateway.headers("admin"), timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["entries"])


def test_role_scope_and_action_filters(gateway: GatewayProcess) -> None:
    researcher = _ledger(gateway, role="researcher")
    assert len(researcher) == 1 + _held(gateway) and {e["role"] for e in researcher} == {"researcher"}
    assert {e["scope"] for e in _ledger(gateway, scope="external")} == {"external"}
    browsed = _ledger(gateway, action="admin.ledger.browse")
    assert browsed and {e["action"] for e in browsed} == {"admin.ledger.browse"}
    assert _ledger(gateway, role="researcher", scope="external") == []


def test_a_time_range(gateway: GatewayProcess) -> None:
    everything = _ledger(gateway, role="researcher")
    first, last = everything[0]["time"], everything[-1]["time"]
    assert [e["seq"] for e in _ledger(gateway, role="researcher", to=first)] == [everything[0]["seq"]]
    assert [e["seq"] for e in _ledger(gateway, role="researcher", **{"from": last})] == [everything[-1]["seq"]]
    bad = requests.get(gateway.url + "/admin/ledger", params={"from": "yesterday"}, headers=gateway.headers("admin"),
                       timeout=10)  # fmt: skip
    assert bad.status_code == 400 and "from" in bad.json()["message"]


def test_a_patient_is_matched_through_its_studies_at_the_origin_and_sealed(gateway: GatewayProcess) -> None:
    found = _ledger(gateway, patient=PATIENT_A)
    disclosures = [e for e in found if e["action"] == "disclose"]
    # Both searches across patients named A's studies, and researcher read each of A's two studies.
    assert len(disclosures) == 4 and all(A_STUDIES & set(e["real"]["studies"]) for e in disclosures)
    assert {e["role"] for e in disclosures} == {"researcher", "external"}
    others = [e for e in _ledger(gateway, action="disclose") if not A_STUDIES & set(e["real"]["studies"])]
    assert others and not {e["seq"] for e in others} & {e["seq"] for e in found}  # B's and C's studies read
    assert _ledger(gateway, patient="NOSUCH-PATIENT") == []
    [asked] = [e for e in _ledger(gateway, action="admin.ledger.browse") if e["real"].get("asked") == [PATIENT_A]][:1]
    assert "patient" not in asked["detail"].get("query", "")
    with sqlite3.connect(gateway.workdir / "pseudonyms.sqlite3") as db:
        stored = " ".join(text for (text,) in db.execute("SELECT entry FROM gov_sealed_ledger"))
    assert PATIENT_A not in stored  # the ledger holds what was typed sealed, never in clear


def test_a_study_by_its_real_or_its_pseudonymous_uid(gateway: GatewayProcess) -> None:
    real = [e for e in _ledger(gateway, study=STUDY_UIDS["a_ct"]) if e["action"] == "disclose"]
    assert len(real) == 3 and {e["role"] for e in real} == {"researcher", "external"}  # 2 searches, 1 metadata
    [metadata] = [e for e in real if e["real"]["studies"] == [STUDY_UIDS["a_ct"]]]
    pseudonym = metadata["pseudonymous"]["studies"][0]
    assert pseudonym != STUDY_UIDS["a_ct"]
    by_pseudonym = [e["seq"] for e in _ledger(gateway, study=pseudonym) if e["action"] == "disclose"]
    assert metadata["seq"] in by_pseudonym and all(e["role"] == "researcher" for e in _ledger(gateway, study=pseudonym)
                                                   if e["action"] == "disclose")  # fmt: skip


def test_paging_is_kept_with_filters(gateway: GatewayProcess) -> None:
    both = [e["seq"] for e in _ledger(gateway, action="disclose")]
    assert len(both) == 2 + _held(gateway)
    assert [e["seq"] for e in _ledger(gateway, action="disclose", limit="2")] == both[-2:]
    assert [e["seq"] for e in _ledger(gateway, action="disclose", after=str(both[0]), limit="2")] == both[1:3]
    assert [e["seq"] for e in _ledger(gateway, action="disclose", before=str(both[2]))] == both[:2]
    unfiltered = requests.get(gateway.url + "/admin/ledger", params={"limit": "2"}, headers=gateway.headers("admin"),
                              timeout=10).json()  # fmt: skip
    assert unfiltered["more"] and [e["seq"] for e in unfiltered["entries"]] == [
        unfiltered["head"] - 1,
        unfiltered["head"],
    ]


@pytest.mark.parametrize("params", [{}, {"role": "researcher"}, {"patient": PATIENT_A}, {"study": "1.2.3"}])
def test_the_filtered_ledger_is_for_the_admin_only(gateway: GatewayProcess, params: dict[str, str]) -> None:
    url = gateway.url + "/admin/ledger"
    assert requests.get(url, params=params, timeout=10).status_code == 401
    assert requests.get(url, params=params, headers=gateway.headers("researcher"), timeout=10).status_code == 403


def test_filters_are_checked(gateway: GatewayProcess) -> None:
    for params in ({"patient": "x" * 65}, {"study": "1" * 65}, {"before": "-1"}, {"to": "2026-01-01T00:00:00"},
                   {"patient": "a\\b"}):  # fmt: skip
        response = requests.get(gateway.url + "/admin/ledger", params=params, headers=gateway.headers("admin"),
                                timeout=10)  # fmt: skip
        assert response.status_code == 400 and response.json()["message"], params
