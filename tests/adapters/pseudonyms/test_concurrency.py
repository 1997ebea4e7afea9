"""8 real processes see the same new patients at the same moment: each patient gets one pseudonym, and no
pseudonym names two patients.

`record`: every process proposes its own random pseudonyms, so only first-writer-wins on the real value makes
them agree. `cramped`: pseudonyms of two characters, so first candidates collide and the processes race for the
same free pseudonyms; only first-writer-wins on the pseudonym keeps one pseudonym to one patient.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path

import pytest

from gateway.core.keys import Keyring
from gateway.core.pseudonyms.derive import derive
from gateway.core.pseudonyms.model import IdKind

from ._workers import CRAMPED, SECRET, sight_patients

PROCESSES = 8
PATIENTS = {"record": [f"PAT-{i:04d}" for i in range(1000)], "cramped": [f"PAT-{i:04d}" for i in range(300)]}


def race(url: str, mode: str) -> list[dict[str, tuple[str, int]]]:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    patients = PATIENTS[mode]
    step = len(patients) // PROCESSES
    # Each process starts at a different patient, so first sightings collide in every order.
    orders = [patients[i * step :] + patients[: i * step] for i in range(PROCESSES)]
    workers = [context.Process(target=sight_patients, args=(url, mode, order, start, results)) for order in orders]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=100) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    assert all(worker.exitcode == 0 for worker in workers)
    return outcomes


@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode", ["record", "cramped"])
@pytest.mark.parametrize("backend", ["redis", "sqlite"])
def test_concurrent_first_sightings_get_one_pseudonym_per_patient(
    backend: str, mode: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "redis":
        url = request.getfixturevalue("redis_server").url
    else:
        url = f"sqlite://{tmp_path / 'pseudonyms.db'}"
    outcomes = race(url, mode)
    assert all(outcome == outcomes[0] for outcome in outcomes)  # one pseudonym and one shift per patient
    assert sorted(outcomes[0]) == PATIENTS[mode]
    assert len({pseudonym for pseudonym, _ in outcomes[0].values()}) == len(PATIENTS[mode])
    if mode == "cramped":
        key = Keyring(SECRET).first_key("key-v1")
        first = Counter(derive(key, CRAMPED, IdKind.PATIENT, p) for p in PATIENTS[mode])
        collided = sum(count - 1 for count in first.values())
        assert collided > 10, collided  # the race really was over colliding candidates
        print(f"{backend}: {collided} patients lost their first candidate and took a later one")
