"""`dicomweb-gateway serve | check-config | demo | optout | ledger | reidentify | store | withdrawals` (the verbs
and flags are a contract).

The governance verbs live in `gateway.cli.governance`, the store verbs in `gateway.cli.store`, and the
recipient's client of the withdrawal feed in `gateway.cli.withdrawal_client`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.cli import governance, withdrawal_client
from gateway.cli import store as stores
from gateway.errors import ConfigError
from gateway.settings import Settings, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dicomweb-gateway", description="A de-identifying DICOMweb gateway.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    for verb, text in (("serve", "run the gateway"), ("check-config", "validate the config and role profiles")):
        sub = verbs.add_parser(verb, help=text)
        sub.add_argument("--config", type=Path, default=Path("conf/gateway.yaml"))
    demo = verbs.add_parser("demo", help="start Orthanc with sample studies and the gateway in front of it")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--dir", type=Path, default=Path(".demo"))
    governance.add_parsers(verbs)
    stores.add_parsers(verbs)
    withdrawal_client.add_parsers(verbs)
    args = parser.parse_args(argv)
    try:
        if args.verb in governance.VERBS:
            return governance.run(args)
        if args.verb in stores.VERBS:
            return stores.run(args)
        if args.verb in withdrawal_client.VERBS:
            return withdrawal_client.run(args)
        if args.verb == "serve":
            return serve(load_settings(args.config))
        if args.verb == "check-config":
            return check_config(args.config)
        from gateway.demo.run import run_demo

        return run_demo(workdir=args.dir, port=args.port)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


def check_config(path: Path) -> int:
    from gateway.core.governance.admin_actions import ADMIN_ROLE
    from gateway.core.roles import RoleBook

    settings = load_settings(path)
    roles = RoleBook.load(settings.roles_dir)
    for key_role in settings.auth.api_keys.values():
        if key_role not in roles.names() and key_role != ADMIN_ROLE:
            raise ConfigError(str(path), "auth.api_keys", f"names role {key_role!r}, which has no profile")
    print(f"{path}: OK; roles: {', '.join(roles.names())}")
    return 0


def serve(settings: Settings) -> int:
    """One process, or with `workers` above 1 a parent supervising that many (gateway.cli.workers)."""
    if settings.workers > 1:
        from gateway.cli.workers import supervise

        return supervise(settings)
    from gateway.web.app import run

    run(settings)
    return 0
