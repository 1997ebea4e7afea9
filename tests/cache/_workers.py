"""Code that runs in the spawned gateway-like processes of the concurrency test."""

from __future__ import annotations

import asyncio
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from gateway.cache.derive import Deriver
from gateway.cache.factory import open_store
from gateway.cache.model import IdKind, Needs, ScopeSpec

SCOPE = ScopeSpec("race", reversible=True)


def sighting(patient: str) -> Needs:
    needs = Needs()
    needs.add(IdKind.PATIENT, patient)
    needs.add(IdKind.DATE_SHIFT, patient)
    return needs


def sight_patients(url: str, secret: bytes, patients: list[str], start: Barrier, results: Queue) -> None:
    results.put(asyncio.run(_sight(url, secret, patients, start)))


async def _sight(url: str, secret: bytes, patients: list[str], start: Barrier) -> dict[str, tuple[str, int]]:
    from gateway.cache.resolver import Resolver

    # A generous bound: this test is about atomicity, and 8 processes share 2 CPUs and one SQLite file.
    store = open_store(url, timeout=60)
    try:
        await store.ping()  # connect before the race, so the sightings start together
        resolver = Resolver(store, Deriver(secret), key_version=1)
        start.wait()
        resolved = await asyncio.gather(*(resolver.resolve(SCOPE, sighting(p)) for p in patients))
        return {
            p: (mappings.get(IdKind.PATIENT, p), mappings.date_shift(p))
            for p, mappings in zip(patients, resolved, strict=True)
        }
    finally:
        await store.aclose()
