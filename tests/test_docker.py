"""docker/: the compose file and the Dockerfile, checked without a Docker engine.

The compose file is validated against the Compose specification's JSON schema, vendored as
docker/compose-spec.json (from Debian bookworm's docker-compose 1.29.2 package, Apache-2.0), then checked for
what a schema cannot see: files it mounts exist, dependencies are healthy-checkable, the sample gateway
configuration loads with the gateway's own settings and role profiles, and OHIF points at the gateway.

No Dockerfile linter is installable here (hadolint is on neither our PyPI mirror nor Debian bookworm; the npm
`hadolint` package only wraps the binary), so the Dockerfile gets a structural check: pinned slim base on the
tests' Python version, non-root user, a healthcheck on /healthz, and the same install step as scripts/test.sh.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gateway.core.roles import RoleBook
from gateway.settings import Settings, settings_from_mapping

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
MOUNTED_CONFIG = "/etc/dicomweb-gateway/gateway.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def gateway_settings() -> Settings:
    raw = yaml.safe_load((DOCKER / "gateway.yaml").read_text())
    secret = _env_file(DOCKER / "gateway.env.example")["GATEWAY_SECRET"]
    return settings_from_mapping({**raw, "secret": secret}, source="docker/gateway.yaml")


def _env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


# --- compose --------------------------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    schema = json.loads((DOCKER / "compose-spec.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, errors


def test_the_schema_check_catches_mistakes(compose: dict[str, Any]) -> None:
    schema = json.loads((DOCKER / "compose-spec.json").read_text())
    broken = {**compose, "services": {**compose["services"], "redis": {"image": "redis", "helthcheck": {}}}}
    assert not jsonschema.Draft201909Validator(schema).is_valid(broken)


def test_compose_runs_orthanc_redis_the_gateway_and_ohif(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"orthanc", "redis", "gateway", "ohif"}
    assert services["orthanc"]["environment"]["DICOM_WEB_PLUGIN_ENABLED"] == "true"
    assert services["ohif"]["image"].startswith("ohif/app:")
    pinned = [service["image"] for service in services.values() if "build" not in service]
    assert all(re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest") for image in pinned), pinned


def test_compose_references_resolve(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            if condition["condition"] == "service_healthy":
                has_check = "healthcheck" in services[dependency] or "build" in services[dependency]
                assert has_check, f"{name} waits for {dependency} to be healthy, which has no healthcheck"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DOCKER / source).is_file(), (name, source)
            else:
                assert source in compose["volumes"], (name, source)
    gateway = services["gateway"]
    assert (DOCKER / gateway["build"]["context"] / gateway["build"]["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    assert f"./gateway.yaml:{MOUNTED_CONFIG}:ro" in gateway["volumes"]


def test_the_secret_comes_from_an_env_file_kept_out_of_git(compose: dict[str, Any]) -> None:
    env_file = compose["services"]["gateway"]["env_file"]
    assert "GATEWAY_SECRET" in _env_file(DOCKER / f"{env_file}.example")
    assert env_file in (DOCKER / ".gitignore").read_text().split()
    assert "GATEWAY_SECRET" not in json.dumps(compose["services"]["gateway"].get("environment", {}))


def test_sample_config_loads_and_names_known_roles(compose: dict[str, Any], gateway_settings: Settings) -> None:
    assert gateway_settings.upstream.url.startswith("http://orthanc:8042/")
    assert gateway_settings.store.url.startswith("redis://redis:")
    assert gateway_settings.roles_dir == Path("/app/conf/roles")  # conf/roles, copied by the Dockerfile
    roles = RoleBook.load(REPO / "conf" / "roles").names()
    assert set(gateway_settings.auth.api_keys.values()) <= set(roles)
    published = [p.split(":") for p in compose["services"]["gateway"]["ports"]]
    assert [gateway_settings.listen.port] == [int(p[-1]) for p in published]


def test_ohif_points_at_the_gateway_with_a_configured_key(compose: dict[str, Any], gateway_settings: Settings) -> None:
    config = (DOCKER / "ohif" / "app-config.js").read_text()
    gateway_port = compose["services"]["gateway"]["ports"][0].split(":")[0]
    ohif_port = compose["services"]["ohif"]["ports"][0].split(":")[0]
    assert f"const dicomWebRoot = 'http://localhost:{gateway_port}/dicom-web';" in config
    key = re.search(r"const apiKey = '([^']+)';", config)
    assert key is not None and key.group(1) in gateway_settings.auth.api_keys
    assert f"http://localhost:{ohif_port}" in gateway_settings.cors.allow_origins


# --- Dockerfile -----------------------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (DOCKER / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def test_dockerfile_bases_are_slim_and_on_the_tests_python() -> None:
    bases = [args.split()[0] for name, args in _instructions() if name == "FROM"]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert bases and all(re.fullmatch(rf"python:{re.escape(version)}-slim-\w+", base) for base in bases), bases


def test_dockerfile_runs_as_non_root() -> None:
    users = [args for name, args in _final_stage() if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_healthcheck_probes_healthz_on_the_configured_port(gateway_settings: Settings) -> None:
    checks = [args for name, args in _final_stage() if name == "HEALTHCHECK"]
    assert len(checks) == 1
    assert f"http://127.0.0.1:{gateway_settings.listen.port}/healthz" in checks[0]
    assert f"EXPOSE {gateway_settings.listen.port}" in [f"{n} {a}" for n, a in _final_stage()]


def test_dockerfile_serves_the_config_compose_mounts() -> None:
    cmd = json.loads(next(args for name, args in _final_stage() if name == "CMD"))
    assert cmd == ["serve", "--config", MOUNTED_CONFIG]


def test_dockerfile_copies_only_what_the_dockerignore_lets_through() -> None:
    allowed = [line.strip("!/") for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()]
    for name, args in _instructions():
        if name == "COPY" and "--from=" not in args:
            for source in args.split()[:-1]:
                assert (REPO / source).exists(), source
                assert source.strip("/") in allowed, f"{source} is excluded from the build context"


def _pip_install(command: str) -> tuple[str, ...]:
    """`pip install` and its target, without the flags that do not change what gets installed."""
    words = shlex.split(command)
    start = next(i for i, word in enumerate(words) if word == "pip" and words[i + 1] == "install")
    quiet_or_editable = {"-q", "--quiet", "-e", "--editable", "--no-cache-dir"}
    rest = [word for word in words[start + 2 :] if word not in quiet_or_editable]
    return ("pip", "install", *(re.sub(r"\[test\]$", "", word) for word in rest))


def test_dockerfile_installs_the_package_exactly_as_the_tests_do() -> None:
    runs = [args for name, args in _instructions() if name == "RUN" and "pip install" in args]
    script = (REPO / "scripts" / "setup.sh").read_text()  # test.sh and demo.sh share this set-up
    tests = [line for line in script.splitlines() if "pip install" in line and not line.lstrip().startswith("#")]
    assert len(runs) == 1 and len(tests) == 1, (runs, tests)
    # The only differences allowed: the tests install editable (-e) with the [test] extra, quietly (-q).
    assert _pip_install(runs[0]) == _pip_install(tests[0]) == ("pip", "install", ".")


def test_the_ledgers_redis_fsyncs_every_write_and_the_witness_has_a_volume(
    compose: dict[str, Any], gateway_settings: Settings
) -> None:
    command = compose["services"]["redis"]["command"]
    assert command[command.index("--appendfsync") + 1] == "always"  # the gateway refuses anything else
    assert command[command.index("--appendonly") + 1] == "yes"
    witness = gateway_settings.governance.witness_path
    assert witness is not None and witness.parent == Path("/var/lib/dicomweb-gateway")
    assert "gateway-ledger:/var/lib/dicomweb-gateway" in compose["services"]["gateway"]["volumes"]
