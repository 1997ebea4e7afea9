"""`store migrate` on a governance store the code before issue 12 wrote, on both back ends: nothing is lost."""

from __future__ import annotations

import pytest

from gateway.adapters.witness import Witness
from gateway.core.dicom import patient_key
from gateway.core.governance.admin_actions import verify_ledger
from gateway.core.governance.migration import migrate
from gateway.core.governance.model import OptOut
from gateway.core.keys import Keyring
from gateway.errors import UnmigratedStore

from . import legacy
from .conftest import SECRET, Backend, sealed
from .test_contract import PLANTED_PATIENTS, planted_draft, planted_values

OPTOUTS = [OptOut(id_, issuer, f"2026-01-01T00:00:0{n}Z") for n, (id_, issuer) in enumerate(PLANTED_PATIENTS)]


async def test_a_store_in_the_clear_layout_is_migrated_without_loss(backend: Backend) -> None:
    entries, head = legacy.chained(planted_draft(n) for n in range(6))
    backend.write_legacy(OPTOUTS, entries, head)
    await Witness(backend.witness).advance(head)
    assert all(value.encode() in backend.dump() for value in planted_values())  # the scan below can see them
    raw = backend.open()
    store = sealed(raw)
    try:
        assert await raw.legacy_layout()
        with pytest.raises(UnmigratedStore):  # the gateway and the CLI verbs refuse it until it is migrated
            await store.optouts()
        assert await migrate(raw, Keyring(SECRET)) == {"optouts": 2, "entries": 6}
        assert not await raw.legacy_layout()
        assert await store.optouts() == OPTOUTS  # `optout list` shows the same rows
        withdrawn = await store.withdrawals(1)
        (mrn, issuer), (anywhere, _) = PLANTED_PATIENTS
        assert withdrawn.covers(patient_key(mrn, issuer)) and not withdrawn.covers(patient_key(mrn, "OTHER"))
        assert withdrawn.covers(patient_key(anywhere, "OTHER")) and withdrawn.covers(anywhere)
        assert await store.entries() == entries and await store.head() == head
        assert (await verify_ledger(store)).describe() == "ledger intact: 6 entries, hash chain verified"
        assert await Witness(backend.witness).read() == head
        dump = backend.dump()
        assert [value for value in planted_values() if value.encode() in dump] == []
        assert await migrate(raw, Keyring(SECRET)) == {"optouts": 0, "entries": 0}
        assert backend.dump() == dump  # the second run changes nothing
    finally:
        await raw.aclose()


async def test_clear_records_left_after_a_migration_are_sealed_by_the_next_run(backend: Backend) -> None:
    """A replica of the earlier version left running, or a run that stopped part way, leaves clear records
    behind: the store is refused again until the next run seals them, keeping what the first one sealed."""
    entries, head = legacy.chained(planted_draft(n) for n in range(4))
    backend.write_legacy(OPTOUTS[:1], entries[:2], head)
    raw = backend.open()
    try:
        await migrate(raw, Keyring(SECRET))
        await raw.aclose()
        backend.write_legacy(OPTOUTS[1:], entries[2:], head)  # as if the first run had not seen these yet
        raw = backend.open()
        assert await raw.legacy_layout()
        assert await migrate(raw, Keyring(SECRET)) == {"optouts": 1, "entries": 2}
        store = sealed(raw)
        assert await store.optouts() == OPTOUTS and await store.entries() == entries
        assert (await verify_ledger(store)).ok
    finally:
        await raw.aclose()


async def test_a_fresh_store_has_nothing_to_migrate(backend: Backend) -> None:
    raw = backend.open()
    try:
        assert not await raw.legacy_layout()
        assert await migrate(raw, Keyring(SECRET)) == {"optouts": 0, "entries": 0}
        await sealed(raw).add_optout(OPTOUTS[0])
        assert not await raw.legacy_layout()
    finally:
        await raw.aclose()
