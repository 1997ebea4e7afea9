"""The withdrawal feed: after an opt-out, what each scope was given of the patient, for it to delete. Pure.

The loop, in ledger entries (the ledger is the feed's one record, so it is chained and shared by replicas):

    withdraw             one per scope that received data of the patient, written when the opt-out is added:
                         the pseudonyms that scope was given (patient, studies, series, instances), the
                         opt-out's time, and the opt-out's index (a keyed hash, never the PatientID)
    withdrawals.deliver  a recipient fetched a page of its feed that held entries (the cursors it covered)
    withdrawals.ack      a recipient says it deleted everything up to a cursor

A scope's feed is its `withdraw` entries in ledger order, and an entry's cursor is its ledger seq, so a page
read from a cursor never changes: entries are only ever appended after it. Removing the opt-out later writes
nothing here, and takes nothing back: the recipient has already been asked to delete. What a scope was given
is read from its `disclose` entries, matched by real UID (opened from the sealed field) against what the origin
holds of the patient; nothing real is copied into the feed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.core.governance.chain import canonical
from gateway.core.governance.disclosure import now
from gateway.core.governance.model import LEVELS, Draft, LedgerEntry

WITHDRAW, DELIVER, ACK = "withdraw", "withdrawals.deliver", "withdrawals.ack"
PATIENTS = "patients"


@dataclass(frozen=True)
class PatientObjects:
    """What the origin holds of a withdrawn patient, real: each study with its patient key, and every series
    and instance of those studies."""

    studies: Mapping[str, str]
    series: frozenset[str] = frozenset()
    instances: frozenset[str] = frozenset()

    def holds(self, level: str, uid: str) -> bool:
        if level == "studies":
            return uid in self.studies
        return uid in (self.series if level == "series" else self.instances)


@dataclass
class Given:
    """What one scope was given of the patient: pseudonymous UIDs per level, and the real patients they are of."""

    uids: dict[str, set[str]] = field(default_factory=lambda: {level: set() for level in LEVELS})
    patients: set[str] = field(default_factory=set)


def given(entries: Iterable[LedgerEntry], objects: PatientObjects) -> dict[str, Given]:
    """Per scope, what its `disclose` entries gave of the patient. Real and pseudonymous lists of one level are
    parallel; an object disclosed at any level names its study too, so the patients follow from the studies."""
    found: dict[str, Given] = {}
    for entry in entries:
        body = entry.body
        real, pseudo = body.get("real"), body.get("pseudonymous", {})
        if body.get("action") != "disclose" or not isinstance(real, dict):
            continue
        for level in LEVELS:
            for real_uid, pseudo_uid in zip(real.get(level, []), pseudo.get(level, []), strict=False):
                if pseudo_uid and objects.holds(level, real_uid):
                    scope = found.setdefault(str(body.get("scope", "")), Given())
                    scope.uids[level].add(pseudo_uid)
                    if level == "studies":
                        scope.patients.add(objects.studies[real_uid])
    return found


def withdrawal_draft(
    actor: str, scope: str, index: str, opted_out_at: str, uids: Mapping[str, set[str]], patients: Iterable[str]
) -> Draft:
    """The `withdraw` entry of one scope. `patients` are the patient pseudonyms the scope was given."""
    pseudonymous = {PATIENTS: sorted(patients), **{level: sorted(uids[level]) for level in LEVELS}}
    return Draft(actor=actor, role="admin", action=WITHDRAW, time=now(), scope=scope,
                 pseudonymous={k: v for k, v in pseudonymous.items() if v},
                 detail={"optout": index, "opted_out_at": opted_out_at})  # fmt: skip


def since_last_withdrawal(entries: Sequence[LedgerEntry], index: str) -> list[LedgerEntry]:
    """The entries after this opt-out's last `withdraw` entry: what a new one must cover. An add that is
    repeated (or retried after the origin failed) lists nothing twice; one after a removal lists what was
    disclosed in between."""
    last = max((e.seq for e in entries if _withdraws(e, index)), default=0)
    return [e for e in entries if e.seq > last]


def _withdraws(entry: LedgerEntry, index: str) -> bool:
    return entry.body.get("action") == WITHDRAW and entry.body.get("detail", {}).get("optout") == index


# -- the feed ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    scope: str
    since: int
    limit: int
    entries: tuple[LedgerEntry, ...]

    @property
    def next(self) -> int:
        """The cursor to read on from, and to acknowledge once these entries are deleted."""
        return self.entries[-1].seq if self.entries else self.since

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "since": self.since,
            "limit": self.limit,
            "next": self.next,
            "entries": [feed_entry(entry) for entry in self.entries],
        }


def feed_entry(entry: LedgerEntry) -> dict[str, Any]:
    pseudo = entry.body.get("pseudonymous", {})
    listed = {level: list(pseudo.get(level, [])) for level in (PATIENTS, *LEVELS)}
    return {"cursor": entry.seq, "opted_out_at": entry.body.get("detail", {}).get("opted_out_at", ""),
            "listed_at": entry.body.get("time", ""), **listed}  # fmt: skip


def is_feed_entry(entry: LedgerEntry, scope: str) -> bool:
    return entry.body.get("action") == WITHDRAW and entry.body.get("scope") == scope


def delivery_draft(actor: str, role: str, page: Page) -> Draft:
    detail = {"since": str(page.since), "next": str(page.next), "entries": str(len(page.entries))}
    return Draft(actor=actor, role=role, action=DELIVER, time=now(), scope=page.scope, detail=detail)


def ack_draft(actor: str, role: str, scope: str, cursor: int) -> Draft:
    return Draft(actor=actor, role=role, action=ACK, time=now(), scope=scope, detail={"cursor": str(cursor)})


# -- the admin's view of the loop ------------------------------------------------------------------------------
def loop_status(entries: Sequence[LedgerEntry], index: str) -> list[dict[str, Any]]:
    """Per `withdraw` entry of this opt-out: the scope, what it lists, and when the scope first fetched it and
    first acknowledged it (None: not yet)."""
    rows = []
    for entry in entries:
        if not _withdraws(entry, index):
            continue
        body = entry.body
        scope = body.get("scope")
        later = [e.body for e in entries if e.seq > entry.seq and e.body.get("scope") == scope]
        fetched = next((b["time"] for b in later if b.get("action") == DELIVER and _covers(b, entry.seq)), None)
        acked = next((b["time"] for b in later if b.get("action") == ACK and _acked(b) >= entry.seq), None)
        counts = {level: len(body.get("pseudonymous", {}).get(level, [])) for level in (PATIENTS, *LEVELS)}
        rows.append({"scope": scope, "cursor": entry.seq, "opted_out_at": body.get("detail", {}).get("opted_out_at"),
                     "listed_at": body.get("time"), "identifiers": counts, "fetched_at": fetched,
                     "acknowledged_at": acked})  # fmt: skip
    return rows


def _covers(delivery: Mapping[str, Any], cursor: int) -> bool:
    detail = delivery.get("detail", {})
    return int(detail.get("since", 0)) < cursor <= int(detail.get("next", 0))


def _acked(ack: Mapping[str, Any]) -> int:
    return int(ack.get("detail", {}).get("cursor", 0))


# -- signing ---------------------------------------------------------------------------------------------------
class FeedSigner:
    """Signs feed pages with Ed25519. The key is derived from the governance data key, so every replica signs
    with the same key, and it survives a change of the secret (which rewraps that data key, no more)."""

    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"withdrawal feed\0" + seed).digest())
        self.public_key = self._key.public_key().public_bytes_raw()
        self.key_id = hashlib.sha256(self.public_key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"FeedSigner(key_id={self.key_id})"

    def signed(self, page: Mapping[str, Any]) -> dict[str, Any]:
        """The page with its signature over its canonical JSON (sorted keys, no spaces, UTF-8)."""
        signature = self._key.sign(canonical(dict(page)).encode("utf-8"))
        return {"page": dict(page), "signature": _b64(signature), "key_id": self.key_id, "alg": "Ed25519"}

    def published(self) -> dict[str, str]:
        return {"alg": "Ed25519", "key_id": self.key_id, "public_key": _b64(self.public_key)}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
