"""The governance records. Real identifiers live here on purpose: these records are admin-only, never logged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.cache.model import patient_id_of, patient_key

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
        return self.key in withdrawing_keys(patient)


def withdrawing_keys(patient: str) -> tuple[str, str]:
    """The registry keys that withdraw a patient (given by its patient key): its own PatientID and issuer, and its
    PatientID alone, which an opt-out given without an issuer registers for that ID under every issuer.

    Two exact lookups, never a scan, so the registry can come to hold keyed hashes of the pairs instead.
    """
    return patient, patient_id_of(patient)


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
