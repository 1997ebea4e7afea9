"""The recipient's client for the withdrawal feed (the verbs are a contract):

    dicomweb-gateway withdrawals pull --url GATEWAY --key API_KEY [--since N] [--state FILE] [--out FILE]
                                      [--public-key BASE64] [--no-ack]
    dicomweb-gateway withdrawals ack  --url GATEWAY --key API_KEY --cursor N [--state FILE]

`pull` reads every page from the cursor on (`--since`, else the one kept in `--state`, else the start), checks
each page's signature against the gateway's published key (or the pinned `--public-key`), and writes the
entries as JSON lines, one per withdrawn patient, to stdout or `--out`. It then acknowledges the last cursor
and keeps it in `--state`, unless `--no-ack`: a deletion job that must delete before it acknowledges runs
`pull --no-ack`, deletes, then `ack --cursor N` with the `next` it was given (printed to stderr).
Exit status: 0 done, 1 a page whose signature does not verify (nothing of it is written, nothing
acknowledged), 4 the gateway could not be reached or refused the request.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.core.governance.chain import canonical

VERBS = ("withdrawals",)
_PAGE = 100
_TIMEOUT_S = 30


class _Refused(Exception):
    """The gateway could not be reached, or answered with an error."""


def add_parsers(verbs: argparse._SubParsersAction) -> None:
    feed = verbs.add_parser("withdrawals", help="a recipient's client for the withdrawal feed")
    actions = feed.add_subparsers(dest="action", required=True)
    pull = actions.add_parser("pull", help="read, verify and print the feed, then acknowledge")
    ack = actions.add_parser("ack", help="acknowledge deletion up to a cursor")
    for sub in (pull, ack):
        sub.add_argument("--url", required=True, help="the gateway, e.g. https://gateway.example")
        sub.add_argument("--key", required=True, help="this recipient's API key (or bearer token)")
        sub.add_argument("--state", type=Path, help="a file that keeps the last acknowledged cursor")
    pull.add_argument("--since", type=int, help="read from this cursor (default: --state, else 0)")
    pull.add_argument("--out", type=Path, help="write JSON lines here (default: stdout)")
    pull.add_argument("--public-key", help="the gateway's Ed25519 key, base64, pinned instead of fetched")
    pull.add_argument("--no-ack", action="store_true", help="print only; acknowledge later with `ack`")
    ack.add_argument("--cursor", type=int, required=True)


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "ack":
            _acknowledge(args, args.cursor)
            return 0
        return _pull(args)
    except _Refused as exc:
        print(f"withdrawals {args.action} failed: {exc}", file=sys.stderr)
        return 4


def _pull(args: argparse.Namespace) -> int:
    key = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(args.public_key or _get(args, "/withdrawals/key")["public_key"])
    )
    cursor = args.since if args.since is not None else _kept(args.state)
    out: IO[str] = args.out.open("a", encoding="utf-8") if args.out else sys.stdout
    start = cursor
    try:
        while True:
            signed = _get(args, f"/withdrawals?since={cursor}&limit={_PAGE}")
            page = signed["page"]
            try:
                key.verify(base64.b64decode(signed["signature"]), canonical(page).encode("utf-8"))
            except InvalidSignature:
                print(f"withdrawals pull: the page from cursor {cursor} does not verify: stopped", file=sys.stderr)
                return 1
            for entry in page["entries"]:
                out.write(json.dumps({"scope": page["scope"], **entry}, sort_keys=True) + "\n")
            out.flush()
            cursor = page["next"]
            if len(page["entries"]) < page["limit"]:
                break
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"next cursor: {cursor}", file=sys.stderr)
    if cursor != start and not args.no_ack:
        _acknowledge(args, cursor)
    return 0


def _acknowledge(args: argparse.Namespace, cursor: int) -> None:
    answer = _request(args, "/withdrawals/ack", json.dumps({"cursor": cursor}).encode())
    if args.state is not None:
        args.state.write_text(f"{cursor}\n", encoding="utf-8")
    print(f"acknowledged up to cursor {answer['acknowledged']}", file=sys.stderr)


def _kept(state: Path | None) -> int:
    if state is None or not state.exists():
        return 0
    return int(state.read_text(encoding="utf-8").strip() or 0)


def _get(args: argparse.Namespace, path: str) -> Any:
    return _request(args, path, None)


def _request(args: argparse.Namespace, path: str, body: bytes | None) -> Any:
    headers = {"Authorization": f"Bearer {args.key}", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(args.url.rstrip("/") + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        message = (
            json.loads(exc.read() or b"{}").get("message", "")
            if exc.headers.get_content_type() == "application/json"
            else ""
        )
        raise _Refused(f"{exc.code} {message}".strip()) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _Refused(str(getattr(exc, "reason", exc))) from None
