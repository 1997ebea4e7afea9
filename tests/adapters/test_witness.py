"""The ledger's witness file: moved forward in place, and readable after a write that a crash tore."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gateway.adapters.witness import SLOT, Witness
from gateway.core.governance.model import Head
from gateway.errors import GovernanceUnavailable

GENESIS = "a" * 64


def head(seq: int, genesis: str = GENESIS) -> Head:
    return Head(seq, f"{seq:064x}", genesis)


async def test_each_advance_rewrites_a_slot_of_the_same_file(tmp_path: Path) -> None:
    witness = Witness(tmp_path / "head.json")
    await witness.advance(head(1))
    inode = witness.path.stat().st_ino
    for seq in range(2, 6):
        await witness.advance(head(seq))
        assert await witness.read() == head(seq)
    assert witness.path.stat().st_ino == inode  # no new file per append: no rename, no journal commit
    assert witness.path.stat().st_size == 2 * SLOT


async def test_it_never_steps_back_along_its_chain(tmp_path: Path) -> None:
    witness = Witness(tmp_path / "head.json")
    await witness.advance(head(7))
    await Witness(witness.path).advance(head(5))  # another process sharing the file, behind this one
    assert await witness.read() == head(7)


async def test_a_torn_slot_leaves_the_head_before_it(tmp_path: Path) -> None:
    witness = Witness(tmp_path / "head.json")
    for seq in (1, 2, 3):
        await witness.advance(head(seq))
    data = bytearray(witness.path.read_bytes())
    newer = 0 if b'"seq": 3' in data[:SLOT] else 1
    data[newer * SLOT + 20 : newer * SLOT + 40] = b"\0" * 20  # the crash cut the write of head 3
    witness.path.write_bytes(bytes(data))
    assert await witness.read() == head(2)
    await witness.advance(head(4))  # written over the torn slot, not over head 2
    assert await witness.read() == head(4)
    assert b'"seq": 2' in witness.path.read_bytes()


async def test_a_slot_whose_check_fails_is_not_believed(tmp_path: Path) -> None:
    witness = Witness(tmp_path / "head.json")
    await witness.advance(head(1))
    await witness.advance(head(2))
    data = witness.path.read_bytes().replace(b'"seq": 2', b'"seq": 9')  # a head edited by hand
    witness.path.write_bytes(data)
    assert await witness.read() == head(1)


async def test_a_witness_of_the_earlier_layout_is_read_and_moved_on(tmp_path: Path) -> None:
    path = tmp_path / "head.json"
    path.write_text(json.dumps({"seq": 4, "hash": head(4).hash, "genesis": GENESIS}))
    witness = Witness(path)
    assert await witness.read() == head(4)
    await witness.advance(head(5))
    assert await witness.read() == head(5) and path.stat().st_size == 2 * SLOT


async def test_another_chain_does_not_overwrite_the_witnessed_one(tmp_path: Path) -> None:
    witness = Witness(tmp_path / "head.json")
    await witness.advance(head(6))
    await witness.advance(head(1, genesis="b" * 64))  # the store began again: the witness keeps the loss
    assert await witness.read() == head(6)


async def test_a_witness_with_no_readable_slot_fails_closed(tmp_path: Path) -> None:
    witness = Witness(tmp_path / "head.json")
    await witness.advance(head(1))
    witness.path.write_bytes(b"\0" * (2 * SLOT))
    with pytest.raises(GovernanceUnavailable):
        await witness.advance(head(2))
    with pytest.raises(GovernanceUnavailable):
        await witness.read()


async def test_appends_that_finish_together_share_one_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    witness = Witness(tmp_path / "head.json")
    writes: list[int] = []
    write = witness._write
    monkeypatch.setattr(witness, "_write", lambda head: writes.append(head.seq) or write(head))
    await asyncio.gather(*(witness.advance(head(seq)) for seq in range(1, 7)))
    assert await witness.read() == head(6)
    assert writes == [1, 6]  # the first caller's write, then one carrying every head that waited for it
