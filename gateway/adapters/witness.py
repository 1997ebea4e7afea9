"""The ledger's witness: its head (length, last hash, and the hash of entry 1) kept outside the store.

A store can lose what it holds without anyone tampering: a Redis that restarts without its append-only file
comes back empty, and the next disclosure begins a new chain that verifies perfectly. So every append also
advances a small file that the store cannot lose with it (`governance.witness_path`, on the replica's own
disk), and `ledger verify` checks the store against it: fewer entries than witnessed is a lost tail, another
entry 1 (the genesis marker) is a lost history.

Several replicas on one Redis each keep their own witness: each records a point the shared chain passed, and
any one of them is enough to notice a loss up to that point. The file only moves forward along the chain it
first saw (processes sharing one file may step it back a little, which weakens it but never misleads it);
when the store's chain has another genesis, the witness keeps the old one, so the loss stays on record until
an operator who has dealt with it moves the file away.

Every disclosure waits for the witness, so its write is kept cheap: the file holds two fixed slots, each a
checksummed head, and an advance rewrites the older slot in place and flushes it (one write and one fdatasync,
where a new file and a rename cost a journal commit and four times the CPU). A write torn by a crash spoils
only the slot it was writing; the other still holds the head before it. A file of the earlier layout (one
JSON object, replaced whole) is read as it is and converted by one atomic replace.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

from gateway.core.governance.model import Head
from gateway.errors import GovernanceUnavailable

log = logging.getLogger("gateway.governance")
_FAILURES = (OSError, ValueError, KeyError, TypeError)  # a witness that cannot be written, or read back
SLOT = 512  # bytes per slot: one head in JSON (under 300 bytes) padded, so a slot never straddles two sectors


class Witness:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._latest: Head | None = None  # the newest head an append handed in, written by whoever holds the lock
        self._warned = False
        self._written: Head | None = None  # the newest head this process wrote

    async def read(self) -> Head | None:
        try:
            return await asyncio.to_thread(self._read)
        except _FAILURES as exc:
            raise _unavailable(exc) from None

    async def advance(self, head: Head) -> None:
        """Record `head` (already durable in the store) before the append returns. Concurrent appends share one
        write. Raises GovernanceUnavailable when the file cannot be written: an unwitnessed append fails closed."""
        if self._latest is None or head.seq > self._latest.seq or head.genesis != self._latest.genesis:
            self._latest = head
        async with self._lock:
            if not _covers(self._written, head):
                await asyncio.to_thread(self.record, self._latest)
            # else a write made while this caller waited for the lock already carried its head: no trip to a thread

    def record(self, head: Head) -> None:
        """`advance`, for a caller already on the one thread that writes its store (the embedded store's worker),
        so the commit and its witness take one trip off the event loop instead of two."""
        try:
            same_chain = self._write(head)
        except _FAILURES as exc:
            raise _unavailable(exc) from None
        if same_chain:
            self._written = head
        if not same_chain and not self._warned:
            self._warned = True  # once per process: `ledger verify` names the loss
            log.error("ledger differs from its witness: the store lost its history", extra={"kind": "ledger-lost"})

    def _read(self) -> Head | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return _newest(_heads(data))

    def _write(self, head: Head) -> bool:
        """Write `head` if it is further along the witnessed chain; False when the store's chain is another one."""
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            self._replace(head)
            return True
        try:
            data = os.pread(fd, 2 * SLOT + 1, 0)
            heads = _heads(data)
            known = _newest(heads)
            if known is not None and known.genesis != head.genesis:
                return False
            if _covers(known, head):
                return True
            if len(data) != 2 * SLOT:  # the earlier layout, or a file cut short: rewritten whole, atomically
                self._replace(head)
                return True
            os.pwrite(fd, _slot(head), _older_slot(heads) * SLOT)
            os.fdatasync(fd)  # the file keeps its size, so its data is all that must reach the disk
            return True
        finally:
            os.close(fd)

    def _replace(self, head: Head) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}")
        with temporary.open("wb") as out:
            out.write(_slot(head) + b" " * SLOT)  # the second slot holds nothing yet
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)  # atomic: a crash leaves the old witness or the new one


def _slot(head: Head) -> bytes:
    record = {"seq": head.seq, "hash": head.hash, "genesis": head.genesis}
    text = json.dumps({**record, "check": _check(record)}).encode()
    if len(text) >= SLOT:
        raise ValueError("a ledger head does not fit a witness slot")
    return text.ljust(SLOT - 1) + b"\n"


def _check(record: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _heads(data: bytes) -> list[Head | None]:
    """Each slot's head, None for a slot that holds nothing or a torn write; ValueError when neither holds one.
    A file of the earlier layout is its one JSON object, which carries no check (it was only ever replaced
    whole)."""
    if len(data) != 2 * SLOT:
        return [_head_of(json.loads(data))]
    heads = [_slot_head(data[offset : offset + SLOT]) for offset in (0, SLOT)]
    if heads == [None, None]:
        raise ValueError("neither slot of the witness holds a head")
    return heads


def _slot_head(slot: bytes) -> Head | None:
    try:
        record = json.loads(slot)
        check = record.pop("check")
        head = _head_of(record)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return head if check == _check(record) else None


def _head_of(record: dict[str, Any]) -> Head:
    return Head(int(record["seq"]), str(record["hash"]), str(record["genesis"]))


def _newest(heads: list[Head | None]) -> Head | None:
    return max((head for head in heads if head is not None), key=lambda head: head.seq, default=None)


def _covers(known: Head | None, head: Head) -> bool:
    """Whether a witness holding `known` already holds `head`, or a later head of its chain."""
    return known is not None and known.genesis == head.genesis and known.seq >= head.seq


def _older_slot(heads: list[Head | None]) -> int:
    """The slot to write next: one that holds nothing, else the one with the lower sequence number."""
    if heads[0] is None or heads[1] is None:
        return 0 if heads[0] is None else 1
    return 0 if heads[0].seq <= heads[1].seq else 1


def _unavailable(exc: Exception) -> GovernanceUnavailable:
    return GovernanceUnavailable.because(f"witness: {type(exc).__name__}")
