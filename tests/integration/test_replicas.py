"""Issue 8, scaling out: three gateway processes share one Redis and one Orthanc, and see the same things.

    pseudonyms    every replica answers the same studies with the same pseudonymous UIDs and patient IDs,
                  and a pseudonym issued by one replica opens the study on another
    opt-outs      a withdrawal written to the shared store hides the patient on every replica within a second
    rule updates  an edited role profile in the shared store is live on every replica within a second

Opt-outs and profiles are written through the governance store (issue 7), as its CLI and admin page do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from support.gateway_server import REPO, SECRET, GatewayProcess
from support.redis_server import RedisServer

from gateway.adapters.backends import open_governance
from gateway.core.governance.model import OptOut
from gateway.core.governance.sealed import SealedGovernance
from gateway.core.keys import Keyring
from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED

JSON = {"Accept": "application/dicom+json"}
DICOM = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
REPLICAS = 3
PROPAGATION_S = 1.0  # opt-outs must hold on every replica within this

pytestmark = pytest.mark.integration


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.dir.mkdir()
    server.start()
    yield server
    server.close()


@pytest.fixture
def replicas(
    orthanc: OrthancProcess, redis: RedisServer, start_gateway: Callable[..., GatewayProcess]
) -> list[GatewayProcess]:
    return [start_gateway(orthanc.dicomweb_url, redis.url) for _ in range(REPLICAS)]


def studies(gateway: GatewayProcess, role: str = "researcher") -> list[dict]:
    response = requests.get(gateway.dicomweb_url + "/studies", headers={**gateway.headers(role), **JSON}, timeout=30)
    assert response.status_code == 200, response.status_code
    return response.json()


def identities(gateway: GatewayProcess, role: str = "researcher") -> set[tuple[str, str, str]]:
    """(patient ID, study UID, accession) as this replica shows them: all pseudonyms for a researcher."""
    return {
        (s["00100020"]["Value"][0], s["0020000D"]["Value"][0], s.get("00080050", {}).get("Value", [""])[0])
        for s in studies(gateway, role)
    }


def test_replicas_issue_identical_pseudonyms(replicas: list[GatewayProcess]) -> None:
    # Each replica meets the studies first in turn, racing the others to create the pseudonyms.
    seen = [identities(replica) for replica in replicas]
    assert len(seen[0]) >= 3
    assert seen[1] == seen[0] and seen[2] == seen[0]
    assert all(patient.startswith("RID-") for patient, _, _ in seen[0])
    for role in ("external",):
        assert identities(replicas[2], role) == identities(replicas[0], role) == identities(replicas[1], role)


def test_a_pseudonym_from_one_replica_opens_the_study_on_another(replicas: list[GatewayProcess]) -> None:
    study_uid = studies(replicas[0])[0]["0020000D"]["Value"][0]
    for replica in replicas[1:]:
        metadata = requests.get(
            f"{replica.dicomweb_url}/studies/{study_uid}/metadata",
            headers={**replica.headers("researcher"), **JSON},
            timeout=30,
        )
        assert metadata.status_code == 200
        assert {obj["0020000D"]["Value"][0] for obj in metadata.json()} == {study_uid}


def _until_all(replicas: list[GatewayProcess], condition: Callable[[GatewayProcess], bool]) -> float:
    """Seconds until `condition` holds on every replica; fails past twice the propagation bound."""
    started = time.monotonic()
    while time.monotonic() - started < 2 * PROPAGATION_S:
        if all(condition(replica) for replica in replicas):
            return time.monotonic() - started
        time.sleep(0.05)
    pytest.fail(f"not on every replica within {2 * PROPAGATION_S} s")


def _governance(redis: RedisServer, action: Callable) -> object:
    async def run() -> object:
        store = SealedGovernance(open_governance(redis.url), Keyring(SECRET.encode()))
        try:
            return await action(store)
        finally:
            await store.aclose()

    return asyncio.run(run())


def test_an_opt_out_holds_on_every_replica(replicas: list[GatewayProcess], redis: RedisServer) -> None:
    before = [len(studies(replica)) for replica in replicas]
    assert before[0] == before[1] == before[2]
    optout = OptOut(PLANTED["id.patient_a"], PLANTED["id.patient_a_issuer"], datetime.now(UTC).isoformat())
    _governance(redis, lambda store: store.add_optout(optout))
    took = _until_all(replicas, lambda replica: len(studies(replica)) == before[0] - 2)  # patient A: two studies
    assert took < PROPAGATION_S, took
    _governance(redis, lambda store: store.remove_optout(optout))
    _until_all(replicas, lambda replica: len(studies(replica)) == before[0])


RESEARCHER = REPO / "conf" / "roles" / "researcher.yaml"
WITHOUT_SEARCH = ("permissions: [search, retrieve]", "permissions: [retrieve]")


def _searches(replica: GatewayProcess) -> int:
    headers = {**replica.headers("researcher"), **JSON}
    return requests.get(replica.dicomweb_url + "/studies", headers=headers, timeout=30).status_code


def _put_profile(redis: RedisServer, text: str, version: int) -> None:
    now = datetime.now(UTC).isoformat()
    _governance(
        redis,
        lambda store: store.put_profile("researcher", text, actor="test", updated_at=now, expected_version=version),
    )


def test_an_edited_profile_is_live_on_every_replica(replicas: list[GatewayProcess], redis: RedisServer) -> None:
    original = RESEARCHER.read_text()
    assert WITHOUT_SEARCH[0] in original
    assert {_searches(replica) for replica in replicas} == {200}
    _put_profile(redis, original.replace(*WITHOUT_SEARCH), version=0)
    took = _until_all(replicas, lambda replica: _searches(replica) == 403)
    assert took < PROPAGATION_S, took


def test_a_permission_given_back_is_live_on_every_replica(replicas: list[GatewayProcess], redis: RedisServer) -> None:
    original = RESEARCHER.read_text()
    _put_profile(redis, original.replace(*WITHOUT_SEARCH), version=0)
    _until_all(replicas, lambda replica: _searches(replica) == 403)
    _put_profile(redis, original, version=1)
    _until_all(replicas, lambda replica: _searches(replica) == 200)
