"""What an admin does, shared by the admin API and the CLI: opt-outs, re-identification, ledger records."""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway.core.dicom import PATIENT_ID
from gateway.core.governance.chain import Verdict, verify
from gateway.core.governance.disclosure import now
from gateway.core.governance.model import Draft, OptOut
from gateway.core.governance.store import GovernanceStore
from gateway.core.governance.withdrawal import PatientObjects, given, since_last_withdrawal, withdrawal_draft
from gateway.core.pseudonyms.model import IdKind, Needs, ScopeSpec
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.roles import RoleBook
from gateway.core.rules.actions import Action
from gateway.errors import BadRequest, IrreversibleScope, NotFound

ADMIN_ROLE = "admin"  # API keys (or token roles) bound to it reach the admin API and nothing else
_MAX_ID = 64  # PatientID is LO: 64 characters
# What a pseudonym may stand for, most specific first; a UID-shaped pseudonym can only be a UID.
_KINDS = (IdKind.PATIENT, IdKind.ACCESSION, IdKind.STUDY_ID)
UID_SHAPE = re.compile(r"^[0-9]+(\.[0-9]+)+$")


class ReversalImpossible(IrreversibleScope):
    public_message = "this scope is irreversible: reversal is impossible, no correspondence is kept"


def opt_out_of(patient_id: str, issuer: str | None) -> OptOut:
    patient_id, issuer = patient_id.strip(), (issuer or "").strip()
    if not patient_id or len(patient_id) > _MAX_ID or len(issuer) > _MAX_ID or "\\" in patient_id + issuer:
        raise BadRequest("PatientID must be 1-64 characters and, with its issuer, hold no backslash")
    return OptOut(patient_id, issuer, now())


async def verify_ledger(store: GovernanceStore) -> Verdict:
    """The chain as stored, checked against the store's head and against this host's witness of it."""
    return verify(await store.entries(), await store.head(), await store.witnessed())


def scope_named(book: RoleBook, name: str) -> ScopeSpec:
    for role_name in book.names():
        role = book.get(role_name)
        if role is not None and role.profile.scope is not None and role.profile.scope.name == name:
            return role.profile.scope
    raise NotFound("no role uses that scope")


async def reidentify(resolver: Resolver, scope: ScopeSpec, pseudonym: str) -> tuple[IdKind, str]:
    """The real value behind a pseudonym of a reversible scope, and what kind of identifier it is."""
    if not scope.reversible:
        raise ReversalImpossible()
    for kind in (IdKind.UID,) if UID_SHAPE.match(pseudonym) else _KINDS:
        found = await resolver.real_values(scope, kind, [pseudonym])
        if pseudonym in found:
            return kind, found[pseudonym]
    raise NotFound("this scope never issued that pseudonym")


def admin_draft(
    actor: str,
    action: str,
    *,
    scope: str = "",
    profile_version: str = "",
    real: Mapping[str, list[str]] | None = None,
    pseudonymous: Mapping[str, list[str]] | None = None,
    detail: Mapping[str, str] | None = None,
) -> Draft:
    return Draft(actor, ADMIN_ROLE, action, now(), scope, profile_version, real or {}, pseudonymous or {},
                 detail or {})


async def record_withdrawal(
    store: GovernanceStore, resolver: Resolver, book: RoleBook, optout: OptOut, objects: PatientObjects, actor: str
) -> dict[str, int]:
    """Write the `withdraw` entry of every scope that was given data of this patient since the opt-out's last
    one (withdrawal.py). Returns, per scope, how many identifiers its entry lists."""
    index = await store.optout_index(optout)
    entries = since_last_withdrawal(await store.entries(), index)
    listed: dict[str, int] = {}
    for scope_name, scope_given in sorted(given(entries, objects).items()):
        patients = await _patient_pseudonyms(resolver, book, scope_name, scope_given.patients)
        draft = withdrawal_draft(actor, scope_name, index, optout.added_at, scope_given.uids, patients)
        await store.append(draft)
        listed[scope_name] = sum(len(values) for values in draft.pseudonymous.values())
    return listed


async def _patient_pseudonyms(resolver: Resolver, book: RoleBook, scope_name: str, patients: set[str]) -> set[str]:
    """The pseudonyms the scope was given for these patients: none when no role of that scope shows PatientID
    as a pseudonym (or no role uses the scope any more)."""
    for role_name in book.names():
        role = book.get(role_name)
        scope = role.profile.scope if role is not None else None
        if role is None or scope is None or scope.name != scope_name:
            continue
        if role.profile.action_for(PATIENT_ID) is not Action.PSEUDONYM:
            return set()
        mappings = await resolver.resolve(scope, Needs({IdKind.PATIENT: patients}))
        return {mappings.get(IdKind.PATIENT, patient) for patient in patients}
    return set()
