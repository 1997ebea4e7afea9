"""Where a de-identified WADO-RS retrieve spends its time, stage by stage, per instance (no HTTP, no Orthanc).

    .venv/bin/python bench/bench_retrieve_stages.py [--instances 200] [--role researcher]

The body is a multipart/related study of 512x512 CT instances fed in 1 MiB chunks, as the origin sends it;
each part goes through the same stages as `gateway.web.handlers.retrieve`, with the embedded SQLite store warm.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

from gateway.adapters.sqlite.pseudonyms import SqliteStore
from gateway.codec.multipart import MultipartWriter, iter_parts
from gateway.codec.part10_stream import Part10Stream
from gateway.core.keys import Keyring
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import Profile, load_profiles
from gateway.demo.samples import large_ct_study

REPO = Path(__file__).resolve().parents[1]


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1 << 20):
        yield body[start : start + (1 << 20)]


async def one_pass(
    body: bytes, boundary: str, profile: Profile, engine: Engine, resolver: Resolver
) -> dict[str, float]:
    assert profile.scope is not None
    spent: dict[str, float] = defaultdict(float)
    clock = time.perf_counter
    async for part in iter_parts(_chunks(body), boundary):
        started = clock()
        stream = Part10Stream(part.body)
        header = await stream.read_header()
        spent["codec: split header"] += (now := clock()) - started
        ds = engine.read_header(header.data)
        spent["engine: read header"] += (then := clock()) - now
        needs = engine.needs(ds)
        spent["engine: needs"] += (now := clock()) - then
        mappings = await resolver.resolve(profile.scope, needs)
        spent["store: resolve (1 round trip)"] += (then := clock()) - now
        engine.apply(ds, mappings)
        spent["engine: apply"] += (now := clock()) - then
        engine.write_header(ds)
        spent["engine: write header"] += (then := clock()) - now
        async for _ in stream.pixel_value():
            pass
        await stream.read_trailer()
        await part.skip()
        spent["codec: pixels through"] += clock() - then
    return spent


async def main(instances: int, role: str) -> None:
    writer = MultipartWriter(related_type="application/dicom")
    head = writer.part_head({"Content-Type": "application/dicom"})
    body = b"".join(head + data + writer.part_tail() for data in large_ct_study(n=instances)) + writer.close()
    profile = load_profiles(REPO / "conf" / "roles")[role]
    engine = Engine(profile)
    store = SqliteStore(tempfile.mktemp(suffix=".sqlite3"))
    resolver = Resolver(store, Keyring(b"bench-secret-0123456789"), 1)
    await one_pass(body, writer.boundary, profile, engine, resolver)  # first sighting: fills the store
    started = time.perf_counter()
    spent = await one_pass(body, writer.boundary, profile, engine, resolver)
    total = time.perf_counter() - started
    await store.aclose()
    print("| stage | ms per instance |\n|---|---|")
    for stage, seconds in spent.items():
        print(f"| {stage} | {seconds / instances * 1000:.3f} |")
    print(f"| total per instance | {total / instances * 1000:.3f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--role", default="researcher")
    args = parser.parse_args()
    asyncio.run(main(args.instances, args.role))
