"""One contract, both back ends: every test here runs against SqliteStore and RedisStore."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support import legacy_store as legacy

from gateway.core.keys import Keyring
from gateway.core.pseudonyms.derive import derive
from gateway.core.pseudonyms.migration import has_legacy, migrate
from gateway.core.pseudonyms.model import IdKind, Needs, PseudonymScheme, ScopeSpec
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.pseudonyms.store import Claim, PseudonymStore
from gateway.errors import IrreversibleScope, KeyMismatch, PseudonymsExhausted

from .backends import Backend, RedisBackend, SqliteBackend

SECRET = b"contract-suite-secret-0123456789"
OTHER_SECRET = b"another-secret-for-the-rekey-0123"
RESEARCH = ScopeSpec("research", reversible=True)
ANONYMIZED = ScopeSpec("teaching", reversible=False)
# One character of 32: among a dozen patients, collisions are certain.
CRAMPED = PseudonymScheme(patient_prefix="R", patient_length=1)


def needs(**kinds: list[str]) -> Needs:
    result = Needs()
    for kind, reals in kinds.items():
        for real in reals:
            result.add(IdKind(kind), real)
    return result


def resolver(store: PseudonymStore, secret: bytes = SECRET, key_version: int = 1) -> Resolver:
    return Resolver(store, Keyring(secret), key_version)


def first_key(secret: bytes = SECRET, version: int = 1) -> bytes:
    return Keyring(secret).first_key(f"key-v{version}")


# Real values planted in every kind; none may appear in a dump of the store.
PLANTED = {
    "patient": ["PAT-PLANTED-4711", "山田^太郎-ID-0815"],
    "uid": ["1.2.826.0.1.3680043.8.498.4242.1", "1.2.826.0.1.3680043.8.498.4242.2"],
    "accession": ["ACC-PLANTED-99"],
    "study_id": ["STUDYID-PLANTED-7"],
    "date_shift": ["PAT-PLANTED-4711"],
}


# -- the claim protocol ------------------------------------------------------------------------------------


async def test_the_first_claim_of_a_value_wins_and_later_ones_read_it(store: PseudonymStore) -> None:
    assert await store.claim("s", [Claim(IdKind.PATIENT, "i1", "RID-A")]) == ["RID-A"]
    assert await store.claim("s", [Claim(IdKind.PATIENT, "i1", "RID-B")]) == ["RID-A"]


async def test_a_pseudonym_names_one_value_only(store: PseudonymStore) -> None:
    assert await store.claim("s", [Claim(IdKind.PATIENT, "i1", "RID-A", "sealed-1")]) == ["RID-A"]
    # Another value asking for the same pseudonym is told it is taken, and nothing is stored for it.
    assert await store.claim("s", [Claim(IdKind.PATIENT, "i2", "RID-A", "sealed-2")]) == [None]
    assert await store.reverse("s", IdKind.PATIENT, ["RID-A"]) == {"RID-A": "sealed-1"}
    assert await store.claim("s", [Claim(IdKind.PATIENT, "i2", "RID-C", "sealed-2")]) == ["RID-C"]


async def test_date_shifts_claim_no_pseudonym(store: PseudonymStore) -> None:
    shifts = [Claim(IdKind.DATE_SHIFT, "i1", "-12"), Claim(IdKind.DATE_SHIFT, "i2", "-12")]
    assert await store.claim("s", shifts) == ["-12", "-12"]  # many patients share one shift


async def test_a_batch_keeps_its_order_across_kinds(store: PseudonymStore) -> None:
    claims = [
        Claim(IdKind.UID, "u1", "2.25.1"),
        Claim(IdKind.PATIENT, "p1", "RID-A"),
        Claim(IdKind.UID, "u2", "2.25.2"),
        Claim(IdKind.ACCESSION, "a1", "ACC-1"),
        Claim(IdKind.STUDY_ID, "s1", "S-1"),
    ]
    assert await store.claim("s", claims) == ["2.25.1", "RID-A", "2.25.2", "ACC-1", "S-1"]


async def test_kinds_and_scopes_are_separate_namespaces(store: PseudonymStore) -> None:
    await store.claim("a", [Claim(IdKind.ACCESSION, "x", "ACC-A")])
    assert await store.claim("b", [Claim(IdKind.ACCESSION, "x", "ACC-B")]) == ["ACC-B"]
    assert await store.claim("a", [Claim(IdKind.STUDY_ID, "x", "S-A")]) == ["S-A"]
    # Braces would end a Redis Cluster hash tag early; the name must still be its own scope.
    assert await store.claim("a}{b", [Claim(IdKind.ACCESSION, "x", "ACC-C")]) == ["ACC-C"]


async def test_scope_key_version_and_wrapped_keys_are_get_or_create(store: PseudonymStore) -> None:
    assert await store.scope_key_version("s", 1) == 1
    assert await store.scope_key_version("s", 2) == 1
    assert await store.scope_key_version("new", 2) == 2
    assert await store.wrapped_key("key-v1", "first") == "first"
    assert await store.wrapped_key("key-v1", "second") == "first"
    await store.replace_wrapped_keys({"key-v1": "rewrapped"})
    assert await store.wrapped_keys() == {"key-v1": "rewrapped"}


async def test_a_batch_is_one_round_trip(backend: Backend, store: PseudonymStore) -> None:
    await store.ping()  # connect (and, for Redis, say hello) before counting
    await store.claim("warm-up", [Claim(IdKind.UID, "1", "2")])
    claims = [Claim(IdKind.PATIENT, "p1", "RID-A"), Claim(IdKind.DATE_SHIFT, "p1", "-5")]
    claims += [Claim(IdKind.UID, f"u{i}", f"2.25.{i}", f"sealed-{i}") for i in range(500)]
    for _first_then_warm in range(2):
        before = backend.round_trips(store)
        await store.claim("s", claims)
        assert backend.round_trips(store) - before == 1
    before = backend.round_trips(store)
    assert len(await store.reverse("s", IdKind.UID, [f"2.25.{i}" for i in range(500)])) == 500
    assert backend.round_trips(store) - before == 1


async def test_a_restart_keeps_every_pseudonym(backend: Backend) -> None:
    claims = [Claim(IdKind.UID, f"u{i}", f"2.25.{i}", f"sealed-{i}") for i in range(50)]
    store = backend.open()
    await store.scope_key_version("s", 3)
    await store.claim("s", claims)
    await store.aclose()
    backend.restart_server()
    store = backend.open()
    try:
        again = [replace(claim, pseudonym="other") for claim in claims]
        assert await store.claim("s", again) == [claim.pseudonym for claim in claims]
        assert await store.reverse("s", IdKind.UID, ["2.25.7"]) == {"2.25.7": "sealed-7"}
        assert await store.scope_key_version("s", 4) == 3
    finally:
        await store.aclose()


# -- the resolver over the store -----------------------------------------------------------------------


async def test_reversible_scopes_reverse_every_identifier(store: PseudonymStore) -> None:
    asked = needs(patient=["P1"], uid=["1.2.3"], accession=["A1"], study_id=["S1"])
    mappings = await resolver(store).resolve(RESEARCH, asked)
    for kind, reals in asked.values.items():
        (real,) = reals
        pseudo = mappings.get(kind, real)
        assert await resolver(store).real_values(RESEARCH, kind, [pseudo, "never-issued"]) == {pseudo: real}


async def test_irreversible_scopes_keep_only_the_uid_routing_map(store: PseudonymStore) -> None:
    mappings = await resolver(store).resolve(ANONYMIZED, needs(patient=["P1"], uid=["1.2.3"], accession=["A1"]))
    pseudo_uid = mappings.get(IdKind.UID, "1.2.3")
    assert await resolver(store).real_values(ANONYMIZED, IdKind.UID, [pseudo_uid]) == {pseudo_uid: "1.2.3"}
    for kind in (IdKind.PATIENT, IdKind.ACCESSION, IdKind.STUDY_ID):
        with pytest.raises(IrreversibleScope) as raised:
            await resolver(store).real_values(ANONYMIZED, kind, ["anything"])
        assert raised.value.status == 409
    # Not even the store has it: the patient's claim holds no sealed value to open.
    patient = mappings.get(IdKind.PATIENT, "P1")
    assert await store.reverse(ANONYMIZED.name, IdKind.PATIENT, [patient]) == {}
    assert await store.reverse(ANONYMIZED.name, IdKind.ACCESSION, [mappings.get(IdKind.ACCESSION, "A1")]) == {}


async def test_derived_values_are_the_ones_before_the_keyring(store: PseudonymStore) -> None:
    """Candidate 0 under a fresh keyring is what the code before issue 12 derived: nothing changes."""
    mappings = await resolver(store).resolve(RESEARCH, needs(patient=["P1"], uid=["1.2.3"], date_shift=["P1"]))
    for kind, real in ((IdKind.PATIENT, "P1"), (IdKind.UID, "1.2.3"), (IdKind.DATE_SHIFT, "P1")):
        assert mappings.get(kind, real) == legacy.old_derive(SECRET, RESEARCH, kind, real)


async def test_a_new_key_version_applies_to_new_scopes_and_old_scopes_keep_resolving(
    store: PseudonymStore,
) -> None:
    before = await resolver(store, key_version=1).resolve(RESEARCH, needs(patient=["P1"], uid=["1.2.3"]))
    rotated = resolver(store, key_version=2)
    after = await rotated.resolve(RESEARCH, needs(patient=["P1", "P2"]))
    project_2 = ScopeSpec("project-2", reversible=True)
    new_scope = await rotated.resolve(project_2, needs(patient=["P1"]))
    assert after.get(IdKind.PATIENT, "P1") == before.get(IdKind.PATIENT, "P1")
    # The old scope keeps deriving with its own version, even for patients first seen after the rotation.
    assert after.get(IdKind.PATIENT, "P2") == derive(first_key(version=1), RESEARCH, IdKind.PATIENT, "P2")
    assert new_scope.get(IdKind.PATIENT, "P1") == derive(first_key(version=2), project_2, IdKind.PATIENT, "P1")
    pseudo_uid = before.get(IdKind.UID, "1.2.3")
    assert await rotated.real_values(RESEARCH, IdKind.UID, [pseudo_uid]) == {pseudo_uid: "1.2.3"}
    assert set(await store.wrapped_keys()) == {"key-v1", "key-v2"}


async def test_stored_values_win_over_derived_ones(store: PseudonymStore) -> None:
    resolve = resolver(store)
    # STOW of an instance an AI service made: its UID is kept as it is, and must then resolve to itself.
    assert await resolve.record(RESEARCH, IdKind.UID, {"2.25.77": "2.25.77"}) == {"2.25.77": "2.25.77"}
    mappings = await resolve.resolve(RESEARCH, needs(uid=["2.25.77", "1.2.3"]))
    assert mappings.get(IdKind.UID, "2.25.77") == "2.25.77"
    assert mappings.get(IdKind.UID, "1.2.3") != "1.2.3"
    assert await resolve.record(RESEARCH, IdKind.UID, {"1.2.3": "1.2.3"}) == {
        "1.2.3": mappings.get(IdKind.UID, "1.2.3")
    }
    assert await resolve.real_values(RESEARCH, IdKind.UID, ["2.25.77"]) == {"2.25.77": "2.25.77"}


async def test_a_recorded_value_never_takes_a_pseudonym_another_value_holds(store: PseudonymStore) -> None:
    resolve = resolver(store)
    taken = (await resolve.resolve(RESEARCH, needs(uid=["1.2.3"]))).get(IdKind.UID, "1.2.3")
    # An AI service minted, by chance or malice, the UID the gateway gave 1.2.3; storing it must not make that
    # pseudonym name a second value.
    recorded = await resolve.record(RESEARCH, IdKind.UID, {taken: taken})
    assert recorded[taken] != taken
    assert await resolve.real_values(RESEARCH, IdKind.UID, [taken]) == {taken: "1.2.3"}
    assert await resolve.real_values(RESEARCH, IdKind.UID, [recorded[taken]]) == {recorded[taken]: taken}


async def test_the_resolver_makes_no_store_call_for_empty_needs(backend: Backend, store: PseudonymStore) -> None:
    await store.ping()
    before = backend.round_trips(store)
    assert (await resolver(store).resolve(RESEARCH, Needs())).values == {}
    assert backend.round_trips(store) == before


# -- collisions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", [ScopeSpec("cramped", True, CRAMPED), ScopeSpec("cramped-anon", False, CRAMPED)])
async def test_colliding_candidates_give_each_patient_its_own_pseudonym(
    store: PseudonymStore, scope: ScopeSpec
) -> None:
    patients = [f"P{i}" for i in range(16)]
    first = [derive(first_key(), scope, IdKind.PATIENT, p) for p in patients]
    assert len(set(first)) < len(patients)  # the test is only worth something if candidates collide
    mappings = await resolver(store).resolve(scope, needs(patient=patients))
    pseudonyms = {p: mappings.get(IdKind.PATIENT, p) for p in patients}
    assert len(set(pseudonyms.values())) == len(patients)
    # The same on a second resolver (another replica), in another order, one patient at a time.
    other = resolver(store)
    for patient in reversed(patients):
        assert (await other.resolve(scope, needs(patient=[patient]))).get(IdKind.PATIENT, patient) == pseudonyms[
            patient
        ]
    if scope.reversible:  # and the reverse names the right patient: STOW files results under the right one
        assert await other.real_values(scope, IdKind.PATIENT, list(pseudonyms.values())) == {
            pseudo: patient for patient, pseudo in pseudonyms.items()
        }


async def test_the_loser_of_a_collision_takes_its_next_derived_candidate(store: PseudonymStore) -> None:
    scope = ScopeSpec("cramped", True, CRAMPED)
    first = {p: derive(first_key(), scope, IdKind.PATIENT, p) for p in (f"P{i}" for i in range(16))}
    a, b = next((p, q) for p in first for q in first if p < q and first[p] == first[q])
    got_a = (await resolver(store).resolve(scope, needs(patient=[a]))).get(IdKind.PATIENT, a)
    got_b = (await resolver(store).resolve(scope, needs(patient=[b]))).get(IdKind.PATIENT, b)
    assert got_a == first[a]
    # Whoever comes second walks its own derived sequence, which every replica computes alike.
    sequence = (derive(first_key(), scope, IdKind.PATIENT, b, attempt) for attempt in range(1, 64))
    assert got_b == next(candidate for candidate in sequence if candidate != got_a)


async def test_a_scope_with_no_free_pseudonym_fails_closed(store: PseudonymStore) -> None:
    scope = ScopeSpec("full", True, CRAMPED)
    with pytest.raises(PseudonymsExhausted) as raised:
        await resolver(store).resolve(scope, needs(patient=[f"P{i}" for i in range(40)]))  # 40 into 32
    assert raised.value.status == 503


# -- nothing identifying in clear ------------------------------------------------------------------------


async def test_a_dump_of_the_store_holds_no_real_value(backend: Backend) -> None:
    store = backend.open()
    try:
        for scope in (RESEARCH, ANONYMIZED):
            await resolver(store).resolve(scope, needs(**PLANTED))
        await resolver(store).record(RESEARCH, IdKind.UID, {"1.2.826.0.1.3680043.8.498.4242.3": "2.25.55"})
    finally:
        await store.aclose()
    dump = backend.dump()
    planted = [*(real for reals in PLANTED.values() for real in reals), "1.2.826.0.1.3680043.8.498.4242.3"]
    found = [real for real in planted if real.encode() in dump]
    assert not found, found
    assert b"1.2.826.0.1.3680043" not in dump  # not even the real UID root


async def test_a_sealed_value_moved_to_another_row_does_not_open(store: PseudonymStore) -> None:
    resolve = resolver(store)
    mappings = await resolve.resolve(RESEARCH, needs(uid=["1.2.3", "1.2.4"]))
    one, two = mappings.get(IdKind.UID, "1.2.3"), mappings.get(IdKind.UID, "1.2.4")
    sealed = await store.reverse(RESEARCH.name, IdKind.UID, [one])
    # An attacker with write access copies one row's sealed value into a new claim, hoping to route to it.
    await store.claim(RESEARCH.name, [Claim(IdKind.UID, "forged", "2.25.666", sealed[one])])
    with pytest.raises(KeyMismatch):
        await resolve.real_values(RESEARCH, IdKind.UID, ["2.25.666"])
    assert await resolve.real_values(RESEARCH, IdKind.UID, [two]) == {two: "1.2.4"}


async def test_another_secret_does_not_open_the_store(store: PseudonymStore) -> None:
    await resolver(store).resolve(RESEARCH, needs(patient=["P1"]))
    with pytest.raises(KeyMismatch) as raised:
        await resolver(store, OTHER_SECRET).resolve(RESEARCH, needs(patient=["P1"]))
    assert raised.value.status == 503


# -- key rotation and migration ----------------------------------------------------------------------------


async def test_rekey_keeps_every_pseudonym_and_only_the_new_secret_opens(backend: Backend) -> None:
    store = backend.open()
    try:
        asked = needs(patient=["P1", "P2"], uid=["1.2.3"], date_shift=["P1"])
        before = await resolver(store).resolve(RESEARCH, asked)
        anonymized = await resolver(store, key_version=2).resolve(ANONYMIZED, asked)
        keys = await store.wrapped_keys()
        await store.replace_wrapped_keys(Keyring(SECRET).rewrap(keys, Keyring(OTHER_SECRET)))
    finally:
        await store.aclose()
    store = backend.open()
    try:
        rekeyed = resolver(store, OTHER_SECRET, key_version=2)
        assert (await rekeyed.resolve(RESEARCH, asked)).values == before.values
        assert (await rekeyed.resolve(ANONYMIZED, asked)).values == anonymized.values
        # A patient first seen after the rekey still gets what the old secret would have derived.
        late = await rekeyed.resolve(RESEARCH, needs(patient=["P3"]))
        assert late.get(IdKind.PATIENT, "P3") == derive(first_key(), RESEARCH, IdKind.PATIENT, "P3")
        pseudo = before.get(IdKind.PATIENT, "P1")
        assert await rekeyed.real_values(RESEARCH, IdKind.PATIENT, [pseudo]) == {pseudo: "P1"}
        with pytest.raises(KeyMismatch):
            await resolver(store, SECRET).resolve(RESEARCH, asked)
    finally:
        await store.aclose()


def write_legacy(backend: Backend, rows: list[legacy.Row]) -> None:
    if isinstance(backend, SqliteBackend):
        legacy.write_sqlite(backend.path, rows)
    else:
        assert isinstance(backend, RedisBackend)
        legacy.write_redis(backend.server, rows)


async def test_migration_keeps_every_pseudonym_and_leaves_nothing_in_clear(backend: Backend) -> None:
    reals = [(IdKind(kind), real) for kind, values in PLANTED.items() for real in values]
    rows = legacy.rows_for(SECRET, RESEARCH, reals) + legacy.rows_for(SECRET, ANONYMIZED, reals)
    # A UID STOW recorded as it was: not derived, so only the stored row knows it.
    rows.append((RESEARCH, IdKind.UID, "2.25.4242", "2.25.4242"))
    write_legacy(backend, rows)
    assert any(real.encode() in backend.dump() for _, real in reals)  # the old layout does hold them
    store = backend.open()
    try:
        assert await has_legacy(store)
        migrated = await migrate(store, Keyring(SECRET), key_version=1)
        assert migrated.conflicts == 0
        assert sum(migrated.moved.values()) == len(rows)
        assert not await has_legacy(store)
        again = await migrate(store, Keyring(SECRET), key_version=1)
        assert sum(again.moved.values()) == 0
        resolve = resolver(store)
        for scope, kind, real, pseudo in rows:
            assert (await resolve.resolve(scope, needs(**{kind.value: [real]}))).get(kind, real) == pseudo
            if legacy.old_keeps_reverse(kind, scope):
                assert await resolve.real_values(scope, kind, [pseudo]) == {pseudo: real}
            elif kind is not IdKind.DATE_SHIFT:
                assert await store.reverse(scope.name, kind, [pseudo]) == {}
    finally:
        await store.aclose()
    dump = backend.dump()
    assert not [real for _, real in reals if real.encode() in dump]


# -- the in-process cache of values of record -------------------------------------------------------------


async def test_values_of_record_once_read_need_no_store_round_trip(backend: Backend, store: PseudonymStore) -> None:
    resolve = resolver(store)
    asked = needs(patient=["P1"], uid=["1.2.3", "1.2.4"], date_shift=["P1"])
    first = await resolve.resolve(RESEARCH, asked)
    pseudo = first.get(IdKind.UID, "1.2.3")
    assert await resolve.real_values(RESEARCH, IdKind.UID, [pseudo]) == {pseudo: "1.2.3"}
    before = backend.round_trips(store)
    assert (await resolve.resolve(RESEARCH, asked)).values == first.values
    assert await resolve.real_values(RESEARCH, IdKind.UID, [pseudo]) == {pseudo: "1.2.3"}
    assert backend.round_trips(store) == before
    # A value never seen still goes to the store, alone.
    await resolve.resolve(RESEARCH, needs(uid=["1.2.3", "1.2.5"]))
    assert backend.round_trips(store) == before + 1


async def test_the_cache_is_bounded(store: PseudonymStore) -> None:
    resolve = Resolver(store, Keyring(SECRET), 1, cache_size=8)
    await resolve.resolve(RESEARCH, needs(uid=[f"1.2.{i}" for i in range(100)]))
    assert 0 < resolve.cached() <= 2 * 8
