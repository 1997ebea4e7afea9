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
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from pathlib import Path

from gateway.core.governance.model import Head
from gateway.errors import GovernanceUnavailable

log = logging.getLogger("gateway.governance")
_FAILURES = (OSError, ValueError, KeyError, TypeError)  # a witness that cannot be written, or read back


class Witness:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._latest: Head | None = None  # the newest head an append handed in, written by whoever holds the lock
        self._warned = False

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
            latest = self._latest
            try:
                same_chain = await asyncio.to_thread(self._write, latest)
            except _FAILURES as exc:
                raise _unavailable(exc) from None
        if not same_chain and not self._warned:
            self._warned = True  # once per process: `ledger verify` names the loss
            log.error("ledger differs from its witness: the store lost its history", extra={"kind": "ledger-lost"})

    def _read(self) -> Head | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return Head(int(data["seq"]), str(data["hash"]), str(data["genesis"]))

    def _write(self, head: Head) -> bool:
        """Write `head` if it is further along the witnessed chain; False when the store's chain is another one."""
        known = self._read()
        if known is not None and known.genesis != head.genesis:
            return False
        if known is not None and known.seq >= head.seq:
            return True
        temporary = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump({"seq": head.seq, "hash": head.hash, "genesis": head.genesis}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)  # atomic: a crash leaves the old witness or the new one
        return True


def _unavailable(exc: Exception) -> GovernanceUnavailable:
    return GovernanceUnavailable(f"{GovernanceUnavailable.public_message} (witness: {type(exc).__name__})")
