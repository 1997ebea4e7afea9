"""`dicomweb-gateway demo`: a local Orthanc with sample studies, and the gateway in front of it.

Everything lives in one work directory, so a second run reuses the same secret, API keys and pseudonyms.
Ctrl-C stops the gateway and the Orthanc it started.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from gateway.demo.install import require_orthanc_installed
from gateway.demo.ohif import demo_viewer
from gateway.demo.orthanc import OrthancProcess
from gateway.demo.samples import sample_instances
from gateway.demo.seed import demo_roles, seed_in_background
from gateway.settings import Settings, settings_from_mapping

ROLES = ("clinician", "researcher", "external", "ai-service", "admin")
REPO_ROLES = Path(__file__).resolve().parents[2] / "conf" / "roles"


def run_demo(*, workdir: Path, port: int) -> int:
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    require_orthanc_installed()
    with OrthancProcess(workdir / "orthanc") as orthanc:
        for instance in sample_instances():
            orthanc.upload(instance)
        settings = _settings(workdir, port, orthanc.dicomweb_url)
        _announce(settings)
        keys = {role: key for key, role in settings.auth.api_keys.items()}
        seed_in_background(workdir, f"http://127.0.0.1:{port}", keys)
        with demo_viewer(f"http://127.0.0.1:{port}/dicom-web", keys["researcher"], role="researcher"):
            _serve(settings)
    return 0


def _kept(path: Path, make: str) -> str:
    """A value created on the first run and kept for the next ones (mode 600: it is key material)."""
    if not path.exists():
        path.write_text(make)
        os.chmod(path, 0o600)
    return path.read_text().strip()


def _settings(workdir: Path, port: int, upstream: str) -> Settings:
    secret = _kept(workdir / "secret", secrets.token_urlsafe(32))
    keys = _keys(workdir / "api-keys.json")
    raw = {
        "listen": {"host": "127.0.0.1", "port": port},
        "upstream": {"url": upstream, "timeout_s": 30},
        "store": {"url": f"sqlite:///{workdir / 'pseudonyms.sqlite3'}"},
        "secret": secret,
        "auth": {"api_keys": {key: role for role, key in keys.items()}},
        "roles_dir": str(demo_roles(workdir, REPO_ROLES)),
        "cors": {"allow_origins": ["*"]},
        "log_level": "WARNING",
    }
    return settings_from_mapping(raw, source=str(workdir / "demo"))


def _keys(path: Path) -> dict[str, str]:
    """One key per role, kept across runs; a role added since the last run (admin) gets its key now."""
    keys: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if any(role not in keys for role in ROLES):
        keys = {role: keys.get(role) or secrets.token_urlsafe(24) for role in ROLES}
        path.write_text(json.dumps(keys))
        os.chmod(path, 0o600)
    return keys


def _announce(settings: Settings) -> None:
    host = f"http://{settings.listen.host}:{settings.listen.port}"
    base = host + "/dicom-web"
    keys = {role: key for key, role in settings.auth.api_keys.items()}
    print(
        f"\nGateway: {base}\nConsole: {host}/admin/  (sign in with the admin key)\n\n"
        "API keys (Authorization: Bearer <key>):"
    )
    for role, key in keys.items():
        print(f"  {role:<11} {key}")
    print(
        "\nTry:\n"
        f"  curl -H 'Authorization: Bearer {keys['researcher']}' -H 'Accept: application/dicom+json' "
        f"'{base}/studies?includefield=00081030'\n"
        '  python -c "from dicomweb_client.api import DICOMwebClient; '
        f"c = DICOMwebClient('{base}', headers={{'Authorization': 'Bearer {keys['clinician']}'}}); "
        "print(len(c.search_for_studies()), 'studies')\"\n\nCtrl-C stops everything.\n",
        flush=True,
    )


def _serve(settings: Settings) -> None:
    from gateway.web.app import run

    run(settings)
