"""The in-process layer of the adversarial suite: many more mutated cases, straight through each role's engine.

The property: `Withheld` is raised, or the bytes that go out carry no planted identifier in any encoding and no
real UID. Any other exception is a crash. Each failure prints (seed, index) and the mutation.
"""

from __future__ import annotations

import pathlib

import orjson
import pytest

from adversarial.engine_run import fast_path_check, run_json, run_part10
from adversarial.leaks import Scanner
from adversarial.mutations import json_case, part10_case
from adversarial.phantoms import phantoms
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import load_profiles

ROLES_DIR = pathlib.Path(__file__).resolve().parents[2] / "conf" / "roles"
ROLES = ("researcher", "external", "ai-service")
CASES = {"part10": 400, "json": 400}  # per role, in CI; bench/fuzz_adversarial.py runs more
SLICES = 4  # each (role, layer) is split in slices so no single test runs long


@pytest.fixture(scope="module")
def engines() -> dict[str, Engine]:
    return {name: Engine(profile) for name, profile in load_profiles(ROLES_DIR).items()}


def check(engine: Engine, role: str, layer: str, seed: int, index: int) -> str | None:
    case = part10_case(seed, index) if layer == "part10" else json_case(seed, index)
    run = run_part10(engine, case.body) if layer == "part10" else run_json(engine, case.body)
    if run.crash:
        return f"{case} role={role}: crash {run.crash}"
    keys = Scanner.for_role(role).scan(run.output) if run.output is not None else set()
    if keys:
        return f"{case} role={role}: leak {','.join(sorted(keys))}"
    return None


@pytest.mark.parametrize("part", range(SLICES))
@pytest.mark.parametrize("layer", sorted(CASES))
@pytest.mark.parametrize("role", ROLES)
def test_engine_never_leaks(engines: dict[str, Engine], seed: int, role: str, layer: str, part: int) -> None:
    engine = engines[role]
    indices = range(part, CASES[layer], SLICES)
    failures = [f for index in indices if (f := check(engine, role, layer, seed, index))]
    assert not failures, f"{len(failures)} of {len(indices)} cases broke the property:\n" + "\n".join(failures[:30])


@pytest.mark.parametrize("part", range(SLICES))
@pytest.mark.parametrize("layer", sorted(CASES))
@pytest.mark.parametrize("role", ROLES)
def test_fast_paths_write_what_the_walk_writes(seed: int, role: str, layer: str, part: int) -> None:
    """The fast paths on the same cases: every instance the retrieve's compiled plan serves (`header_plan`) goes
    out byte for byte as the full engine writes it, or is withheld where the engine withholds it; every object a
    series' template serves (`object_plan`) goes out as the full walk writes it."""
    profile = load_profiles(ROLES_DIR)[role]
    full, planned = Engine(profile), Engine(profile)
    failures, served = [], 0
    for index in range(part, CASES[layer], SLICES):
        case = part10_case(seed, index) if layer == "part10" else json_case(seed, index)
        count, failure = fast_path_check(layer, full, planned, case)
        served += count
        if failure:
            failures.append(f"{case} role={role}: {failure}")
    assert not failures, f"{len(failures)} of {served} served cases differ:\n" + "\n".join(failures[:30])
    assert served > CASES[layer] // SLICES // 2  # the fast path serves most cases, or this tests little


@pytest.mark.parametrize("role", ROLES)
def test_unmutated_phantoms_are_clean(engines: dict[str, Engine], role: str) -> None:
    """The harness finds nothing in what the engine makes of the clean phantoms (so a failure is the mutation's)."""
    for phantom in phantoms().values():
        for run in (run_part10(engines[role], phantom.part10), run_json(engines[role], json_case_clean(phantom.json))):
            assert not run.crash
            assert run.output is None or not Scanner.for_role(role).scan(run.output), phantom.name


def json_case_clean(obj: dict) -> bytes:

    return orjson.dumps([obj])
