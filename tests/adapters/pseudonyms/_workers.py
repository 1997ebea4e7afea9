"""Code that runs in the spawned gateway-like processes of the concurrency test."""

from __future__ import annotations

import asyncio
import secrets
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from gateway.adapters.backends import open_store
from gateway.core.keys import Keyring
from gateway.core.pseudonyms.model import IdKind, Needs, PseudonymScheme, ScopeSpec

SECRET = b"concurrency-test-secret-0123456789"
SCOPE = ScopeSpec("race", reversible=True)
# Two characters of 32: 1,024 pseudonyms for a few hundred patients, so first candidates collide often.
CRAMPED = ScopeSpec("cramped-race", reversible=True, scheme=PseudonymScheme(patient_prefix="R", patient_length=2))


def sighting(patient: str) -> Needs:
    needs = Needs()
    needs.add(IdKind.PATIENT, patient)
    needs.add(IdKind.DATE_SHIFT, patient)
    return needs


def sight_patients(url: str, mode: str, patients: list[str], start: Barrier, results: Queue) -> None:
    results.put(asyncio.run(_sight(url, mode, patients, start)))


async def _sight(url: str, mode: str, patients: list[str], start: Barrier) -> dict[str, tuple[str, int]]:
    from gateway.core.pseudonyms.resolver import Resolver

    # A generous bound: this test is about atomicity, and 8 processes share 2 CPUs and one SQLite file.
    store = open_store(url, timeout=60)
    try:
        await store.ping()  # connect before the race, so the sightings start together
        resolver = Resolver(store, Keyring(SECRET), key_version=1)
        start.wait()
        if mode == "record":
            # Every process proposes its own random pseudonyms, as STOW records values made elsewhere: only
            # first-writer-wins on the real value makes the processes agree.
            proposals = {p: f"RID-{secrets.token_hex(8)}" for p in patients}
            recorded = await asyncio.gather(
                *(resolver.record(SCOPE, IdKind.PATIENT, {p: proposals[p]}) for p in patients)
            )
            return {p: (of_record[p], 0) for p, of_record in zip(patients, recorded, strict=True)}
        scope = CRAMPED if mode == "cramped" else SCOPE
        resolved = await asyncio.gather(*(resolver.resolve(scope, sighting(p)) for p in patients))
        return {
            p: (mappings.get(IdKind.PATIENT, p), mappings.date_shift(p))
            for p, mappings in zip(patients, resolved, strict=True)
        }
    finally:
        await store.aclose()
