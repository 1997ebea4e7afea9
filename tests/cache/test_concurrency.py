"""8 real processes see the same 1,000 new patients at the same moment: each patient gets one pseudonym.

Every process derives with its own secret, so their proposals all differ: only an atomic get-or-create makes
them agree. With a shared secret, derivation alone would make them agree and this test could not fail.
"""

from __future__ import annotations

import multiprocessing
import secrets
from collections import Counter
from pathlib import Path

import pytest

from gateway.cache.derive import Deriver
from gateway.cache.model import IdKind

from ._workers import SCOPE, sight_patients

PROCESSES = 8
PATIENTS = [f"PAT-{i:04d}" for i in range(1000)]


def race(url: str) -> tuple[list[dict[str, tuple[str, int]]], list[bytes]]:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    keys = [secrets.token_bytes(32) for _ in range(PROCESSES)]
    # Each process starts at a different patient, so first sightings collide in every order.
    orders = [PATIENTS[i * 125 :] + PATIENTS[: i * 125] for i in range(PROCESSES)]
    workers = [
        context.Process(target=sight_patients, args=(url, key, order, start, results))
        for key, order in zip(keys, orders, strict=True)
    ]
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
    return outcomes, keys


def winners(outcome: dict[str, tuple[str, int]], keys: list[bytes]) -> Counter[int]:
    """Which process's proposal became the value of record, per patient: evidence of a real race."""
    derivers = [Deriver(key) for key in keys]
    return Counter(
        next(i for i, d in enumerate(derivers) if d.derive(SCOPE, 1, IdKind.PATIENT, p) == pseudonym)
        for p, (pseudonym, _) in outcome.items()
    )


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["redis", "sqlite"])
def test_concurrent_first_sightings_get_one_pseudonym_per_patient(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "redis":
        url = request.getfixturevalue("redis_server").url
    else:
        url = f"sqlite://{tmp_path / 'pseudonyms.db'}"
    outcomes, keys = race(url)
    assert all(outcome == outcomes[0] for outcome in outcomes)  # one pseudonym and one shift per patient
    assert sorted(outcomes[0]) == PATIENTS
    assert len({pseudonym for pseudonym, _ in outcomes[0].values()}) == len(PATIENTS)
    print(f"{backend}: proposals of record by process: {sorted(winners(outcomes[0], keys).items())}")
