"""Issue 12: `dicomweb-gateway store migrate` and `store rekey`, run on real stores in front of the real Orthanc.

The migration starts from a store in the layout the code before issue 12 wrote (real values in clear), with a
mapping no derivation gives (as STOW left them), and the gateway must refuse to serve until it is migrated. The
rekey starts from a store the gateway itself filled, opt-out and ledger included.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from support import legacy_store
from support.gateway_server import REPO, GatewayProcess
from support.redis_server import RedisServer

from gateway.core.pseudonyms.model import IdKind
from gateway.core.roles import RoleBook
from gateway.demo.orthanc import OrthancProcess
from gateway.demo.samples import UID_ROOT

pytestmark = pytest.mark.integration
JSON = {"Accept": "application/dicom+json"}
NEW_SECRET = "the-new-secret-after-rotation-0123"
STORED_ELSEWHERE = "2.25.4242424242"


def store_cli(gateway: GatewayProcess, action: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "store", action, "--config", str(gateway.config_path)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**os.environ, "GATEWAY_SECRET": gateway.secret, **env},
    )  # fmt: skip


def studies(gateway: GatewayProcess, role: str) -> requests.Response:
    return requests.get(gateway.dicomweb_url + "/studies", headers={**gateway.headers(role), **JSON}, timeout=30)


def study_uids(gateway: GatewayProcess, role: str) -> set[str]:
    answer = studies(gateway, role)
    assert answer.status_code == 200, answer.status_code
    return {study["0020000D"]["Value"][0] for study in answer.json()}


def real_studies(orthanc: OrthancProcess) -> list[str]:
    answer = requests.get(orthanc.dicomweb_url + "/studies", headers=JSON, timeout=30).json()
    return sorted(study["0020000D"]["Value"][0] for study in answer)


@pytest.mark.parametrize("back_end", ["sqlite", "redis"])
def test_migrate_moves_an_old_store_and_every_pseudonym_resolves_as_before(
    back_end: str, orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], redis_server: RedisServer,
    tmp_path: Path,
) -> None:  # fmt: skip
    role = RoleBook.load(REPO / "conf" / "roles").get("researcher")
    assert role is not None and role.profile.scope is not None
    scope = role.profile.scope
    reals = real_studies(orthanc)
    # Pseudonyms no derivation gives, as STOW or a collision left them: only the migrated rows can know them.
    rows: list[legacy_store.Row] = [(scope, IdKind.UID, uid, f"{STORED_ELSEWHERE}{i}") for i, uid in enumerate(reals)]
    if back_end == "redis":
        legacy_store.write_redis(redis_server, rows)
        store_url = redis_server.url
    else:
        legacy_store.write_sqlite(tmp_path / "old.sqlite3", rows)
        store_url = f"sqlite:///{tmp_path / 'old.sqlite3'}"

    with pytest.raises(RuntimeError, match="store migrate"):
        start_gateway(orthanc.dicomweb_url, store_url)  # refuses to serve beside real values in clear
    (tmp_path / "cli").mkdir()
    refused = GatewayProcess(tmp_path / "cli", upstream_url=orthanc.dicomweb_url, store_url=store_url)
    migrated = store_cli(refused, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"uid {len(rows)}" in migrated.stdout

    gateway = start_gateway(orthanc.dicomweb_url, store_url)
    shown = study_uids(gateway, "researcher")
    assert shown and shown <= {pseudo for _, _, _, pseudo in rows}
    gateway.stop()
    dump = redis_server.dump() if back_end == "redis" else b"".join(p.read_bytes() for p in tmp_path.glob("old.*"))
    assert UID_ROOT.encode() not in dump


@pytest.mark.parametrize("back_end", ["sqlite", "redis"])
def test_rekey_keeps_every_pseudonym_and_opt_out_and_only_the_new_secret_opens(
    back_end: str, orthanc: OrthancProcess, start_gateway: Callable[..., GatewayProcess], redis_server: RedisServer,
) -> None:  # fmt: skip
    store_url = redis_server.url if back_end == "redis" else None
    gateway = start_gateway(orthanc.dicomweb_url, store_url)
    before = study_uids(gateway, "researcher")
    patient = requests.get(orthanc.dicomweb_url + "/studies", headers=JSON, timeout=30).json()[0]["00100020"]
    opted_out = requests.post(gateway.url + "/admin/optouts", headers=gateway.headers("admin"), timeout=30,
                              json={"PatientID": patient["Value"][0]})  # fmt: skip
    assert opted_out.status_code == 201
    remaining = study_uids(gateway, "researcher")
    assert remaining < before
    gateway.stop()

    rekeyed = store_cli(gateway, "rekey", GATEWAY_NEW_SECRET=NEW_SECRET)
    assert rekeyed.returncode == 0, rekeyed.stderr
    assert "wrapped under the new secret" in rekeyed.stdout

    with pytest.raises(RuntimeError, match="GATEWAY_SECRET does not open"):
        gateway.start()  # still the old secret: it opens nothing now, and says so rather than issue new pseudonyms
    gateway.secret = NEW_SECRET
    gateway.start()
    assert study_uids(gateway, "researcher") == remaining
    verified = store_cli(gateway, "migrate")  # nothing to move, and the store opens under the new secret
    assert verified.returncode == 0, verified.stderr
    gateway.stop()
    ledger = subprocess.run(
        [sys.executable, "-m", "gateway", "ledger", "verify", "--config", str(gateway.config_path)],
        capture_output=True, text=True, cwd=REPO, timeout=60, env={**os.environ, "GATEWAY_SECRET": NEW_SECRET},
    )  # fmt: skip
    assert ledger.returncode == 0, ledger.stderr
