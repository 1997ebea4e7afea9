"""One contract, both back ends: every test here runs against SqliteStore and RedisStore."""

from __future__ import annotations

import pytest

from gateway.cache.derive import Deriver
from gateway.cache.errors import IrreversibleScope
from gateway.cache.model import IdKind, Needs, ScopeSpec
from gateway.cache.resolver import Resolver
from gateway.cache.store import PseudonymStore

from .backends import Backend

SECRET = b"contract-suite-secret-0123456789"
RESEARCH = ScopeSpec("research", reversible=True)
ANONYMIZED = ScopeSpec("teaching", reversible=False)


def needs(**kinds: list[str]) -> Needs:
    result = Needs()
    for kind, reals in kinds.items():
        for real in reals:
            result.add(IdKind(kind), real)
    return result


async def test_first_sighting_stores_the_proposal_and_later_ones_read_it(store: PseudonymStore) -> None:
    first = await store.get_or_create("s", {IdKind.PATIENT: {"P1": "RID-A"}}, reversible=True)
    again = await store.get_or_create("s", {IdKind.PATIENT: {"P1": "RID-B"}}, reversible=True)
    assert first == again == {IdKind.PATIENT: {"P1": "RID-A"}}


async def test_a_batch_mixes_kinds_and_known_and_new_values(store: PseudonymStore) -> None:
    await store.get_or_create("s", {IdKind.UID: {"1.2.3": "2.25.1"}}, reversible=True)
    proposals = {
        IdKind.PATIENT: {"P1": "RID-A", "P2": "RID-B"},
        IdKind.DATE_SHIFT: {"P1": "-12", "P2": "-300"},
        IdKind.UID: {"1.2.3": "2.25.999", "1.2.4": "2.25.2"},
        IdKind.ACCESSION: {"A1": "ACC-1"},
        IdKind.STUDY_ID: {"S1": "S-1"},
    }
    stored = await store.get_or_create("s", proposals, reversible=True)
    assert stored == {**proposals, IdKind.UID: {"1.2.3": "2.25.1", "1.2.4": "2.25.2"}}


async def test_kinds_and_scopes_are_separate_namespaces(store: PseudonymStore) -> None:
    await store.get_or_create("a", {IdKind.ACCESSION: {"X": "ACC-A"}}, reversible=True)
    in_b = await store.get_or_create("b", {IdKind.ACCESSION: {"X": "ACC-B"}}, reversible=True)
    as_study = await store.get_or_create("a", {IdKind.STUDY_ID: {"X": "S-A"}}, reversible=True)
    # Braces would end a Redis Cluster hash tag early; the name must still be its own scope.
    braced = await store.get_or_create("a}{b", {IdKind.ACCESSION: {"X": "ACC-C"}}, reversible=True)
    assert in_b[IdKind.ACCESSION]["X"] == "ACC-B"
    assert as_study[IdKind.STUDY_ID]["X"] == "S-A"
    assert braced[IdKind.ACCESSION]["X"] == "ACC-C"


ONE_OF_EACH = {
    IdKind.PATIENT: {"P1": "RID-A"},
    IdKind.UID: {"1.2.3": "2.25.1"},
    IdKind.ACCESSION: {"A1": "ACC-1"},
    IdKind.STUDY_ID: {"S1": "S-1"},
}


async def test_reversible_scopes_reverse_every_identifier(store: PseudonymStore) -> None:
    await store.get_or_create("s", ONE_OF_EACH, reversible=True)
    for kind, pairs in ONE_OF_EACH.items():
        real, pseudo = next(iter(pairs.items()))
        assert await store.reverse("s", kind, [pseudo, "never-issued"]) == {pseudo: real}


async def test_irreversible_scopes_keep_only_the_uid_reverse(store: PseudonymStore) -> None:
    await store.get_or_create("anon", ONE_OF_EACH, reversible=False)
    assert await store.reverse("anon", IdKind.UID, ["2.25.1"]) == {"2.25.1": "1.2.3"}
    assert await store.reverse("anon", IdKind.PATIENT, ["RID-A"]) == {}
    assert await store.reverse("anon", IdKind.ACCESSION, ["ACC-1"]) == {}
    assert await store.reverse("anon", IdKind.STUDY_ID, ["S-1"]) == {}


async def test_the_resolver_refuses_non_uid_reverse_on_irreversible_scopes(store: PseudonymStore) -> None:
    resolver = Resolver(store, Deriver(SECRET), key_version=1)
    mappings = await resolver.resolve(ANONYMIZED, needs(patient=["P1"], uid=["1.2.3"]))
    pseudo_uid = mappings.get(IdKind.UID, "1.2.3")
    assert await resolver.real_values(ANONYMIZED, IdKind.UID, [pseudo_uid]) == {pseudo_uid: "1.2.3"}
    for kind in (IdKind.PATIENT, IdKind.ACCESSION, IdKind.STUDY_ID):
        with pytest.raises(IrreversibleScope) as raised:
            await resolver.real_values(ANONYMIZED, kind, ["anything"])
        assert raised.value.status == 409
    pseudo_patient = mappings.get(IdKind.PATIENT, "P1")
    assert await resolver.real_values(RESEARCH, IdKind.PATIENT, [pseudo_patient]) == {}


