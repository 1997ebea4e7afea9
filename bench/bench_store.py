"""Pseudonym store benchmark: the UIDs of a 500-instance series, resolved as the gateway resolves them.

The gateway resolves once per response part (one instance): its SOP Instance UID plus the study, series and
frame-of-reference UIDs. For each back end this measures a first sighting (new scope) and a warm pass, plus
a series-metadata response whose single part needs all 503 UIDs at once. Round trips are measured on the
back end's side: Redis INFO commandstats (commands run inside our Lua scripts excluded), SQLite committed
transactions. Run: .venv/bin/python bench/bench_store.py  (writes bench/store-report.md)
"""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.redis_server import RedisServer  # noqa: E402

from gateway.adapters.redis.pseudonyms import RedisStore  # noqa: E402
from gateway.adapters.sqlite.pseudonyms import SqliteStore  # noqa: E402
from gateway.core.keys import Keyring  # noqa: E402
from gateway.core.pseudonyms.model import IdKind, Needs, ScopeSpec  # noqa: E402
from gateway.core.pseudonyms.resolver import Resolver  # noqa: E402
from gateway.core.pseudonyms.store import PseudonymStore  # noqa: E402

INSTANCES = 500
SCRIPTED = {"hsetnx", "hget", "hset", "set", "get", "info"}  # run inside our scripts, or by redis-cli: not round trips


@dataclass
class Row:
    backend: str
    case: str
    parts: int
    uids: int
    seconds: float
    round_trips: int

    def markdown(self) -> str:
        return (
            f"| {self.backend} | {self.case} | {self.uids / self.seconds:,.0f} | "
            f"{self.parts / self.seconds:,.0f} | {self.seconds * 1000 / self.parts:.3f} | "
            f"{self.round_trips / self.parts:.2f} |"
        )


def series(tag: str) -> tuple[list[str], list[str]]:
    shared = [f"1.2.840.99999.{tag}.1", f"1.2.840.99999.{tag}.2", f"1.2.840.99999.{tag}.3"]
    return shared, [f"1.2.840.99999.{tag}.4.{i}" for i in range(INSTANCES)]


def uid_needs(uids: list[str]) -> Needs:
    needs = Needs()
    for uid in uids:
        needs.add(IdKind.UID, uid)
    return needs


async def measure(
    backend: str, case: str, resolver: Resolver, scope: ScopeSpec, parts: list[list[str]], trips: Callable[[], int]
) -> Row:
    before = trips()
    started = time.perf_counter()
    for part in parts:
        await resolver.resolve(scope, uid_needs(part))
    seconds = time.perf_counter() - started
    return Row(backend, case, len(parts), sum(map(len, parts)), seconds, trips() - before)


async def bench(backend: str, store: PseudonymStore, trips: Callable[[], int]) -> list[Row]:
    resolver = Resolver(store, Keyring(secrets.token_bytes(32)), key_version=1)
    await store.ping()
    rows = []
    for tag, layout in (("a", "per instance"), ("b", "whole series in one part")):
        scope = ScopeSpec(f"bench-{tag}-{secrets.token_hex(4)}", reversible=True)
        shared, sops = series(tag)
        parts = [[*shared, sop] for sop in sops] if tag == "a" else [[*shared, *sops]]
        for sighting in ("first sighting", "warm"):
            rows.append(await measure(backend, f"{layout}, {sighting}", resolver, scope, parts, trips))
    await store.aclose()
    return rows


def redis_trips(server: RedisServer) -> Callable[[], int]:
    return lambda: sum(n for name, n in server.command_calls().items() if name not in SCRIPTED)


async def main() -> list[Row]:
    with tempfile.TemporaryDirectory() as directory:
        sqlite_store = SqliteStore(str(Path(directory) / "bench.db"))
        rows = await bench("SQLite", sqlite_store, lambda: sqlite_store.transactions)
        server = RedisServer(Path(directory) / "redis")
        server.dir.mkdir()
        server.start()
        try:
            rows += await bench("Redis", RedisStore(server.url), redis_trips(server))
        finally:
            server.close()
    return rows


def report(rows: list[Row]) -> str:
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    return "\n".join(
        [
            "# Pseudonym store benchmark",
            "",
            f"`bench/bench_store.py`, {time.strftime('%Y-%m-%d')}: Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs, {redis_version.split()[2].removeprefix('v=')} Redis on loopback "
            "(appendonly, appendfsync always), SQLite WAL with synchronous=FULL on local disk.",
            "",
            f"A series of {INSTANCES} instances: 500 SOP Instance UIDs plus study, series and frame-of-reference "
            "UIDs. *Per instance*: one `Resolver.resolve()` per instance (4 UIDs), as the gateway resolves each "
            "response part, one after another. *Whole series in one part*: one resolve of all 503 UIDs (a "
            "series metadata response). *First sighting* uses a new scope, so it includes the scope's key "
            "version lookup and every insert; *warm* repeats the same requests. Round trips are measured on "
            "the back end: Redis `INFO commandstats` (commands run inside the Lua scripts and the benchmark's "
            "own INFO excluded), SQLite committed transactions. Above 1.00, first sightings count the "
            "scope's key-version lookup (one per scope), the data key's lookup (one per key version) and, on "
            "Redis, loading each Lua script once after the server started (NOSCRIPT, SCRIPT LOAD, retry: two "
            "extra each). Every UID costs an index (HMAC) and a sealed value (AES-GCM) on the gateway's side, "
            "known or not, since only the store knows which. One run on a shared machine: rates vary by up to "
            "a factor of two between runs; round trips do not vary.",
            "",
            "| back end | case | UID lookups/s | parts/s | ms/part | round trips/part |",
            "|---|---|---:|---:|---:|---:|",
            *(row.markdown() for row in rows),
            "",
        ]
    )


if __name__ == "__main__":
    text = report(asyncio.run(main()))
    (ROOT / "bench" / "store-report.md").write_text(text)
    print(text)
