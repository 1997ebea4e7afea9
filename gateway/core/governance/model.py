"""The governance records. Real identifiers live here on purpose: these records are admin-only, never logged.

In memory only: the stores keep opt-outs as keyed hashes of (issuer, PatientID) with the pair sealed beside it,
and the ledger's real identifiers sealed (sealing.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.core.dicom import patient_key
from gateway.core.keys import DataKey

# Identifier levels of a disclosure; the real and the pseudonymous lists of one level are parallel.
LEVELS = ("studies", "series", "instances")
GENESIS = "0" * 64  # the `prev` of the first ledger entry


@dataclass(frozen=True)
class OptOut:
    patient_id: str
    issuer: str  # "" when the PatientID has no issuer
    added_at: str  # ISO 8601, UTC

    @property
    def key(self) -> str:
        """The same key the pseudonym store uses for this patient."""
        return patient_key(self.patient_id, self.issuer or None)

    def covers(self, patient: str) -> bool:
        return (self.issuer, self.patient_id) in withdrawing_pairs(patient)


def withdrawing_pairs(patient: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """The (issuer, PatientID) registrations that withdraw a patient (given by its patient key): its own pair, and
    its PatientID with no issuer, which an opt-out given without an issuer registers for that ID under every
    issuer."""
    issuer, _, patient_id = patient.rpartition("\\")  # the layout of cache.model.patient_key
    return (issuer, patient_id), ("", patient_id)


def optout_index(key: DataKey, issuer: str, patient_id: str) -> str:
    """What the registry is keyed by: a keyed hash of the pair, so a copy of it names no patient."""
    return key.index("optout", issuer, patient_id)


def withdrawing_keys(patient: str, key: DataKey) -> tuple[str, str]:
    """The registry indexes that withdraw a patient: two exact lookups, never a scan."""
    own, every_issuer = withdrawing_pairs(patient)
    return optout_index(key, *own), optout_index(key, *every_issuer)


@dataclass(frozen=True)
class SealedOptOut:
    """An opt-out as the registry keeps it: its index, and its PatientID and issuer sealed to that index."""

    index: str
    patient_id: str
    issuer: str
    added_at: str


@dataclass(frozen=True)
class Withdrawals:
    """The indexes of the opt-outs, as of one version of the registry: no PatientID is held, even in memory."""

    indexes: frozenset[str] = frozenset()
    version: int = -1
    key: DataKey | None = None  # the governance data key the indexes were made with; None for an empty registry

    def covers(self, patient: str) -> bool:
        """Whether the patient with this patient key is withdrawn, under its issuer or under every issuer."""
        if self.key is None:
            return False
        return any(index in self.indexes for index in withdrawing_keys(patient, self.key))


@dataclass(frozen=True)
class StoredProfile:
    """A role profile edited at run time: its YAML text and a version number counted per role from 1."""

    role: str
    version: int
    text: str
    actor: str
    updated_at: str


@dataclass(frozen=True)
class Versions:
    """Counters bumped by every change; a replica reloads what changed when it sees a new value."""

    optouts: int
    profiles: int


@dataclass(frozen=True)
class Draft:
    """A ledger entry before it is chained: what happened, by whom, about which identifiers."""

    actor: str
    role: str
    action: str  # "disclose" for data responses; "admin.*" for admin actions
    time: str
    scope: str = ""
    profile_version: str = ""
    real: Mapping[str, list[str]] = field(default_factory=dict)
    pseudonymous: Mapping[str, list[str]] = field(default_factory=dict)
    detail: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "time": self.time,
            "scope": self.scope,
            "profile_version": self.profile_version,
            "real": {k: list(v) for k, v in self.real.items()},
            "pseudonymous": {k: list(v) for k, v in self.pseudonymous.items()},
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class Head:
    """The last entry of the ledger as the store records it: the tail that a deletion must also forge.

    `genesis` is the hash of entry 1: a ledger that lost its history and began again has another one.
    """

    seq: int
    hash: str
    genesis: str = ""


EMPTY_HEAD = Head(0, GENESIS)


@dataclass(frozen=True)
class LedgerEntry:
    """One chained entry. `hash` covers `seq`, `prev` and the whole body, so any edit breaks the chain."""

    seq: int
    prev: str
    hash: str
    body: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, **self.body, "prev": self.prev, "hash": self.hash}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        body = {k: v for k, v in data.items() if k not in ("seq", "prev", "hash")}
        return cls(int(data["seq"]), str(data.get("prev", "")), str(data.get("hash", "")), body)
