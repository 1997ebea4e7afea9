"""The ledger's hash chain: each entry carries the hash of the one before, and its own hash over everything.

    hash(n) = sha256(prev || canonical JSON of {seq, body})      prev(1) = 64 zeros

A changed entry no longer matches its own hash (or, if its hash was forged too, the next entry's `prev`).
A deleted entry leaves a gap in `seq`; a deleted tail leaves the store's head pointing past the last entry.
A store that lost its tail or its whole history (head and all) falls short of its witness (witness.py).
The hash covers the body in clear, though the stores keep its real identifiers sealed (sealing.py): verifying
needs the secret, and sealing or migrating an entry changes no hash.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.core.governance.model import EMPTY_HEAD, GENESIS, Draft, Head, LedgerEntry


def canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(seq: int, prev: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev + canonical({"seq": seq, **body})).encode()).hexdigest()


def seal(draft: Draft, head: Head) -> LedgerEntry:
    """The entry that follows `head`. Entry 1 carries a random genesis marker, so its hash names this chain and
    no other: a store that lost its history and began again cannot begin with the same entry 1."""
    seq, body = head.seq + 1, draft.body()
    if seq == 1:
        body["genesis"] = secrets.token_hex(16)
    return LedgerEntry(seq, head.hash, entry_hash(seq, head.hash, body), body)


def seal_all(drafts: Iterable[Draft], head: Head) -> tuple[list[LedgerEntry], Head]:
    """The entries that follow `head`, each chained to the one before, and the head after the last."""
    sealed = []
    for draft in drafts:
        sealed.append(entry := seal(draft, head))
        head = Head(entry.seq, entry.hash, head.genesis or entry.hash)
    return sealed, head


@dataclass(frozen=True)
class Verdict:
    entries: int  # entries checked
    bad_seq: int | None = None  # the first entry that was changed, deleted or lost
    problem: str = ""
    damage: str = "tampered"  # or "incomplete": the store lost entries it had written

    @property
    def ok(self) -> bool:
        return self.bad_seq is None

    def describe(self) -> str:
        if self.ok:
            return f"ledger intact: {self.entries} entries, hash chain verified"
        return f"ledger {self.damage}: entry {self.bad_seq} {self.problem}"


def verify(
    entries: Iterable[LedgerEntry], head: Head | None = EMPTY_HEAD, witness: Head | None = None
) -> Verdict:
    """Walk the chain in order and name the first entry that was changed, deleted or lost."""
    chain = list(entries)
    walked = _walk(chain, head)
    if not walked.ok or witness is None or witness.seq == 0:
        return walked
    return _against(witness, chain)


def _against(witness: Head, chain: list[LedgerEntry]) -> Verdict:
    """A chain that verifies on its own, checked against its witness. Positions are seq - 1: the walk passed."""
    count, recorded = len(chain), f"its witness recorded {witness.seq} entries"
    if not chain:
        return Verdict(0, 1, f"is missing: the store lost its whole history ({recorded}, it holds none)",
                       "incomplete")
    if witness.genesis and chain[0].hash != witness.genesis:
        return Verdict(count, 1, f"is not the one witnessed: the store lost its history and began a new chain "
                                 f"({recorded}, it holds {count} since)", "incomplete")
    if count < witness.seq:
        return Verdict(count, count + 1, f"is missing: the store lost its tail ({recorded}, it holds {count})",
                       "incomplete")
    if chain[witness.seq - 1].hash != witness.hash:
        return Verdict(count, witness.seq, "was changed (its hash does not match the ledger's witness)")
    return Verdict(count)


def _walk(entries: list[LedgerEntry], head: Head | None) -> Verdict:
    expected, prev, count = 1, GENESIS, 0
    for entry in entries:
        if entry.seq > expected:
            return Verdict(count, expected, f"was deleted (the sequence jumps from it to {entry.seq})")
        if entry.seq < expected:
            return Verdict(count, entry.seq, "appears twice or out of order")
        if entry_hash(entry.seq, entry.prev, entry.body) != entry.hash:
            return Verdict(count, entry.seq, "was changed (its content does not match its hash)")
        if entry.prev != prev:
            # The predecessor's hash was rewritten along with its body: the predecessor is the changed one.
            return Verdict(count, entry.seq - 1, "was changed (the next entry's link to it does not match)")
        expected, prev, count = expected + 1, entry.hash, count + 1
    if head is not None and head.seq >= expected:
        return Verdict(count, expected, f"was deleted (the ledger head records {head.seq} entries)")
    if head is not None and head.seq == count and head.hash != prev:
        return Verdict(count, count, "was changed (its hash does not match the ledger head)")
    return Verdict(count)


CSV_FIELDS = ("seq", "time", "actor", "role", "action", "scope", "profile_version", "real", "pseudonymous",
              "detail", "prev", "hash")


def export_json(entries: Iterable[LedgerEntry]) -> str:
    return json.dumps([entry.as_dict() for entry in entries], ensure_ascii=False, indent=1) + "\n"


def export_csv(entries: Iterable[LedgerEntry]) -> str:
    """One row per entry; the identifier lists and details are JSON cells, real and pseudonymous apart."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for entry in entries:
        row = entry.as_dict()
        writer.writerow([row[name] if isinstance(row.get(name), str | int) else canonical(row.get(name) or {})
                         for name in CSV_FIELDS])
    return out.getvalue()
