"""The governance CLI verbs (a contract):

    dicomweb-gateway optout add|remove|status --config FILE [--issuer ISSUER] PATIENT_ID   (options anywhere)
    dicomweb-gateway optout list --config FILE
    dicomweb-gateway ledger verify|export --config FILE [--format csv|json]
    dicomweb-gateway reidentify --config FILE --scope SCOPE PSEUDONYM

They work on the same stores the gateways use, so a change here is live on every replica within
`governance.refresh_s`. Every use is recorded in the ledger under `cli:<user>`. Exit status: 0 done,
1 the ledger failed verification or the pseudonym is unknown, 2 configuration error, 3 reversal refused
(irreversible scope), 4 a store is unavailable.
Identifiers are printed to stdout for the admin at the terminal and never logged. `optout add` also says how
many studies the origin holds of the patient; none, or an origin that cannot be asked, is a warning (exit 0).
`optout add` also writes the withdrawal feed's entries (what each scope was given of the patient); when the
origin cannot be asked they are not written, which is said, and repeating the add writes them. `optout status`
prints, per scope given the patient's data, when it fetched and acknowledged the withdrawal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import sys
from pathlib import Path

from gateway.adapters.backends import open_store, sealed_for
from gateway.adapters.origin import holding_note, patient_objects
from gateway.adapters.upstream import UpstreamClient
from gateway.core.governance.admin_actions import (
    ReversalImpossible,
    admin_draft,
    opt_out_of,
    record_withdrawal,
    reidentify,
    scope_named,
    verify_ledger,
)
from gateway.core.governance.chain import export_csv, export_json
from gateway.core.governance.model import OptOut
from gateway.core.governance.store import GovernanceStore
from gateway.core.governance.withdrawal import PatientObjects, loop_status
from gateway.core.keys import Keyring
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.roles import RoleBook
from gateway.errors import ConfigError, GatewayError, NotFound, UpstreamError
from gateway.settings import Settings, load_settings

VERBS = ("optout", "ledger", "reidentify")


def add_parsers(verbs: argparse._SubParsersAction) -> None:
    # Each action is its own parser with a required positional, so options may come before or after it
    # (argparse cannot place an optional positional that follows an option).
    optout = verbs.add_parser("optout", help="register, withdraw or list patient opt-outs")
    actions = optout.add_subparsers(dest="action", required=True)
    for action, text in (
        ("add", "withdraw a patient"),
        ("remove", "give a withdrawn patient back"),
        ("status", "where the withdrawal of a patient has reached, per scope"),
    ):
        patient = actions.add_parser(action, help=text)
        patient.add_argument("patient_id", metavar="PATIENT_ID")
        patient.add_argument("--issuer", default="", help="IssuerOfPatientID; without it, the ID under every issuer")
        _config_option(patient)
    _config_option(actions.add_parser("list", help="list the opt-outs"))
    ledger = verbs.add_parser("ledger", help="verify or export the disclosure ledger")
    ledger.add_argument("action", choices=("verify", "export"))
    ledger.add_argument("--format", choices=("csv", "json"), default="json")
    again = verbs.add_parser("reidentify", help="map a pseudonym of a reversible scope back to its real value")
    again.add_argument("--scope", required=True)
    again.add_argument("pseudonym", metavar="PSEUDONYM")
    for sub in (ledger, again):
        _config_option(sub)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=Path("conf/gateway.yaml"))


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    try:
        return asyncio.run(_run(settings, args))
    except GatewayError as exc:
        if isinstance(exc, ConfigError):
            raise
        print(f"{args.verb} failed: {exc.public_message}", file=sys.stderr)
        return 4


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    store = sealed_for(settings)
    try:
        if args.verb == "optout":
            return await _optout(settings, store, args)
        if args.verb == "ledger":
            return await _ledger(settings, store, args)
        return await _reidentify(settings, store, args)
    finally:
        await store.aclose()


async def _optout(settings: Settings, store: GovernanceStore, args: argparse.Namespace) -> int:
    if args.action == "list":
        for optout in await store.optouts():
            print(f"{optout.patient_id}\t{optout.issuer}\t{optout.added_at}")
        await store.append(admin_draft(_actor(), "admin.optout.list"))
        return 0
    optout = opt_out_of(args.patient_id, args.issuer)
    if args.action == "status":
        rows = loop_status(await store.entries(), await store.optout_index(optout))
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        if not rows:
            print("no withdrawal entries: no scope was given data of this patient", file=sys.stderr)
        await store.append(admin_draft(_actor(), "admin.optout.status", real={"patients": [optout.key]}))
        return 0
    if args.action == "remove":
        changed = await store.remove_optout(optout)
        print("opt-out removed: 1 patient" if changed else "no opt-out to remove: nothing changed")
    else:
        changed = await store.add_optout(optout)
        objects = await _patient_objects(settings, optout)
        note = holding_note(None if objects is None else len(objects.studies))
        done = "opted out: 1 patient" if changed else "already opted out: nothing changed"
        print(f"{done}; {note}", file=sys.stderr if note.startswith("warning") else sys.stdout)
        if objects is None:
            print("warning: the withdrawal feed was not written; add the opt-out again once the origin answers",
                  file=sys.stderr)
        else:
            listed = await _record_withdrawal(settings, store, optout, objects)
            print(f"withdrawal feed: {', '.join(f'{s} {n}' for s, n in listed.items()) or 'no scope was given data'}")
    detail = {"changed": "yes" if changed else "no (already so)"}
    await store.append(admin_draft(_actor(), f"admin.optout.{args.action}", real={"patients": [optout.key]},
                                   detail=detail))
    return 0


async def _patient_objects(settings: Settings, optout: OptOut) -> PatientObjects | None:
    """What the origin holds of the patient; None when it cannot be asked."""
    upstream = UpstreamClient(settings.upstream.url, timeout_s=settings.upstream.timeout_s, max_connections=1)
    await upstream.open()
    try:
        return await patient_objects(upstream, optout)
    except UpstreamError:
        return None
    finally:
        await upstream.aclose()


async def _record_withdrawal(
    settings: Settings, store: GovernanceStore, optout: OptOut, objects: PatientObjects
) -> dict[str, int]:
    pseudonyms = open_store(settings.store.url, timeout=settings.store.timeout_s)
    resolver = Resolver(pseudonyms, Keyring(settings.secret.get_secret_value().encode()), settings.key_version)
    try:
        return await record_withdrawal(store, resolver, RoleBook.load(settings.roles_dir), optout, objects, _actor())
    finally:
        await pseudonyms.aclose()


async def _ledger(settings: Settings, store: GovernanceStore, args: argparse.Namespace) -> int:
    if args.action == "export":
        entries = await store.entries()
        sys.stdout.write(export_csv(entries) if args.format == "csv" else export_json(entries))
        await store.append(admin_draft(_actor(), "admin.ledger.export", detail={"format": args.format}))
        return 0
    verdict = await verify_ledger(store)
    print(verdict.describe(), file=sys.stdout if verdict.ok else sys.stderr)
    if settings.governance.witness_path is None:
        print("warning: no governance.witness_path: a store that lost its history cannot be told from a new one",
              file=sys.stderr)
    await store.append(admin_draft(_actor(), "admin.ledger.verify", detail={"intact": str(verdict.ok).lower()}))
    return 0 if verdict.ok else 1


async def _reidentify(settings: Settings, store: GovernanceStore, args: argparse.Namespace) -> int:
    scope = scope_named(RoleBook.load(settings.roles_dir), args.scope)
    pseudonyms = open_store(settings.store.url, timeout=settings.store.timeout_s)
    resolver = Resolver(pseudonyms, Keyring(settings.secret.get_secret_value().encode()), settings.key_version)
    asked = {"pseudonym": [args.pseudonym]}
    try:
        kind, real = await reidentify(resolver, scope, args.pseudonym)
    except (ReversalImpossible, NotFound) as exc:
        # Not a pseudonym this scope issued, so it may be anything the admin typed: sealed, with the real fields.
        refused = admin_draft(_actor(), "admin.reidentify", scope=scope.name, real={"asked": [args.pseudonym]},
                              detail={"outcome": exc.public_message})
        await store.append(refused)
        print(f"reidentify refused: {exc.public_message}", file=sys.stderr)
        return 3 if isinstance(exc, ReversalImpossible) else 1
    finally:
        await pseudonyms.aclose()
    detail = {"outcome": "reversed", "kind": kind.value}
    await store.append(admin_draft(_actor(), "admin.reidentify", scope=scope.name, pseudonymous=asked,
                                   real={kind.value: [real]}, detail=detail))
    print(json.dumps({"scope": scope.name, "pseudonym": args.pseudonym, "kind": kind.value, "real": real}))
    return 0


def _actor() -> str:
    return f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
