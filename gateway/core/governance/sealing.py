"""What the governance stores keep instead of a real identifier. Pure: no I/O.

One data key, named `governance` in the store's own keyring (gateway.core.keys), makes:

- the opt-out registry's keys: a keyed hash of (issuer, PatientID) (model.optout_index); the pair itself is
  sealed beside it, bound to that index, so the admin can still list it;
- the ledger's `real` field: one sealed string of its canonical JSON, bound to the entry's seq.

The hash chain covers each entry in clear (chain.py), so sealing changes no hash: a ledger converted from the
clear layout keeps its head and its witness, and verifying opens every entry before it walks the chain. An entry
whose sealed field does not open (altered, or moved from another row) is handed to the walk as unreadable, and
the walk names it; a store sealed under another secret does not get that far, its data key does not unwrap.

The other fields stay in clear on purpose: actor, role, action, time, scope and profile version say who did
what; pseudonymous values are what was disclosed; details are the gateway's own words (a transaction, an HTTP
status, a public error message), never a value.
"""

from __future__ import annotations

import json

from gateway.core.governance.chain import canonical
from gateway.core.governance.model import LedgerEntry, OptOut, SealedOptOut, optout_index
from gateway.core.keys import DataKey
from gateway.errors import KeyMismatch

KEY_NAME = "governance"  # the governance data key's name in the store's keyring


class GovernanceSeal:
    def __init__(self, key: DataKey) -> None:
        self.key = key

    def __repr__(self) -> str:
        return "GovernanceSeal(<hidden>)"

    def index(self, optout: OptOut) -> str:
        return optout_index(self.key, optout.issuer, optout.patient_id)

    def sealed_optout(self, optout: OptOut) -> SealedOptOut:
        index = self.index(optout)
        return SealedOptOut(
            index,
            self.key.seal(optout.patient_id, "optout", index, "patient_id"),
            self.key.seal(optout.issuer, "optout", index, "issuer"),
            optout.added_at,
        )

    def opened_optout(self, sealed: SealedOptOut) -> OptOut:
        """The opt-out in clear; raises KeyMismatch when its pair does not open (the registry fails closed)."""
        patient_id = self.key.open(sealed.patient_id, "optout", sealed.index, "patient_id")
        return OptOut(patient_id, self.key.open(sealed.issuer, "optout", sealed.index, "issuer"), sealed.added_at)

    def kept(self, entry: LedgerEntry) -> LedgerEntry:
        """What a store keeps of a chained entry: the same entry with `real` sealed. Its hash is not recomputed."""
        if "real" not in entry.body:  # only a damaged entry of the clear layout lacks it: it stays damaged
            return entry
        real = self.key.seal(canonical({"real": entry.body["real"]}), "ledger", str(entry.seq), "real")
        return LedgerEntry(entry.seq, entry.prev, entry.hash, {**entry.body, "real": real})

    def opened(self, entry: LedgerEntry) -> LedgerEntry:
        """The entry in clear, or, when its `real` field does not open, an unreadable one that verify names."""
        if "real" not in entry.body:
            return entry
        sealed = entry.body["real"]
        try:
            if not isinstance(sealed, str):  # a store in this layout never holds one in clear
                raise KeyMismatch()
            real = json.loads(self.key.open(sealed, "ledger", str(entry.seq), "real"))["real"]
        except (KeyMismatch, ValueError, KeyError, TypeError):
            return LedgerEntry(entry.seq, entry.prev, entry.hash, {"unreadable": True})  # as the back ends mark one
        return LedgerEntry(entry.seq, entry.prev, entry.hash, {**entry.body, "real": real})
