"""Issue 7 against the real Orthanc and a real Redis: opt-outs, the ledger, rule edits and re-identification.

Two gateway processes share one Redis, as two replicas would. The CLI is run as a separate process on the
same config file, the way an operator would run it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests
from support.gateway_server import REPO, SECRET, GatewayProcess
from support.redis_server import RedisServer

from gateway.adapters.redis.governance import LEDGER
from gateway.core.keys import Keyring
from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED
from gateway.demo.samples import STUDY_UIDS

JSON = {"Accept": "application/dicom+json"}
DICOM = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
FRAMES = {"Accept": "multipart/related; type=application/octet-stream; transfer-syntax=*"}
PATIENT_B = PLANTED["id.patient_b"]  # the only CR study (b_cr), no issuer
PATIENT_A = PLANTED["id.patient_a"]  # carries IssuerOfPatientID
REFRESH_S = 0.25  # governance.refresh_s, the default


@dataclass
class Replicas:
    redis: RedisServer
    one: GatewayProcess
    two: GatewayProcess

    def both(self) -> tuple[GatewayProcess, GatewayProcess]:
        return self.one, self.two


@pytest.fixture(scope="module")
def replicas(orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    redis = RedisServer(tmp_path_factory.mktemp("redis"))
    redis.start()
    started = []
    try:
        for name in ("one", "two"):
            workdir = tmp_path_factory.mktemp(name)
            started.append(GatewayProcess(workdir, upstream_url=orthanc.dicomweb_url, store_url=redis.url).start())
        yield Replicas(redis, *started)
    finally:
        for gateway in started:
            gateway.stop()
        redis.close()


def admin(gateway: GatewayProcess, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(method, gateway.url + "/admin" + path, headers=gateway.headers("admin"), timeout=30,
                            **kwargs)  # type: ignore[arg-type]


def cli(gateway: GatewayProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--config", str(gateway.config_path)],
        capture_output=True, text=True, timeout=60, cwd=REPO, env={**os.environ, "GATEWAY_SECRET": SECRET},
    )  # fmt: skip


def get(gateway: GatewayProcess, role: str, path: str, accept: dict[str, str], **params: str) -> requests.Response:
    return requests.get(gateway.dicomweb_url + path, headers={**gateway.headers(role), **accept}, params=params,
                        timeout=30)


def first(obj: dict, tag: str) -> str:
    return obj[tag]["Value"][0]


def cr_study(gateway: GatewayProcess, role: str) -> str | None:
    """The pseudonymous UID of patient B's CR study as `role` sees it, or None when it is not listed."""
    studies = get(gateway, role, "/studies", JSON, includefield="00080061").json()
    found = [first(s, "0020000D") for s in studies if "CR" in s.get("00080061", {}).get("Value", [])]
    return found[0] if found else None


def wado_paths(gateway: GatewayProcess, role: str, study: str) -> list[tuple[str, dict[str, str]]]:
    series = first(get(gateway, role, f"/studies/{study}/series", JSON).json()[0], "0020000E")
    sop = first(get(gateway, role, f"/studies/{study}/series/{series}/instances", JSON).json()[0], "00080018")
    instance = f"/studies/{study}/series/{series}/instances/{sop}"
    return [
        (f"/studies/{study}/metadata", JSON),
        (instance + "/metadata", JSON),
        (f"/studies/{study}", DICOM),
        (instance, DICOM),
        (instance + "/frames/1", FRAMES),
        (instance + "/rendered", {"Accept": "image/jpeg"}),
        (instance + "/thumbnail", {"Accept": "image/jpeg"}),
        (f"/studies/{study}/thumbnail", {"Accept": "image/jpeg"}),
    ]


