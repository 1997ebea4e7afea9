"""Issue 12: a copy of the stores, taken after real traffic, yields no real identifier without the secret.

The gateway crawls every sample study as `researcher` (reversible) and `external` (anonymized) against the real
Orthanc, and the admin registers opt-outs and re-identifies a pseudonym, so the pseudonym store, the opt-out
registry and the ledger all hold what they hold in production. Then the raw back end is read the way someone
who copied it would read it: the SQLite file with its WAL, or every key and value of the Redis. No planted
identifier and no real UID may be in it. (Dates and times are not scanned: the stores never hold them, and
six digits turn up by chance in encrypted text.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from support.gateway_server import GatewayProcess
from support.redis_server import RedisServer

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED, encoded_forms
from gateway.demo.samples import UID_ROOT

pytestmark = pytest.mark.integration
JSON = {"Accept": "application/dicom+json"}
DICOM = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
IDENTIFIERS = {key: value for key, value in PLANTED.items() if not key.startswith(("date.", "time.", "uid_root"))}


def crawl(gateway: GatewayProcess, role: str) -> list[str]:
    """Search, walk and retrieve everything `role` may see; returns the study pseudonyms it was given."""

    def get(path: str, accept: dict[str, str]) -> requests.Response:
        headers = {**gateway.headers(role), **accept}
        return requests.get(gateway.dicomweb_url + path, headers=headers, timeout=60)

    studies = [study["0020000D"]["Value"][0] for study in get("/studies", JSON).json()]
    for study in studies:
        for series in get(f"/studies/{study}/series", JSON).json():
            uid = series["0020000E"]["Value"][0]
            assert get(f"/studies/{study}/series/{uid}/instances", JSON).status_code == 200
        assert get(f"/studies/{study}/metadata", JSON).status_code in (200, 404)
        assert get(f"/studies/{study}", DICOM).status_code in (200, 404)
    return studies


def govern(gateway: GatewayProcess, researcher_study: str) -> None:
    def admin(method: str, path: str, body: dict[str, str]) -> requests.Response:
        return requests.request(
            method, gateway.url + "/admin" + path, headers=gateway.headers("admin"), json=body, timeout=30
        )

    assert admin("POST", "/optouts", {"PatientID": PLANTED["id.patient_a"]}).status_code == 201
    with_issuer = {"PatientID": PLANTED["id.patient_a_other"], "IssuerOfPatientID": PLANTED["id.patient_a_issuer"]}
    assert admin("POST", "/optouts", with_issuer).status_code == 201
    found = admin("POST", "/reidentify", {"scope": "researcher", "pseudonym": researcher_study})
    assert found.status_code == 200 and found.json()["real"].startswith(UID_ROOT)
    # An admin who pastes a real MRN where a pseudonym goes: refused, and the ledger must not keep it in clear.
    mistaken = admin("POST", "/reidentify", {"scope": "researcher", "pseudonym": PLANTED["id.patient_b"]})
    assert mistaken.status_code == 404
    assert admin("GET", "/ledger", {}).status_code == 200


def leaks(dump: bytes) -> list[str]:
    found = [key for key, value in IDENTIFIERS.items() if any(form in dump for form in encoded_forms(value))]
    return found + (["real UIDs"] if UID_ROOT.encode() in dump else [])


@pytest.mark.parametrize("back_end", ["sqlite", "redis"])
def test_a_copy_of_the_stores_after_a_crawl_holds_no_real_identifier(
    back_end: str, orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], redis_server: RedisServer
) -> None:
    gateway = start_gateway(orthanc.dicomweb_url, redis_server.url if back_end == "redis" else None)
    researcher = crawl(gateway, "researcher")
    assert researcher and crawl(gateway, "external")
    govern(gateway, researcher[0])
    gateway.stop()
    if back_end == "redis":
        dump = redis_server.dump()
    else:
        dump = b"".join(path.read_bytes() for path in gateway.workdir.glob("pseudonyms.sqlite3*"))
    dump += b"".join(path.read_bytes() for path in gateway.workdir.glob("ledger-head*"))
    assert len(dump) > 10_000  # the stores really were written
    assert leaks(dump) == []
