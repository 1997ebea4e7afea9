"""Disclosure-ledger appends on the embedded (SQLite) store: one at a time, and with concurrent responses.

Every de-identified response appends one entry before it completes, so under a viewer (six frame requests in
flight) appends arrive together. The store commits appends that arrive together in one transaction; this
measures what that buys. Run: .venv/bin/python bench/bench_ledger.py [--appends N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from gateway.adapters.sqlite.governance import SqliteGovernance
from gateway.core.governance.chain import verify
from gateway.core.governance.model import Draft
from gateway.core.governance.sealed import SealedGovernance
from gateway.core.keys import Keyring


def draft(n: int) -> Draft:
    return Draft(
        actor="bench",
        role="researcher",
        action="disclose",
        time="2026-11-21T00:00:00.000+00:00",
        scope="researcher",
        profile_version="bench",
        real={"instances": [f"1.2.3.{n}"]},
        pseudonymous={"instances": [f"2.25.{n}"]},
        detail={},
    )


async def run(appends: int, in_flight: int) -> tuple[float, int]:
    """Seconds for `appends` appends with `in_flight` callers at a time; and the chain's length, verified."""
    with tempfile.TemporaryDirectory() as workdir:
        # As the gateway appends: sealed, so each append's cost includes sealing its real UIDs.
        backend = SqliteGovernance(str(Path(workdir) / "ledger.sqlite3"), timeout=10)
        store = SealedGovernance(backend, Keyring(b"bench-secret-0123456789abcdef"))
        await store.append(draft(-1))  # open the file and unlock its key outside the timing
        queue = iter(range(appends))

        async def caller() -> None:
            for n in queue:
                await store.append(draft(n))

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(in_flight)))
        elapsed = time.perf_counter() - started
        entries = await store.entries()
        assert verify(entries, await store.head()).ok
        await store.aclose()
        return elapsed, len(entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=600)
    args = parser.parse_args()
    print("| callers in flight | appends | s | ms/append | appends/s |")
    print("|---:|---:|---:|---:|---:|")
    for in_flight in (1, 6, 50):
        elapsed, length = asyncio.run(run(args.appends, in_flight))
        assert length == args.appends + 1
        print(f"| {in_flight} | {args.appends} | {elapsed:.3f} | {1000 * elapsed / args.appends:.3f} | "
              f"{args.appends / elapsed:,.0f} |")


if __name__ == "__main__":
    main()
