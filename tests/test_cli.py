"""The CLI contract: `check-config` names the file, the key and the reason; `serve` refuses to run without a secret."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=60
    )


def _config(tmp_path: Path, roles_dir: Path, **extra: object) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        yaml.safe_dump(
            {"secret": "s" * 32, "roles_dir": str(roles_dir), "auth": {"api_keys": {"k" * 20: "researcher"}}, **extra}
        )
    )
    return path


def test_check_config_accepts_the_shipped_roles(tmp_path: Path) -> None:
    result = _run("check-config", "--config", str(_config(tmp_path, REPO / "conf" / "roles")))
    assert result.returncode == 0, result.stderr
    assert "researcher" in result.stdout and "external" in result.stdout


def test_check_config_names_file_key_and_reason_of_a_broken_profile(tmp_path: Path) -> None:
    roles = tmp_path / "roles"
    shutil.copytree(REPO / "conf" / "roles", roles)
    broken = yaml.safe_load((roles / "researcher.yaml").read_text())
    broken["dates"] = "sometimes"
    (roles / "researcher.yaml").write_text(yaml.safe_dump(broken))
    result = _run("check-config", "--config", str(_config(tmp_path, roles)))
    assert result.returncode == 2
    assert "researcher.yaml" in result.stderr and "dates" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_rejects_a_key_bound_to_an_unknown_role(tmp_path: Path) -> None:
    config = _config(tmp_path, REPO / "conf" / "roles", auth={"api_keys": {"k" * 20: "nobody"}})
    result = _run("check-config", "--config", str(config))
    assert result.returncode == 2 and "auth.api_keys" in result.stderr and "nobody" in result.stderr


def test_serve_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml.safe_dump({"roles_dir": str(REPO / "conf" / "roles")}))
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_SECRET"}
    result = _run("serve", "--config", str(config), env=env)
    assert result.returncode == 2
    assert f"{config}: secret: required, and missing" in result.stderr


def test_a_bad_value_names_its_key(tmp_path: Path) -> None:
    config = _config(tmp_path, REPO / "conf" / "roles", upstream={"url": "ftp://pacs"})
    result = _run("check-config", "--config", str(config))
    assert result.returncode == 2 and "upstream.url" in result.stderr and "http" in result.stderr
