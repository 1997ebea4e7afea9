"""Issue 17: an opt-out reaches the recipients. Against the real Orthanc, on the embedded store and on Redis.

researcher and external pull patient A's studies; A opts out; each scope's feed then lists exactly the
pseudonymous identifiers that scope was given of A, signed, stable under paging and across replicas; the
recipients' fetches and acknowledgements are on the ledger and in the admin's view of the loop.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from support.gateway_server import REPO, ROLE_KEYS, GatewayProcess
from support.redis_server import RedisServer

from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED, encoded_forms
from gateway.demo.samples import UID_ROOT

pytestmark = pytest.mark.integration

JSON = {"Accept": "application/dicom+json"}
PATIENT_A = {"PatientID": PLANTED["id.patient_a"], "IssuerOfPatientID": PLANTED["id.patient_a_issuer"]}
PATIENT_B = {"PatientID": PLANTED["id.patient_b"]}
SCOPES = {"researcher": "researcher", "external": "external"}


@dataclass
class Given:
    """What a role was shown of patient A, as the role names it."""

    patient: str = ""
    studies: set[str] = field(default_factory=set)
    series: set[str] = field(default_factory=set)
    instances: set[str] = field(default_factory=set)


def _values(obj: dict, key: str) -> list:
    return obj.get(key, {}).get("Value", [])


def _get(gw: GatewayProcess, role: str, path: str) -> list[dict]:
    response = requests.get(gw.dicomweb_url + path, headers={**gw.headers(role), **JSON}, timeout=30)
    assert response.status_code == 200, (path, response.status_code)
    return response.json()


def _pull_patient_a(gw: GatewayProcess, role: str) -> Given:
    """Search every study, then open patient A's (the patient with two studies) series by series."""
    studies = _get(gw, role, "/studies")
    by_patient: dict[str, list[str]] = {}
    for study in studies:
        by_patient.setdefault(_values(study, "00100020")[0], []).append(_values(study, "0020000D")[0])
    patient = next(p for p, uids in by_patient.items() if len(uids) == 2)
    given = Given(patient, set(by_patient[patient]))
    for study in given.studies:
        for series in _get(gw, role, f"/studies/{study}/series"):
            uid = _values(series, "0020000E")[0]
            given.series.add(uid)
            for instance in _get(gw, role, f"/studies/{study}/series/{uid}/metadata"):
                given.instances.add(_values(instance, "00080018")[0])
    return given


def _admin(gw: GatewayProcess, method: str, path: str, body: dict) -> requests.Response:
    return requests.request(method, gw.url + "/admin" + path, json=body, headers=gw.headers("admin"), timeout=60)


def _feed(gw: GatewayProcess, role: str, **params: str) -> requests.Response:
    return requests.get(gw.url + "/withdrawals", headers=gw.headers(role), params=params, timeout=30)


