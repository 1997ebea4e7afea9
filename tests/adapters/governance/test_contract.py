"""One contract for both governance stores: opt-outs, edited profiles, and the hash-chained ledger, kept sealed."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from gateway.core.dicom import patient_key
from gateway.core.governance.admin_actions import verify_ledger
from gateway.core.governance.chain import Verdict, verify
from gateway.core.governance.model import Draft, LedgerEntry, OptOut, Versions
from gateway.core.governance.sealed import SealedGovernance
from gateway.core.governance.store import GovernanceStore
from gateway.core.keys import Keyring
from gateway.errors import GovernanceUnavailable, KeyMismatch, VersionConflict

from .conftest import SECRET, Backend, sealed


def draft(n: int, actor: str = "key:abc") -> Draft:
    return Draft(actor, "researcher", "disclose", f"2026-01-01T00:00:{n % 60:02d}Z", "researcher", "v1",
                 {"studies": [f"1.2.3.{n}"]}, {"studies": [f"2.25.{n}"]}, {"transaction": "retrieve_study"})


async def test_a_new_store_is_empty(store: GovernanceStore) -> None:
    assert await store.versions() == Versions(0, 0)
    assert await store.optouts() == [] and await store.profiles() == {} and await store.entries() == []
    assert verify(await store.entries(), await store.head()).ok


async def test_optouts_add_remove_and_count_changes(store: GovernanceStore) -> None:
    a, b = OptOut("MRN1", "HOSP", "2026-01-01T00:00:00Z"), OptOut("MRN2", "", "2026-01-01T00:00:01Z")
    assert await store.add_optout(a) and await store.add_optout(b)
    assert not await store.add_optout(a)  # already registered: no change, no new version
    assert (await store.versions()).optouts == 2
    assert [o.key for o in await store.optouts()] == ["HOSP\\MRN1", "MRN2"]
    assert await store.remove_optout(a) and not await store.remove_optout(a)
    assert [o.key for o in await store.optouts()] == ["MRN2"]
    assert (await store.versions()).optouts == 3


async def test_profiles_are_versioned_per_role_with_compare_and_set(store: GovernanceStore) -> None:
    first = await store.put_profile("researcher", "a: 1\n", actor="x", updated_at="t1", expected_version=0)
    second = await store.put_profile("researcher", "a: 2\n", actor="y", updated_at="t2", expected_version=1)
    other = await store.put_profile("external", "b: 1\n", actor="x", updated_at="t3", expected_version=None)
    assert (first.version, second.version, other.version) == (1, 2, 1)
    with pytest.raises(VersionConflict):
        await store.put_profile("researcher", "a: 3\n", actor="z", updated_at="t4", expected_version=1)
    profiles = await store.profiles()
    assert profiles["researcher"].text == "a: 2\n" and profiles["researcher"].version == 2
    assert profiles["researcher"].actor == "y" and profiles["external"].text == "b: 1\n"
    assert (await store.versions()).profiles == 3


async def test_ledger_appends_a_verifiable_chain(store: GovernanceStore) -> None:
    entries = [await store.append(draft(n)) for n in range(5)]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(later.prev == earlier.hash for earlier, later in itertools.pairwise(entries))
    stored = await store.entries()
    assert stored == entries and (await store.head()).hash == entries[-1].hash
    assert await store.entries(after=2, limit=2) == entries[2:4]
    assert stored[0].body["real"] == {"studies": ["1.2.3.0"]}
    assert stored[0].body["pseudonymous"] == {"studies": ["2.25.0"]}
    assert verify(stored, await store.head()).ok


async def test_concurrent_appends_from_two_clients_keep_one_chain(backend: Backend) -> None:
    # The subject is the chain, not latency: each call's budget also covers queueing behind 19 other appends,
    # which on a loaded machine can pass the default 1 s.
    one, two = sealed(backend.open(timeout=10)), sealed(backend.open(timeout=10))
    try:
        await asyncio.gather(*(s.append(draft(n, "one" if s is one else "two")) for n in range(20) for s in (one, two)))
        entries = await one.entries()
        assert [e.seq for e in entries] == list(range(1, 41))
        assert verify(entries, await two.head()).ok
    finally:
        await one.aclose()
        await two.aclose()


@pytest.mark.parametrize("tamper", ["change", "delete"])
async def test_a_tampered_entry_is_named(backend: Backend, store: GovernanceStore, tamper: str) -> None:
    for n in range(6):
        await store.append(draft(n))
    (backend.change_entry if tamper == "change" else backend.delete_entry)(3)
    verdict = verify(await store.entries(), await store.head())
    assert not verdict.ok and verdict.bad_seq == 3
    assert "entry 3" in verdict.describe()


async def test_a_deleted_last_entry_is_named(backend: Backend, store: GovernanceStore) -> None:
    for n in range(4):
        await store.append(draft(n))
    backend.delete_entry(4)
    verdict = verify(await store.entries(), await store.head())
    assert verdict.bad_seq == 4 and "deleted" in verdict.problem


async def test_an_append_whose_caller_gave_up_does_not_break_the_chain(store: GovernanceStore) -> None:
    abandoned = asyncio.create_task(store.append(draft(0)))
    await asyncio.sleep(0)  # queued or in flight, depending on the back end
    abandoned.cancel()
    kept = await asyncio.gather(*(store.append(draft(n)) for n in range(1, 6)))
    entries = await store.entries()
    assert all(entry in entries for entry in kept) and len(entries) in (5, 6)
    assert verify(entries, await store.head()).ok


async def test_an_unreachable_store_is_unavailable_within_its_timeout(backend: Backend, tmp_path) -> None:
    if backend.name == "sqlite":
        store = sealed(type(backend.open())(str(tmp_path / "dir-that-is-a-file"), timeout=0.5))
        (tmp_path / "dir-that-is-a-file").mkdir()  # a directory where the database file should be
    else:
        backend.server.stop()  # type: ignore[attr-defined]
        store = sealed(backend.open(timeout=0.5))
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(GovernanceUnavailable):
            await store.versions()
        with pytest.raises(GovernanceUnavailable):
            await store.append(draft(1))
        assert loop.time() - started < 2.0
    finally:
        await store.aclose()


# -- a store that lost what it had written: only the witness, kept outside it, can tell ----------------------
async def _verdict(store: GovernanceStore) -> Verdict:
    return verify(await store.entries(), await store.head(), await store.witnessed())


async def test_the_witness_follows_the_head(store: GovernanceStore) -> None:
    assert await store.witnessed() is None
    entries = [await store.append(draft(n)) for n in range(3)]
    witnessed = await store.witnessed()
    assert witnessed is not None and (witnessed.seq, witnessed.hash, witnessed.genesis) == (
        3, entries[-1].hash, entries[0].hash)
    assert (await store.head()).genesis == entries[0].hash
    assert (await _verdict(store)).describe() == "ledger intact: 3 entries, hash chain verified"


@pytest.mark.parametrize("appended_since", [0, 2, 6])
async def test_a_store_that_came_back_empty_is_named(backend: Backend, appended_since: int) -> None:
    store = sealed(backend.open())
    for n in range(4):
        await store.append(draft(n))
    await store.aclose()
    backend.lose_everything()
    store = sealed(backend.open())
    try:
        for n in range(appended_since):  # the next disclosures begin a new chain, which verifies on its own
            await store.append(draft(n))
        assert verify(await store.entries(), await store.head()).ok
        verdict = await _verdict(store)
        assert not verdict.ok and verdict.bad_seq == 1 and verdict.damage == "incomplete"
        assert ("lost its history and began a new chain" if appended_since else "lost its whole history") in (
            verdict.describe())
        assert "its witness recorded 4 entries" in verdict.describe()
    finally:
        await store.aclose()


async def test_a_store_that_lost_its_tail_is_named(backend: Backend, store: GovernanceStore) -> None:
    for n in range(6):
        await store.append(draft(n))
    backend.roll_back(2)  # entries 5 and 6 gone, and the store's own head agrees
    assert verify(await store.entries(), await store.head()).ok
    verdict = await _verdict(store)
    assert not verdict.ok and verdict.bad_seq == 5
    assert verdict.describe() == ("ledger incomplete: entry 5 is missing: the store lost its tail "
                                  "(its witness recorded 6 entries, it holds 4)")


# -- a copy of the store without the secret yields no real identifier --------------------------------------------
PLANTED_PATIENTS = (("MRN-PLANTED-4471953", "ISSUER-PLANTED-STBRIGID"), ("MRN-PLANTED-0088123", ""))
PLANTED_UIDS = ("1.2.826.0.1.3680043.10.999.1", "1.2.826.0.1.3680043.10.999.1.2", "1.2.826.0.1.3680043.10.999.1.2.3")


def planted_draft(n: int) -> Draft:
    """A disclosure of the planted study, or an admin action about a planted patient, as the gateway records them."""
    if n % 2:
        patient_id, issuer = PLANTED_PATIENTS[n // 2 % 2]
        return Draft("admin:root", "admin", "admin.optouts.add", f"2026-01-01T00:01:{n:02d}Z",
                     real={"patients": [f"{issuer}\\{patient_id}" if issuer else patient_id]},
                     detail={"method": "POST", "status": "201"})
    study, series, instance = PLANTED_UIDS
    return Draft("key:abc", "researcher", "disclose", f"2026-01-01T00:01:{n:02d}Z", "researcher", "v1",
                 {"studies": [study], "series": [series], "instances": [instance]},
                 {"studies": ["2.25.1"], "series": ["2.25.2"], "instances": ["2.25.3"]}, {"transaction": "retrieve"})


def planted_values() -> list[str]:
    return [value for pair in PLANTED_PATIENTS for value in pair if value] + list(PLANTED_UIDS)


async def test_a_dump_of_the_store_holds_no_real_identifier(backend: Backend, store: GovernanceStore) -> None:
    for n, (patient_id, issuer) in enumerate(PLANTED_PATIENTS):
        await store.add_optout(OptOut(patient_id, issuer, f"2026-01-01T00:00:0{n}Z"))
    for n in range(4):
        await store.append(planted_draft(n))
    dump = backend.dump()
    assert [value for value in planted_values() if value.encode() in dump] == []


# -- the keyring: a new secret rewraps it; another secret opens nothing ----------------------------------------
OTHER_SECRET = b"another-governance-secret-987654321"


async def _fill(store: GovernanceStore) -> list[LedgerEntry]:
    for n, (patient_id, issuer) in enumerate(PLANTED_PATIENTS):
        await store.add_optout(OptOut(patient_id, issuer, f"2026-01-01T00:00:0{n}Z"))
    return [await store.append(planted_draft(n)) for n in range(4)]


async def test_a_rekeyed_store_opens_under_the_new_secret_and_only_under_it(backend: Backend) -> None:
    raw = backend.open()
    try:
        before = sealed(raw)
        entries, optouts = await _fill(before), await before.optouts()
        await raw.replace_wrapped_keys(Keyring(SECRET).rewrap(await raw.wrapped_keys(), Keyring(OTHER_SECRET)))
        after = sealed(raw, OTHER_SECRET)
        assert await after.optouts() == optouts and await after.entries() == entries
        withdrawn = await after.withdrawals(1)
        assert withdrawn.covers(patient_key(*PLANTED_PATIENTS[0])) and withdrawn.covers(
            patient_key(PLANTED_PATIENTS[1][0], "ANY-ISSUER"))
        assert (await verify_ledger(after)).ok
        with pytest.raises(KeyMismatch):
            await sealed(raw, SECRET).unlock()
    finally:
        await raw.aclose()


@pytest.mark.parametrize("call", ["optouts", "entries", "verify", "append", "withdrawals"])
async def test_another_secret_fails_closed_with_a_clear_error(backend: Backend, store: GovernanceStore,
                                                              call: str) -> None:
    await _fill(store)
    raw = backend.open()
    other = sealed(raw, OTHER_SECRET)
    calls = {"optouts": other.optouts, "entries": other.entries, "verify": lambda: verify_ledger(other),
             "append": lambda: other.append(draft(9)), "withdrawals": lambda: other.withdrawals(1)}
    try:
        with pytest.raises(KeyMismatch) as refused:
            await calls[call]()
        assert refused.value.public_message == KeyMismatch.public_message  # names no value, tells what to check
        assert not any(value in str(refused.value) for value in planted_values())
    finally:
        await raw.aclose()
    assert len(await store.entries()) == 4  # nothing was written under the other secret


async def test_an_entry_sealed_for_another_row_is_named_by_verify(backend: Backend, store: SealedGovernance) -> None:
    entries = [await store.append(planted_draft(n)) for n in range(4)]
    seal = await store.unlock()
    moved = seal.kept(entries[1]).body["real"]  # entry 2's real UIDs, sealed to entry 2
    third = seal.kept(entries[2])
    backend.replace_entry(LedgerEntry(3, third.prev, third.hash, {**third.body, "real": moved}))
    verdict = await verify_ledger(store)
    assert not verdict.ok and verdict.bad_seq == 3 and "does not match its hash" in verdict.problem
