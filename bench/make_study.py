"""Write or upload the benchmark study: 500 CT slices of 512x512 16-bit, about 263 MB (synthetic, no downloads).

    .venv/bin/python bench/make_study.py --out /tmp/bench-study
    .venv/bin/python bench/make_study.py --orthanc http://127.0.0.1:8042
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gateway.demo.orthanc import upload_instance
from gateway.demo.samples import LARGE_STUDY_UID, large_ct_study


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="directory to write <n>.dcm files into")
    target.add_argument("--orthanc", metavar="URL", help="Orthanc base URL to POST /instances to")
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--cols", type=int, default=512)
    parser.add_argument("--workers", type=int, default=4, help="concurrent uploads (with --orthanc)")
    return parser.parse_args(argv)


def write(instances: Iterator[bytes], directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for number, data in enumerate(instances, start=1):
        (directory / f"{number:04d}.dcm").write_bytes(data)
        total += len(data)
    return total


def upload(instances: Iterator[bytes], url: str, workers: int) -> int:
    """Upload with a bounded number of instances in flight, so memory stays flat."""
    total = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        for data in instances:
            pending.append(pool.submit(upload_instance, url, data))
            total += len(data)
            if len(pending) >= 2 * workers:
                pending.pop(0).result()
        for future in pending:
            future.result()
    return total


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    instances = large_ct_study(args.slices, args.rows, args.cols)
    if args.out is not None:
        total, where = write(instances, args.out), str(args.out)
    else:
        total, where = upload(instances, args.orthanc, args.workers), args.orthanc
    elapsed = time.monotonic() - started
    print(f"{args.slices} instances, {total / 1e6:.1f} MB, study {LARGE_STUDY_UID} -> {where} "
          f"in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
