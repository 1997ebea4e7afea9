"""The ledger's hash chain: each entry carries the hash of the one before, and its own hash over everything.

    hash(n) = sha256(prev || canonical JSON of {seq, body})      prev(1) = 64 zeros

A changed entry no longer matches its own hash (or, if its hash was forged too, the next entry's `prev`).
A deleted entry leaves a gap in `seq`; a deleted tail leaves the store's head pointing past the last entry.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.governance.model import EMPTY_HEAD, GENESIS, Draft, Head, LedgerEntry


def canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(seq: int, prev: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev + canonical({"seq": seq, **body})).encode()).hexdigest()


def seal(draft: Draft, head: Head) -> LedgerEntry:
    """The entry that follows `head`."""
    seq, body = head.seq + 1, draft.body()
    return LedgerEntry(seq, head.hash, entry_hash(seq, head.hash, body), body)


@dataclass(frozen=True)
class Verdict:
    entries: int  # entries checked
    bad_seq: int | None = None  # the first entry that was changed or deleted
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_seq is None

    def describe(self) -> str:
        if self.ok:
            return f"ledger intact: {self.entries} entries, hash chain verified"
        return f"ledger tampered: entry {self.bad_seq} {self.problem}"


def verify(entries: Iterable[LedgerEntry], head: Head | None = EMPTY_HEAD) -> Verdict:
    """Walk the chain in order and name the first entry that was changed or deleted."""
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
