"""Factories for the engine tests: a Mappings built from Needs with hashlib, standing in for the resolver."""

from __future__ import annotations

import hashlib
import pathlib

import pytest

from gateway.core.pseudonyms.model import IdKind, Mappings, Needs, ScopeSpec
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import Profile, load_profiles

ROLES_DIR = pathlib.Path(__file__).resolve().parents[3] / "conf" / "roles"
ROLES = ("clinician", "researcher", "external", "ai-service")


def _digest(scope: str, kind: IdKind, real: str) -> bytes:
    return hashlib.sha256(f"{scope}|{kind}|{real}".encode()).digest()


def derive(scope: ScopeSpec, kind: IdKind, real: str) -> str:
    digest = _digest(scope.name, kind, real)
    scheme = scope.scheme
    if kind is IdKind.PATIENT:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return scheme.patient_prefix + "".join(alphabet[b % 32] for b in digest[: scheme.patient_length])
    if kind is IdKind.DATE_SHIFT:
        return str(-(int.from_bytes(digest[:4], "big") % scheme.max_date_shift_days + 1))
    if kind is IdKind.UID:
        return f"{scheme.uid_root}.{int.from_bytes(digest[:16], 'big')}"
    prefix = scheme.accession_prefix if kind is IdKind.ACCESSION else scheme.study_id_prefix
    return prefix + digest[:5].hex().upper()


def mappings_for(profile: Profile, needs: Needs) -> Mappings:
    assert profile.scope is not None or not needs
    scope = profile.scope or ScopeSpec("identity", True)
    return Mappings({kind: {real: derive(scope, kind, real) for real in reals} for kind, reals in needs.values.items()})


@pytest.fixture(scope="session")
def profiles() -> dict[str, Profile]:
    return load_profiles(ROLES_DIR)


@pytest.fixture(scope="session")
def engines(profiles: dict[str, Profile]) -> dict[str, Engine]:
    return {name: Engine(profile) for name, profile in profiles.items()}
