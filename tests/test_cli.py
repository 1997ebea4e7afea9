"""The CLI contract: `check-config` names the file, the key and the reason; `serve` refuses to run without a secret."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from support.redis_server import free_port

from gateway.cli import main
from gateway.demo.orthanc import OrthancProcess
from gateway.demo.planted import PLANTED

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


# -- optout: every documented argument order, and what the origin holds of the patient --------------------
PATIENT_A, ISSUER_A = PLANTED["id.patient_a"], PLANTED["id.patient_a_issuer"]


def _governance_config(tmp_path: Path, upstream_url: str) -> str:
    store = {"url": f"sqlite:///{tmp_path / 'pseudonyms.sqlite3'}"}
    config = _config(tmp_path, REPO / "conf" / "roles", store=store, upstream={"url": upstream_url, "timeout_s": 5})
    return str(config)


def _listed(config: str, capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
    capsys.readouterr()
    assert main(["optout", "list", "--config", config]) == 0
    return [line.split("\t")[:2] for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(
    "order",
    [
        ["add", "--config", "{c}", "MRN1"],
        ["add", "MRN1", "--config", "{c}"],
        ["add", "--config", "{c}", "--issuer", "H", "MRN1"],
        ["add", "--issuer", "H", "MRN1", "--config", "{c}"],
        ["add", "MRN1", "--issuer", "H", "--config", "{c}"],
    ],
)
def test_optout_takes_its_options_before_or_after_the_patient_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], order: list[str]
) -> None:
    config = _governance_config(tmp_path, f"http://127.0.0.1:{free_port()}/dicom-web")
    assert main(["optout", *(arg.format(c=config) for arg in order)]) == 0
    issuer = "H" if "--issuer" in order else ""
    assert _listed(config, capsys) == [["MRN1", issuer]]
    removal = ["remove", "MRN1", "--config", config] + (["--issuer", issuer] if issuer else [])
    assert main(["optout", *removal]) == 0
    assert "opt-out removed: 1 patient" in capsys.readouterr().out
    assert _listed(config, capsys) == []


def test_optout_without_patient_id_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _governance_config(tmp_path, f"http://127.0.0.1:{free_port()}/dicom-web")
    with pytest.raises(SystemExit) as exited:
        main(["optout", "add", "--config", config])
    assert exited.value.code == 2 and "PATIENT_ID" in capsys.readouterr().err


def test_optout_add_with_the_origin_unreachable_warns_and_still_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _governance_config(tmp_path, f"http://127.0.0.1:{free_port()}/dicom-web")
    assert main(["optout", "add", "--config", config, "MRN1"]) == 0
    said = capsys.readouterr()
    assert "opted out: 1 patient; warning: the origin could not be asked" in said.err
    assert "the withdrawal feed was not written" in said.err
    assert _listed(config, capsys) == [["MRN1", ""]]


@pytest.mark.parametrize(
    ("patient", "issuer", "held"),
    [(PATIENT_A, "", "all"), (PATIENT_A, ISSUER_A, "all"), (PATIENT_A, "ANOTHER-ISSUER", 0), ("NOSUCH-7", "", 0)],
)
def test_optout_add_reports_how_many_studies_the_origin_holds(
    orthanc: OrthancProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str], patient: str, issuer: str,
    held: int | str,
) -> None:
    direct = requests.get(orthanc.dicomweb_url + "/studies", params={"PatientID": PATIENT_A}, timeout=10).json()
    expected = len(direct) if held == "all" else held
    config = _governance_config(tmp_path, orthanc.dicomweb_url)
    assert main(["optout", "add", "--config", config, patient, *(["--issuer", issuer] if issuer else [])]) == 0
    said = capsys.readouterr()
    if expected:
        assert said.out.splitlines()[0] == f"opted out: 1 patient; the origin holds {expected} studies of this patient"
    else:
        assert "opted out: 1 patient; warning: the origin holds no study of this patient" in said.err
    assert patient not in said.out + said.err  # the report never repeats the identifier
    assert "withdrawal feed: no scope was given data" in said.out  # a fresh store has disclosed nothing


@pytest.mark.parametrize("verb", [["ledger", "verify"], ["optout", "list"], ["ledger", "export"]])
def test_governance_verbs_under_another_secret_fail_closed_with_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, verb: list[str]
) -> None:
    config = _governance_config(tmp_path, f"http://127.0.0.1:{free_port()}/dicom-web")
    monkeypatch.setenv("GATEWAY_SECRET", "a" * 32)
    main(["optout", "add", "--config", config, "MRN-PLANTED-1"])
    monkeypatch.setenv("GATEWAY_SECRET", "b" * 32)
    capsys.readouterr()
    assert main([*verb, "--config", config]) == 4
    said = capsys.readouterr()
    assert said.err == f"{verb[0]} failed: the gateway's store was sealed under another secret; check GATEWAY_SECRET\n"
    assert "MRN-PLANTED-1" not in said.out + said.err