async def test_scope_key_version_is_get_or_create(store: PseudonymStore) -> None:
    assert await store.scope_key_version("s", 1) == 1
    assert await store.scope_key_version("s", 2) == 1
    assert await store.scope_key_version("new", 2) == 2


async def test_a_new_key_version_applies_to_new_scopes_and_old_mappings_keep_resolving(
    store: PseudonymStore,
) -> None:
    deriver = Deriver(SECRET)
    before = await Resolver(store, deriver, key_version=1).resolve(RESEARCH, needs(patient=["P1"]))
    rotated = Resolver(store, deriver, key_version=2)
    after = await rotated.resolve(RESEARCH, needs(patient=["P1", "P2"]))
    new_scope = await rotated.resolve(ScopeSpec("project-2", reversible=True), needs(patient=["P1"]))
    assert after.get(IdKind.PATIENT, "P1") == before.get(IdKind.PATIENT, "P1")
    # The old scope keeps deriving with its own version, even for patients first seen after the rotation.
    assert after.get(IdKind.PATIENT, "P2") == deriver.derive(RESEARCH, 1, IdKind.PATIENT, "P2")
    project_2 = ScopeSpec("project-2", reversible=True)
    assert new_scope.get(IdKind.PATIENT, "P1") == deriver.derive(project_2, 2, IdKind.PATIENT, "P1")


async def test_stored_values_win_over_derived_ones(store: PseudonymStore) -> None:
    resolver = Resolver(store, Deriver(SECRET), key_version=1)
    # STOW of an instance an AI service made: its UID is kept as it is, and must then resolve to itself.
    assert await resolver.record(RESEARCH, IdKind.UID, {"2.25.77": "2.25.77"}) == {"2.25.77": "2.25.77"}
    mappings = await resolver.resolve(RESEARCH, needs(uid=["2.25.77", "1.2.3"]))
    assert mappings.get(IdKind.UID, "2.25.77") == "2.25.77"
    assert mappings.get(IdKind.UID, "1.2.3") != "1.2.3"
    assert await resolver.record(RESEARCH, IdKind.UID, {"1.2.3": "1.2.3"}) == {
        "1.2.3": mappings.get(IdKind.UID, "1.2.3")
    }


async def test_a_restart_keeps_every_pseudonym(backend: Backend) -> None:
    proposals = {
        IdKind.PATIENT: {f"P{i}": f"RID-{i}" for i in range(50)},
        IdKind.UID: {f"1.2.{i}": f"2.25.{i}" for i in range(50)},
    }
    store = backend.open()
    await store.scope_key_version("s", 3)
    await store.get_or_create("s", proposals, reversible=True)
    await store.aclose()
    backend.restart_server()
    store = backend.open()
    try:
        other = {kind: {real: "other" for real in pairs} for kind, pairs in proposals.items()}
        assert await store.get_or_create("s", other, reversible=True) == proposals
        assert await store.reverse("s", IdKind.UID, ["2.25.7"]) == {"2.25.7": "1.2.7"}
        assert await store.scope_key_version("s", 4) == 3
    finally:
        await store.aclose()


async def test_a_batch_is_one_round_trip(backend: Backend, store: PseudonymStore) -> None:
    await store.ping()  # connect (and, for Redis, say hello) before counting
    await store.get_or_create("warm-up", {IdKind.UID: {"1": "2"}}, reversible=True)
    proposals = {
        IdKind.PATIENT: {"P1": "RID-A"},
        IdKind.DATE_SHIFT: {"P1": "-5"},
        IdKind.UID: {f"1.2.{i}": f"2.25.{i}" for i in range(500)},
        IdKind.ACCESSION: {"A1": "ACC-1"},
    }
    for _first_then_warm in range(2):
        before = backend.round_trips(store)
        await store.get_or_create("s", proposals, reversible=True)
        assert backend.round_trips(store) - before == 1
    before = backend.round_trips(store)
    await store.reverse("s", IdKind.UID, [f"2.25.{i}" for i in range(500)])
    assert backend.round_trips(store) - before == 1


async def test_the_resolver_makes_no_store_call_for_empty_needs(backend: Backend, store: PseudonymStore) -> None:
    await store.ping()
    before = backend.round_trips(store)
    assert (await Resolver(store, Deriver(SECRET), key_version=1).resolve(RESEARCH, Needs())).values == {}
    assert backend.round_trips(store) == before
