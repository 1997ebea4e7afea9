"""Python calls per instance of the header work, for comparing two versions of the engine on a noisy machine.

    .venv/bin/python bench/bench_header_calls.py [--instances 60]

Seconds on a shared 2-core machine move by 10-20 % between runs; the number of Python calls `cProfile` counts
for the same work does not. It runs the researcher engine over small instances of the benchmark CT
(`gateway.demo.samples.large_ct_study`): Part 10 (read, needs, apply, write) and DICOM JSON (apply, with the
pixel data as a BulkDataURI, as Orthanc sends metadata), both warm.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

import pydicom

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from core.rules.conftest import mappings_for  # noqa: E402

from gateway.codec.part10_stream import split_part10  # noqa: E402
from gateway.core.pseudonyms.model import Needs  # noqa: E402
from gateway.core.rules.engine import Engine  # noqa: E402
from gateway.core.rules.profile import load_profiles  # noqa: E402
from gateway.demo.samples import large_ct_study  # noqa: E402


def calls(work: object) -> int:
    profile = cProfile.Profile()
    profile.enable()
    work()  # type: ignore[operator]
    profile.disable()
    return pstats.Stats(profile).total_calls  # type: ignore[attr-defined, no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=60)
    count = parser.parse_args().instances
    engine = Engine(load_profiles(REPO / "conf" / "roles")["researcher"])
    data = [d for _, d in zip(range(count), large_ct_study(count, 64, 64), strict=False)]
    objects = [pydicom.dcmread(io.BytesIO(d)).to_json_dict() for d in data]
    for obj in objects:
        obj["7FE00010"] = {"vr": "OW", "BulkDataURI": "http://origin/bulk"}
    headers = [split_part10(d).header.data for d in data]
    needs = Needs()
    for header in headers:
        needs.merge(engine.needs(engine.read_header(header)))
    for obj in objects:
        needs.merge(engine.needs_json(obj))
    mappings = mappings_for(engine.profile, needs)

    def part10() -> None:
        for header in headers:
            ds = engine.read_header(header)
            engine.needs(ds)
            engine.apply(ds, mappings)
            engine.write_header(ds)

    def json() -> None:
        for obj in objects:
            engine.apply_json(obj, mappings)

    part10(), json()  # warm: memos filled as a series fills them
    print(f"Part 10 header: {calls(part10) // count} calls per instance")
    print(f"DICOM JSON object: {calls(json) // count} calls per object")


if __name__ == "__main__":
    main()
