"""The governance CLI verbs (a contract):

    dicomweb-gateway optout add|remove|list --config FILE [--issuer ISSUER] [PATIENT_ID]
    dicomweb-gateway ledger verify|export --config FILE [--format csv|json]
    dicomweb-gateway reidentify --config FILE --scope SCOPE PSEUDONYM

They work on the same stores the gateways use, so a change here is live on every replica within
`governance.refresh_s`. Every use is recorded in the ledger under `cli:<user>`. Exit status: 0 done,
1 the ledger failed verification or the pseudonym is unknown, 2 configuration error, 3 reversal refused
(irreversible scope), 4 a store is unavailable.
Identifiers are printed to stdout for the admin at the terminal and never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import sys
from pathlib import Path

from gateway.cache.derive import Deriver
from gateway.cache.factory import open_store
from gateway.cache.resolver import Resolver
from gateway.errors import ConfigError, GatewayError, NotFound
from gateway.governance.actions import ReversalImpossible, admin_draft, opt_out_of, reidentify, scope_named
from gateway.governance.chain import export_csv, export_json, verify
from gateway.governance.factory import open_for
from gateway.governance.store import GovernanceStore
from gateway.roles import RoleBook
from gateway.settings import Settings, load_settings

VERBS = ("optout", "ledger", "reidentify")


def add_parsers(verbs: argparse._SubParsersAction) -> None:
    optout = verbs.add_parser("optout", help="register, withdraw or list patient opt-outs")
    optout.add_argument("action", choices=("add", "remove", "list"))
    optout.add_argument("patient_id", nargs="?", metavar="PATIENT_ID")
    optout.add_argument("--issuer", default="", help="IssuerOfPatientID, if the PatientID has one")
    ledger = verbs.add_parser("ledger", help="verify or export the disclosure ledger")
    ledger.add_argument("action", choices=("verify", "export"))
    ledger.add_argument("--format", choices=("csv", "json"), default="json")
    again = verbs.add_parser("reidentify", help="map a pseudonym of a reversible scope back to its real value")
    again.add_argument("--scope", required=True)
    again.add_argument("pseudonym", metavar="PSEUDONYM")
    for sub in (optout, ledger, again):
        sub.add_argument("--config", type=Path, default=Path("conf/gateway.yaml"))


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.verb == "optout" and args.action != "list" and not args.patient_id:
        print(f"optout {args.action} needs a PATIENT_ID", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(settings, args))
    except GatewayError as exc:
        if isinstance(exc, ConfigError):
            raise
        print(f"{args.verb} failed: {exc.public_message}", file=sys.stderr)
        return 4


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    store = open_for(settings)
    try:
        if args.verb == "optout":
            return await _optout(store, args)
        if args.verb == "ledger":
            return await _ledger(store, args)
        return await _reidentify(settings, store, args)
    finally:
        await store.aclose()


async def _optout(store: GovernanceStore, args: argparse.Namespace) -> int:
    if args.action == "list":
        for optout in await store.optouts():
            print(f"{optout.patient_id}\t{optout.issuer}\t{optout.added_at}")
        await store.append(admin_draft(_actor(), "admin.optout.list"))
        return 0
    optout = opt_out_of(args.patient_id, args.issuer)
    changed = await (store.add_optout(optout) if args.action == "add" else store.remove_optout(optout.key))
    detail = {"changed": "yes" if changed else "no (already so)"}
    await store.append(admin_draft(_actor(), f"admin.optout.{args.action}", real={"patients": [optout.key]},
                                   detail=detail))
    print(f"{args.action}: {optout.key} ({detail['changed']})")
    return 0


async def _ledger(store: GovernanceStore, args: argparse.Namespace) -> int:
    entries = await store.entries()
    if args.action == "export":
        sys.stdout.write(export_csv(entries) if args.format == "csv" else export_json(entries))
        await store.append(admin_draft(_actor(), "admin.ledger.export", detail={"format": args.format}))
        return 0
    verdict = verify(entries, await store.head())
    print(verdict.describe(), file=sys.stdout if verdict.ok else sys.stderr)
    await store.append(admin_draft(_actor(), "admin.ledger.verify", detail={"intact": str(verdict.ok).lower()}))
    return 0 if verdict.ok else 1


async def _reidentify(settings: Settings, store: GovernanceStore, args: argparse.Namespace) -> int:
    scope = scope_named(RoleBook.load(settings.roles_dir), args.scope)
    pseudonyms = open_store(settings.store.url, timeout=settings.store.timeout_s)
    resolver = Resolver(pseudonyms, Deriver(settings.secret.get_secret_value().encode()), settings.key_version)
    asked = {"pseudonym": [args.pseudonym]}
    try:
        kind, real = await reidentify(resolver, scope, args.pseudonym)
    except (ReversalImpossible, NotFound) as exc:
        refused = admin_draft(_actor(), "admin.reidentify", scope=scope.name, pseudonymous=asked,
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
