"""The store CLI verbs (a contract):

    dicomweb-gateway store migrate --config FILE
    dicomweb-gateway store rekey --config FILE        (the new secret comes from GATEWAY_NEW_SECRET)

`migrate` moves a pseudonym store (and its governance store) written before issue 12 to the layout without
real values in clear; every pseudonym resolves the same way afterwards. `rekey` wraps both stores' data keys
under a new secret: no index, sealed value or pseudonym changes, and afterwards only the new secret opens the
stores. Run either with the gateways stopped, then start them (with GATEWAY_SECRET set to the new secret after
a rekey). Exit status: 0 done, 1 the migration found conflicts and kept the old layout, 2 configuration error,
4 a store is unavailable or the secret does not open it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from gateway.adapters.backends import open_for, open_store
from gateway.core.governance.migration import migrate as migrate_governance
from gateway.core.keys import Keyring
from gateway.core.pseudonyms.migration import migrate
from gateway.core.pseudonyms.store import KeyringStore
from gateway.errors import ConfigError, GatewayError
from gateway.settings import Settings, load_settings

VERBS = ("store",)
NEW_SECRET = "GATEWAY_NEW_SECRET"


def add_parsers(verbs: argparse._SubParsersAction) -> None:
    store = verbs.add_parser("store", help="migrate the stores' layout or wrap their keys under a new secret")
    actions = store.add_subparsers(dest="action", required=True)
    for action, text in (
        ("migrate", "move a store written before issue 12 to the layout without real values in clear"),
        ("rekey", f"wrap the stores' keys under the secret in {NEW_SECRET}"),
    ):
        actions.add_parser(action, help=text).add_argument("--config", type=Path, default=Path("conf/gateway.yaml"))


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    try:
        return asyncio.run(_migrate(settings) if args.action == "migrate" else _rekey(settings))
    except GatewayError as exc:
        if isinstance(exc, ConfigError):
            raise
        print(f"store {args.action} failed: {exc.public_message}", file=sys.stderr)
        return 4


def _keyring(settings: Settings) -> Keyring:
    return Keyring(settings.secret.get_secret_value().encode())


async def _migrate(settings: Settings) -> int:
    keyring = _keyring(settings)
    pseudonyms = open_store(settings.store.url, timeout=settings.store.timeout_s)
    governance = open_for(settings)
    try:
        moved = await migrate(pseudonyms, keyring, key_version=settings.key_version)
        governed = await migrate_governance(governance, keyring)
    finally:
        await pseudonyms.aclose()
        await governance.aclose()
    counts = ", ".join(f"{kind} {count}" for kind, count in sorted(moved.moved.items())) or "nothing"
    print(f"pseudonyms moved: {counts}")
    print(f"governance moved: {', '.join(f'{what} {count}' for what, count in sorted(governed.items())) or 'nothing'}")
    if moved.conflicts:
        print(
            f"{moved.conflicts} rows name a pseudonym another value already holds; the old layout is kept",
            file=sys.stderr,
        )
        return 1
    return 0


async def _rekey(settings: Settings) -> int:
    new_secret = os.environ.get(NEW_SECRET, "")
    if len(new_secret) < 16:
        raise ConfigError(NEW_SECRET, NEW_SECRET, "set it to the new secret, at least 16 characters")
    old, new = _keyring(settings), Keyring(new_secret.encode())
    pseudonyms = open_store(settings.store.url, timeout=settings.store.timeout_s)
    governance = open_for(settings)
    stores: list[tuple[str, KeyringStore]] = [("pseudonym", pseudonyms), ("governance", governance)]
    try:
        # Every key is unwrapped before any is written, so a wrong current secret changes nothing.
        rewrapped = [(name, store, old.rewrap(await store.wrapped_keys(), new)) for name, store in stores]
        for name, store, keys in rewrapped:
            await store.replace_wrapped_keys(keys)
            print(f"{name} store: {len(keys)} keys wrapped under the new secret")
    finally:
        await pseudonyms.aclose()
        await governance.aclose()
    print(f"now set GATEWAY_SECRET to the value of {NEW_SECRET} and start the gateways")
    return 0