def _verify(gw: GatewayProcess, signed: dict) -> None:
    """The README's procedure: the published key, and the page serialised with sorted keys and no spaces."""
    key = requests.get(gw.url + "/withdrawals/key", timeout=30).json()  # no credentials needed
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    message = json.dumps(signed["page"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    public.verify(base64.b64decode(signed["signature"]), message)
    assert signed["key_id"] == key["key_id"]


def _leaks(data: bytes) -> list[str]:
    planted = {k: v for k, v in PLANTED.items() if k != "uid_root" and not k.startswith(("time.", "sex."))}
    found = [key for key, value in planted.items() if any(form in data for form in encoded_forms(value))]
    return found + (["uid_root"] if UID_ROOT.encode() in data else [])


@pytest.fixture(params=["sqlite", "redis"])
def gateways(
    request: pytest.FixtureRequest, orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess]
) -> list[GatewayProcess]:
    """One gateway on its own embedded store, or two replicas sharing one Redis."""
    if request.param == "sqlite":
        return [start_gateway(orthanc.dicomweb_url)]
    redis: RedisServer = request.getfixturevalue("redis_server")
    return [start_gateway(orthanc.dicomweb_url, redis.url) for _ in range(2)]


def test_an_opt_out_reaches_each_scope_with_exactly_what_it_was_given(gateways: list[GatewayProcess]) -> None:
    first, last = gateways[0], gateways[-1]

    # Patient B opts out before anything of B was disclosed: no scope has anything to delete.
    early = _admin(first, "POST", "/optouts", PATIENT_B)
    assert early.status_code == 201 and early.json()["withdrawals"] == {}
    assert _admin(first, "DELETE", "/optouts", PATIENT_B).status_code == 200
    for role in SCOPES:
        assert _feed(first, role).json()["page"]["entries"] == []

    given = {role: _pull_patient_a(first, role) for role in SCOPES}
    added = _admin(last, "POST", "/optouts", PATIENT_A)
    assert added.status_code == 201
    assert set(added.json()["withdrawals"]) == set(SCOPES.values())  # ai-service was given nothing

    cursors = {}
    for role, scope in SCOPES.items():
        response = _feed(first, role)
        assert response.status_code == 200
        signed = response.json()
        _verify(first, signed)
        page = signed["page"]
        assert (page["scope"], page["since"]) == (scope, 0)
        [entry] = page["entries"]
        shown = given[role]
        assert entry["patients"] == [shown.patient]
        assert set(entry["studies"]) == shown.studies and len(shown.studies) == 2
        assert set(entry["series"]) == shown.series
        assert set(entry["instances"]) == shown.instances and len(shown.instances) > 20
        assert entry["opted_out_at"] == added.json()["added_at"] and entry["cursor"] == page["next"]
        assert not _leaks(response.content)
        cursors[role] = page["next"]
    assert given["researcher"].studies.isdisjoint(given["external"].studies)  # two scopes, two sets of UIDs
    assert _feed(first, "ai-service").json()["page"]["entries"] == []

    # Stable: the same cursor gives the same page, on every replica, signature included (Ed25519 is
    # deterministic and the key is the store's); a page from the entry's cursor on is empty.
    for role in SCOPES:
        pages = {_feed(gw, role, since="0", limit="1").content for gw in (*gateways, first)}
        assert len(pages) == 1
        assert _feed(last, role, since=str(cursors[role])).json()["page"]["entries"] == []

    # A tampered page does not verify.
    tampered = _feed(first, "researcher").json()
    tampered["page"]["entries"][0]["studies"].pop()
    with pytest.raises(InvalidSignature):
        _verify(first, tampered)

    # researcher acknowledges (on the other replica); external does not; a cursor of another scope is refused.
    wrong = requests.post(last.url + "/withdrawals/ack", json={"cursor": cursors["external"]},
                          headers=last.headers("researcher"), timeout=30)  # fmt: skip
    assert wrong.status_code == 400 and "cursor" in wrong.json()["message"]
    ack = requests.post(last.url + "/withdrawals/ack", json={"cursor": cursors["researcher"]},
                        headers=last.headers("researcher"), timeout=30)  # fmt: skip
    assert ack.status_code == 200 and ack.json()["acknowledged"] == cursors["researcher"]

    loop = {row["scope"]: row for row in _admin(first, "POST", "/optouts/status", PATIENT_A).json()["withdrawals"]}
    assert set(loop) == set(SCOPES.values())
    assert loop["researcher"]["fetched_at"] and loop["researcher"]["acknowledged_at"]
    assert loop["external"]["fetched_at"] and loop["external"]["acknowledged_at"] is None
    assert loop["researcher"]["identifiers"]["instances"] == len(given["researcher"].instances)
    ledger = _admin(first, "GET", "/ledger?limit=1000", {}).json()["entries"]
    actions = [(e["action"], e["scope"]) for e in ledger]
    assert ("withdrawals.deliver", "researcher") in actions and ("withdrawals.deliver", "external") in actions
    assert actions.count(("withdrawals.ack", "researcher")) == 1 and ("withdrawals.ack", "external") not in actions

    # Removing the opt-out takes nothing back out of the feed: the recipient was already asked to delete.
    assert _admin(first, "DELETE", "/optouts", PATIENT_A).json()["changed"] is True
    assert [e["cursor"] for e in _feed(last, "researcher").json()["page"]["entries"]] == [cursors["researcher"]]


def test_only_scoped_roles_read_a_feed(gateways: list[GatewayProcess]) -> None:
    gw = gateways[0]
    for role in ("clinician", "admin"):
        assert _feed(gw, role).status_code == 403
    assert requests.get(gw.url + "/withdrawals", timeout=30).status_code == 401
    for params in ({"since": "-1"}, {"limit": "0"}, {"limit": "x"}):
        response = _feed(gw, "researcher", **params)
        assert response.status_code == 400 and response.json()["message"]
    bad = requests.post(gw.url + "/withdrawals/ack", json={"cursor": "1"}, headers=gw.headers("researcher"), timeout=30)
    assert bad.status_code == 400


def test_the_recipients_client_pulls_verifies_and_acknowledges(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], tmp_path
) -> None:
    gw = start_gateway(orthanc.dicomweb_url)
    _pull_patient_a(gw, "researcher")
    assert _admin(gw, "POST", "/optouts", PATIENT_A).status_code == 201
    env = {**os.environ, "GATEWAY_SECRET": gw.secret}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=60)  # fmt: skip

    state = tmp_path / "cursor"
    pulled = cli("withdrawals", "pull", "--url", gw.url, "--key", ROLE_KEYS["researcher"], "--state", str(state))
    assert pulled.returncode == 0, pulled.stderr
    lines = [json.loads(line) for line in pulled.stdout.splitlines()]
    feed = _feed(gw, "researcher").json()["page"]
    assert lines == [{"scope": "researcher", **entry} for entry in feed["entries"]]
    assert state.read_text().strip() == str(feed["next"])
    again = cli("withdrawals", "pull", "--url", gw.url, "--key", ROLE_KEYS["researcher"], "--state", str(state))
    assert again.returncode == 0 and again.stdout == ""  # nothing new since the kept cursor

    pinned = cli("withdrawals", "pull", "--url", gw.url, "--key", ROLE_KEYS["researcher"], "--no-ack",
                 "--public-key", base64.b64encode(b"\1" * 32).decode())  # fmt: skip
    assert pinned.returncode == 1 and pinned.stdout == ""  # another key: nothing written

    status = cli("optout", "status", "--config", str(gw.config_path), "--issuer", PATIENT_A["IssuerOfPatientID"],
                 PATIENT_A["PatientID"])  # fmt: skip
    assert status.returncode == 0, status.stderr
    [row] = [json.loads(line) for line in status.stdout.splitlines()]
    assert row["scope"] == "researcher" and row["acknowledged_at"] and row["fetched_at"]
    refused = cli("withdrawals", "pull", "--url", gw.url, "--key", ROLE_KEYS["clinician"])
    assert refused.returncode == 4 and "403" in refused.stderr