def until(condition: Callable[[], bool], within: float) -> float:
    """Seconds until `condition` held; fails if it did not within `within` seconds."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, f"not within {within} s"
        time.sleep(0.02)
    return time.monotonic() - started


def test_the_admin_api_is_for_the_admin_role_only(replicas: Replicas) -> None:
    gateway = replicas.one
    assert requests.get(gateway.url + "/admin/roles", timeout=10).status_code == 401
    as_researcher = requests.get(gateway.url + "/admin/roles", headers=gateway.headers("researcher"), timeout=10)
    assert as_researcher.status_code == 403
    assert admin(gateway, "GET", "/roles").status_code == 200
    # An admin key opens nothing on the DICOMweb side.
    as_admin = requests.get(gateway.dicomweb_url + "/studies", headers=gateway.headers("admin"), timeout=10)
    assert as_admin.status_code == 403
    page = requests.get(gateway.url + "/admin/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    # The console's own files need no credential and hold no data; nothing else on disk is reachable.
    for name, kind in (("app.js", "text/javascript"), ("api.js", "text/javascript"), ("style.css", "text/css")):
        asset = requests.get(gateway.url + f"/admin/console/{name}", timeout=10)
        assert asset.status_code == 200 and asset.headers["Content-Type"].startswith(kind)
        assert "script-src 'self'" in asset.headers["Content-Security-Policy"]
    for name in ("..%2Frecords.py", "records.py", "index.html", "APP.JS", "app.js.map"):
        assert requests.get(gateway.url + f"/admin/console/{name}", timeout=10).status_code == 404, name


@pytest.mark.parametrize("role", ["researcher", "external"])
def test_an_opted_out_patient_disappears_from_qido_and_wado_within_1s_on_both_replicas(
    replicas: Replicas, role: str
) -> None:
    study = cr_study(replicas.one, role)
    assert study is not None and cr_study(replicas.two, role) == study
    paths = wado_paths(replicas.one, role, study)
    for gateway in replicas.both():
        for path, accept in paths:
            assert get(gateway, role, path, accept).status_code == 200, path

    added = cli(replicas.one, "optout", "add", PATIENT_B)
    assert added.returncode == 0, added.stderr
    for gateway in replicas.both():
        assert until(lambda g=gateway: cr_study(g, role) is None, within=1.0) < 1.0
    for gateway in replicas.both():
        for path, accept in paths:
            assert get(gateway, role, path, accept).status_code == 404, path
    listed = cli(replicas.two, "optout", "list")
    assert PATIENT_B in listed.stdout

    removed = admin(replicas.two, "DELETE", "/optouts", json={"PatientID": PATIENT_B})
    assert removed.status_code == 200 and removed.json()["changed"] is True
    for gateway in replicas.both():
        until(lambda g=gateway: cr_study(g, role) == study, within=1.0)
        assert all(get(gateway, role, path, accept).status_code == 200 for path, accept in paths)


def _studies(gateway: GatewayProcess, role: str) -> set[str]:
    return {first(s, "0020000D") for s in get(gateway, role, "/studies", JSON).json()}


def test_an_optout_without_issuer_covers_a_patient_whose_instances_carry_one(
    replicas: Replicas, orthanc: OrthancProcess
) -> None:
    held = len(requests.get(orthanc.dicomweb_url + "/studies", params={"PatientID": PATIENT_A}, timeout=10).json())
    role = "researcher"
    before = _studies(replicas.one, role)

    def opt_out() -> None:  # no --issuer, while A's instances name STBRIGID-MRN
        added = cli(replicas.one, "optout", "add", PATIENT_A)
        assert added.returncode == 0, added.stderr
        assert added.stdout.splitlines()[0] == f"opted out: 1 patient; the origin holds {held} studies of this patient"
        for gateway in replicas.both():
            until(lambda g=gateway: len(before - _studies(g, role)) == held, within=1.0)

    def opt_back_in() -> None:
        assert cli(replicas.one, "optout", "remove", PATIENT_A).returncode == 0
        for gateway in replicas.both():
            until(lambda g=gateway: _studies(g, role) == before, within=1.0)

    opt_out()
    gone = sorted(before - _studies(replicas.one, role))
    opt_back_in()
    paths = wado_paths(replicas.one, role, gone[0])
    assert all(get(replicas.one, role, path, accept).status_code == 200 for path, accept in paths)
    opt_out()
    try:
        for gateway in replicas.both():
            for path, accept in paths:
                assert get(gateway, role, path, accept).status_code == 404, path
    finally:
        opt_back_in()


def test_the_admin_api_says_how_many_studies_an_optout_reaches(replicas: Replicas, orthanc: OrthancProcess) -> None:
    held = len(requests.get(orthanc.dicomweb_url + "/studies", params={"PatientID": PATIENT_A}, timeout=10).json())
    for body, studies in (({"PatientID": PATIENT_A}, held), ({"PatientID": "NOSUCH-2", "IssuerOfPatientID": "X"}, 0)):
        added = admin(replicas.two, "POST", "/optouts", json=body)
        try:
            assert added.status_code == 201 and added.json()["origin_studies"] == studies
            assert added.json()["note"].startswith("warning" if studies == 0 else f"the origin holds {held}")
        finally:
            assert admin(replicas.two, "DELETE", "/optouts", json=body).status_code == 200


def _sex_in_metadata(gateway: GatewayProcess, study: str) -> bool:
    objects = get(gateway, "researcher", f"/studies/{study}/metadata", JSON).json()
    return all("00100040" in obj for obj in objects)


def test_a_rule_edit_through_the_admin_api_applies_to_the_next_request_on_both_replicas(replicas: Replicas) -> None:
    study = cr_study(replicas.one, "researcher")
    assert study is not None
    assert all(_sex_in_metadata(g, study) for g in replicas.both())  # researcher keeps patient characteristics
    current = admin(replicas.one, "GET", "/roles/researcher").json()
    original, base = current["text"], current["version"]
    edited = original + "overrides:\n  PatientSex: remove\n"

    broken = original + "overrides:\n  NoSuchThing: remove\n"
    bad = admin(replicas.one, "PUT", "/roles/researcher", json={"text": broken})
    assert bad.status_code == 422
    assert bad.json()["file"] == "researcher.yaml" and bad.json()["key"] == "overrides.NoSuchThing"
    assert bad.json()["reason"]
    assert all(_sex_in_metadata(g, study) for g in replicas.both())  # the old profile stays live

    uids = dict(zip(("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"), _real_cr_instance(replicas.one),
                    strict=True))
    preview = admin(replicas.one, "POST", "/roles/researcher/preview", json={**uids, "text": edited}).json()
    sex = next(row for row in preview["rows"] if row["keyword"] == "PatientSex")
    assert sex["before"] == "M" and sex["after"] is None and sex["change"] == "removed"

    updated = admin(replicas.one, "PUT", "/roles/researcher", json={"text": edited, "base_version": base})
    assert updated.status_code == 200 and updated.json()["version"] == base + 1
    try:
        assert not _sex_in_metadata(replicas.one, study)  # the very next request on the replica that took it
        time.sleep(REFRESH_S)
        assert not _sex_in_metadata(replicas.two, study)  # the next request on the other, after refresh_s
        stale = admin(replicas.two, "PUT", "/roles/researcher", json={"text": original, "base_version": base})
        assert stale.status_code == 409
    finally:
        restored = admin(replicas.two, "PUT", "/roles/researcher", json={"text": original})
        assert restored.status_code == 200
    assert _sex_in_metadata(replicas.two, study)
    time.sleep(REFRESH_S)
    assert _sex_in_metadata(replicas.one, study)


def test_the_preview_marks_what_the_scrubber_removed(replicas: Replicas) -> None:
    """Issue 15: the dry run shows the scrubbed text with its removed spans, before the rule is saved."""
    uids = dict(zip(("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"), _real_cr_instance(replicas.one),
                    strict=True))
    preview = admin(replicas.one, "POST", "/roles/researcher/preview", json=uids).json()
    row = next(row for row in preview["rows"] if row["keyword"] == "StudyDescription")
    assert row["before"] == "胸部X線 山田様" and row["after"] == "胸部X線"
    assert [(s["category"], row["before"][s["start"]:s["end"]]) for s in row["spans"]] == [("own-name", "山田様")]
    assert all("spans" not in r for r in preview["rows"] if r["keyword"] == "PatientSex")


def _real_cr_instance(gateway: GatewayProcess) -> tuple[str, str, str]:
    study = STUDY_UIDS["b_cr"]
    instances = requests.get(gateway.dicomweb_url + f"/studies/{study}/instances",
                             headers={**gateway.headers("clinician"), **JSON}, timeout=10).json()
    return study, first(instances[0], "0020000E"), first(instances[0], "00080018")


def test_reidentify_works_for_researcher_and_is_refused_for_external(replicas: Replicas) -> None:
    gateway = replicas.one
    pseudonyms, answers = {}, {}
    for role in ("researcher", "external"):
        studies = get(gateway, role, "/studies", JSON, includefield="00080061").json()
        cr = next(s for s in studies if "CR" in s.get("00080061", {}).get("Value", []))
        pseudonyms[role] = first(cr, "00100020")
    done = cli(gateway, "reidentify", "--scope", "researcher", pseudonyms["researcher"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"scope": "researcher", "pseudonym": pseudonyms["researcher"],
                                       "kind": "patient", "real": PATIENT_B}
    refused = cli(gateway, "reidentify", "--scope", "external", pseudonyms["external"])
    assert refused.returncode == 3 and "reversal is impossible" in refused.stderr and PATIENT_B not in refused.stdout

    for scope in ("researcher", "external"):
        body = {"scope": scope, "pseudonym": pseudonyms[scope]}
        answers[scope] = admin(replicas.two, "POST", "/reidentify", json=body)
    assert answers["researcher"].status_code == 200 and answers["researcher"].json()["real"] == PATIENT_B
    api = answers["external"]
    assert api.status_code == 409 and "impossible" in api.json()["message"]

    entries = admin(gateway, "GET", "/ledger", params={"limit": "20"}).json()["entries"]
    uses = [e for e in entries if e["action"] == "admin.reidentify"]
    assert [e["detail"]["status"] for e in uses if "status" in e["detail"]][-2:] == ["200", "409"]
    assert sum(1 for e in uses if e["actor"].startswith("cli:")) >= 2


def test_every_disclosure_is_in_the_ledger_with_real_and_pseudonymous_apart(replicas: Replicas) -> None:
    gateway = replicas.one
    study = cr_study(gateway, "researcher")
    head = admin(gateway, "GET", "/ledger", params={"limit": "1"}).json()["head"]
    assert get(gateway, "researcher", f"/studies/{study}", DICOM).status_code == 200
    entries = admin(gateway, "GET", "/ledger", params={"after": str(head)}).json()["entries"]
    disclosed = [e for e in entries if e["action"] == "disclose"]
    assert len(disclosed) == 1  # one entry for the whole response
    entry = disclosed[0]
    profile = admin(gateway, "GET", "/roles/researcher").json()
    assert entry["role"] == "researcher" and entry["scope"] == "researcher" and entry["actor"].startswith("key:")
    assert entry["profile_version"] == profile["profile_version"] and entry["time"]
    assert entry["real"]["studies"] == [STUDY_UIDS["b_cr"]] and entry["pseudonymous"]["studies"] == [study]
    assert len(entry["real"]["instances"]) == len(entry["pseudonymous"]["instances"]) == 2
    assert not set(entry["real"]["instances"]) & set(entry["pseudonymous"]["instances"])


def test_a_paged_search_records_only_the_page_it_sent(replicas: Replicas) -> None:
    gateway = replicas.one
    everything = get(gateway, "researcher", "/studies", JSON).json()
    assert len(everything) >= 3
    head = admin(gateway, "GET", "/ledger", params={"limit": "1"}).json()["head"]
    page = get(gateway, "researcher", "/studies", JSON, limit="1", offset="1")
    assert [first(s, "0020000D") for s in page.json()] == [first(everything[1], "0020000D")]
    entries = admin(gateway, "GET", "/ledger", params={"after": str(head)}).json()["entries"]
    disclosed = [e for e in entries if e["action"] == "disclose"]
    # Not the result skipped by the offset, nor the one read to learn that more results exist.
    assert [e["pseudonymous"]["studies"] for e in disclosed] == [[first(everything[1], "0020000D")]]


def test_disclosures_of_a_patient_name_the_pseudonym_each_scope_gave(replicas: Replicas) -> None:
    gateway = replicas.one
    for role in ("researcher", "external"):
        study = cr_study(gateway, role)
        assert get(gateway, role, f"/studies/{study}", DICOM).status_code == 200
    answer = admin(gateway, "POST", "/optouts/disclosures", json={"PatientID": PATIENT_B}).json()
    assert answer["studies"] == [STUDY_UIDS["b_cr"]]
    for role in ("researcher", "external"):
        shown = get(gateway, role, "/studies", JSON, StudyInstanceUID=cr_study(gateway, role) or "").json()[0]
        scope = answer["scopes"][role]
        assert scope["patients"] == [first(shown, "00100020")]  # the ID the recipient knows the patient by
        assert scope["studies"] == [first(shown, "0020000D")] and scope["entries"]


def test_every_admin_action_is_in_the_ledger(replicas: Replicas) -> None:
    gateway = replicas.two
    study, series, sop = _real_cr_instance(gateway)
    text = admin(gateway, "GET", "/roles/external").json()["text"]
    head = admin(gateway, "GET", "/ledger", params={"limit": "1"}).json()["head"]
    calls = [
        ("GET", "/roles", {}),
        ("GET", "/roles/external", {}),
        ("POST", "/roles/external/validate", {"json": {"text": text}}),
        ("POST", "/roles/external/validate", {"json": {"text": "permissions: [nonsense]"}}),
        ("POST", "/roles/external/preview", {"json": {"StudyInstanceUID": study, "SeriesInstanceUID": series,
                                                      "SOPInstanceUID": sop}}),
        ("PUT", "/roles/external", {"json": {"text": text}}),
        ("POST", "/optouts", {"json": {"PatientID": "NOSUCH-1", "IssuerOfPatientID": "X"}}),
        ("GET", "/optouts", {}),
        ("POST", "/optouts/disclosures", {"json": {"PatientID": PATIENT_B}}),
        ("DELETE", "/optouts", {"json": {"PatientID": "NOSUCH-1", "IssuerOfPatientID": "X"}}),
        ("GET", "/ledger/verify", {}),
        ("GET", "/ledger/export", {"params": {"format": "csv"}}),
    ]
    for method, path, kwargs in calls:
        assert admin(gateway, method, path, **kwargs).status_code < 500, path
    assert cli(gateway, "ledger", "verify").returncode == 0
    entries = admin(gateway, "GET", "/ledger", params={"after": str(head), "limit": "1000"}).json()["entries"]
    entries = [e for e in entries if e["action"] != "admin.ledger.browse"]  # our own reads of the ledger
    actions = [(e["action"], e["detail"].get("status")) for e in entries]
    assert actions[: len(calls)] == [
        ("admin.roles.list", "200"), ("admin.roles.read", "200"), ("admin.roles.validate", "200"),
        ("admin.roles.validate", "422"), ("admin.roles.preview", "200"), ("admin.roles.update", "200"),
        ("admin.optouts.add", "201"), ("admin.optouts.list", "200"), ("admin.optouts.disclosures", "200"),
        ("admin.optouts.remove", "200"), ("admin.ledger.verify", "200"), ("admin.ledger.export", "200"),
    ]  # fmt: skip
    assert ("admin.ledger.verify", None) in actions  # the CLI's own record
    assert entries[6]["real"] == {"patients": ["X\\NOSUCH-1"]}


def test_ledger_tampering_is_detected_by_the_cli_on_sqlite(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess]
) -> None:
    gateway = start_gateway(orthanc.dicomweb_url)
    for role in ("researcher", "external", "researcher"):
        assert get(gateway, role, "/studies", JSON).status_code == 200
    assert cli(gateway, "ledger", "verify").returncode == 0
    database = gateway.workdir / "pseudonyms.sqlite3"
    with sqlite3.connect(database) as db:
        (text,) = db.execute("SELECT entry FROM gov_sealed_ledger WHERE seq = 2").fetchone()
        entry = json.loads(text)
        entry["actor"] = "key:somebodyelse"
        db.execute("UPDATE gov_sealed_ledger SET entry = ? WHERE seq = 2", (json.dumps(entry),))
    tampered = cli(gateway, "ledger", "verify")
    assert tampered.returncode == 1 and "entry 2 was changed" in tampered.stderr


def test_ledger_tampering_is_detected_by_the_cli_on_redis(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], redis_server: RedisServer
) -> None:
    gateway = start_gateway(orthanc.dicomweb_url, store_url=redis_server.url)
    for role in ("researcher", "external", "researcher"):
        assert get(gateway, role, "/studies", JSON).status_code == 200
    assert cli(gateway, "ledger", "verify").returncode == 0
    redis_server.command("XDEL", LEDGER, "2-1")
    tampered = cli(gateway, "ledger", "verify")
    assert tampered.returncode == 1 and "entry 2 was deleted" in tampered.stderr
    exported = json.loads(cli(gateway, "ledger", "export", "--format", "json").stdout)
    assert [e["seq"] for e in exported][:3] == [1, 3, 4]


def _disclose(gateway: GatewayProcess, times: int) -> None:
    for _ in range(times):
        assert get(gateway, "researcher", "/studies", JSON).status_code == 200


def test_a_redis_that_came_back_empty_fails_ledger_verify(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], redis_server: RedisServer
) -> None:
    gateway = start_gateway(orthanc.dicomweb_url, store_url=redis_server.url)
    _disclose(gateway, 3)
    assert cli(gateway, "ledger", "verify").returncode == 0
    redis_server.stop()  # and it comes back without its append-only file
    for leftover in redis_server.dir.iterdir():
        if leftover.name != "redis_server.log":
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    redis_server.start()
    _disclose(gateway, 4)  # a new chain begins, and verifies on its own
    lost = cli(gateway, "ledger", "verify")
    assert lost.returncode == 1, lost.stdout
    assert "ledger incomplete: entry 1 is not the one witnessed: the store lost its history" in lost.stderr
    assert '"kind":"ledger-lost"' in gateway.log_path.read_text()  # the replica said so when it happened


def test_the_gateway_refuses_a_ledger_redis_that_does_not_fsync_every_write(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], redis_server: RedisServer
) -> None:
    redis_server.command("CONFIG", "SET", "appendfsync", "everysec")
    with pytest.raises(RuntimeError, match="gateway exited early") as refused:
        start_gateway(orthanc.dicomweb_url, store_url=redis_server.url)
    assert "store.url: the ledger's Redis must fsync every write" in str(refused.value)
    assert "appendfsync always" in str(refused.value)


@pytest.mark.parametrize(
    ("left_there", "refusal"),
    [
        (("optouts", "MRN1", '{"added_at":"t","issuer":"","patient_id":"MRN1"}'),
         "governance.url: holds the governance records in the clear layout of an earlier version; run "
         "`dicomweb-gateway store migrate`"),
        (("keyring", "governance", Keyring(b"another-secret-0123456789").proposal("governance")),
         "governance.url: holds governance records sealed under another secret"),
    ],
    ids=["clear-layout", "another-secret"],
)
def test_the_gateway_refuses_a_governance_store_it_cannot_open(
    orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], redis_server: RedisServer,
    left_there: tuple[str, str, str], refusal: str,
) -> None:
    key, field, value = left_there
    redis_server.command("HSET", f"gwgov:{{g}}:{key}", field, value)
    with pytest.raises(RuntimeError, match="gateway exited early") as refused:
        start_gateway(orthanc.dicomweb_url, governance={"url": redis_server.url})
    assert refusal in str(refused.value)
    assert "MRN1" not in str(refused.value)
