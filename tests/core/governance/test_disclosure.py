"""A response's ledger entry, sealed after the body is built or begun ahead while the origin answers."""

from __future__ import annotations

import asyncio

import pytest

from gateway.core.dicom import Uids
from gateway.core.governance.disclosure import Disclosure
from gateway.core.governance.model import Draft, LedgerEntry
from gateway.errors import GovernanceUnavailable

REAL, PSEUDO = Uids("1.2.3", "1.2.3.4", "1.2.3.4.5"), Uids("2.25.1", "2.25.2", "2.25.3")


class Ledger:
    """An append that returns only when the test lets it, or fails."""

    def __init__(self, fails: bool = False) -> None:
        self.drafts: list[Draft] = []
        self.written = asyncio.Event()
        self.fails = fails

    async def append(self, draft: Draft) -> LedgerEntry:
        self.drafts.append(draft)
        await self.written.wait()
        if self.fails:
            raise GovernanceUnavailable()
        return LedgerEntry(len(self.drafts), "", "", {})


def disclosure(ledger: Ledger) -> Disclosure:
    return Disclosure("someone", "researcher", "research", "v1", ledger.append, "retrieve_frames")


async def test_an_append_begun_ahead_is_waited_for_before_anything_is_sent() -> None:
    ledger = Ledger()
    record = disclosure(ledger)
    record.record(REAL, PSEUDO)
    record.seal_ahead()
    await asyncio.sleep(0)
    assert [draft.real["instances"] for draft in ledger.drafts] == [["1.2.3.4.5"]]  # begun before `seal`
    sealing = asyncio.ensure_future(record.seal())
    await asyncio.sleep(0.01)
    assert not sealing.done()  # the response still waits for its entry
    ledger.written.set()
    await sealing
    await record.seal()  # the pipeline's closing seal: nothing more is appended
    assert len(ledger.drafts) == 1


async def test_nothing_can_be_recorded_once_the_entry_is_sealed() -> None:
    record = disclosure(Ledger())
    record.record(REAL, PSEUDO)
    record.seal_ahead()
    with pytest.raises(RuntimeError):
        record.record(REAL, PSEUDO)  # it would never reach the ledger


async def test_an_append_begun_ahead_that_fails_fails_the_response_once() -> None:
    ledger = Ledger(fails=True)
    record = disclosure(ledger)
    record.record(REAL, PSEUDO)
    record.seal_ahead()
    ledger.written.set()
    with pytest.raises(GovernanceUnavailable):
        await record.seal()
    await record.seal()  # already answered with the error; the pipeline's closing seal adds nothing
