"""Gateway peak RSS during a researcher study retrieve, for studies of increasing size: is memory flat in the
size of the study, as streaming promises?

    .venv/bin/python bench/bench_rss_curve.py [--slices 19,95,500,1900] [--store sqlite|redis]
                                              [--report bench/rss-report.md]

The study is bench/make_study.py's CT (512x512 16-bit slices of about 0.53 MB each: 19, 95, 500 and 1,900
slices are about 10 MB, 50 MB, 263 MB and 1 GB). One Orthanc takes the slices each size adds; then, for each
size, a fresh gateway on a fresh store (so no peak carries over from a smaller study) finds the study with one
QIDO and retrieves it twice as researcher: cold (every UID new to the store) and warm, then asks for the
study's metadata (which streams: issue 14). Peak RSS is VmHWM from /proc of the gateway process, read after
each request. The table is appended to --report with the command
and the date.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from support.gateway_server import GatewayProcess  # noqa: E402

from bench.bench_proxy import JSON, Target, study_retrieve  # noqa: E402
from bench.make_study import upload  # noqa: E402
from bench.rig import STORES, rss_mb, store_url  # noqa: E402
from gateway.demo.orthanc import OrthancProcess  # noqa: E402
from gateway.demo.samples import large_ct_study  # noqa: E402


@dataclass(frozen=True)
class Point:
    slices: int
    stored_mb: float  # as uploaded to Orthanc
    sent_mb: float  # the de-identified multipart body
    start_mb: float  # VmRSS once the gateway answers, before the retrieves
    cold_peak_mb: float  # VmHWM after the first retrieve
    warm_peak_mb: float  # VmHWM after the second
    cold_s: float
    warm_s: float
    metadata_mb: float  # the de-identified study metadata (DICOM JSON)
    metadata_peak_mb: float  # VmHWM after it


def measure(slices: int, stored: int, orthanc: OrthancProcess, store_kind: str, workdir: Path) -> Point:
    """One size: a fresh gateway and store, a cold and a warm retrieve, the peaks after each."""
    workdir.mkdir()
    with store_url(store_kind, workdir) as store:
        gateway = GatewayProcess(
            workdir, upstream_url=orthanc.dicomweb_url, store_url=store, log_level="WARNING",
            upstream={"url": orthanc.dicomweb_url},  # the shipped timeout (30 s), not the tests' 5 s
        )  # fmt: skip
        gateway.start()
        try:
            assert gateway.process is not None
            pid = gateway.process.pid
            start_mb = rss_mb(pid)
            target = Target("researcher", gateway.dicomweb_url, gateway.headers("researcher"))
            target.study = _the_study(target)
            cold_s, (size, _) = _timed(target)
            cold_peak = rss_mb(pid, "VmHWM")
            warm_s, _ = _timed(target)
            warm_peak = rss_mb(pid, "VmHWM")
            metadata = requests.get(f"{target.base}/studies/{target.study}/metadata",
                                    headers={**target.headers, "Accept": JSON}, timeout=300)  # fmt: skip
            metadata.raise_for_status()
            metadata_peak = rss_mb(pid, "VmHWM")
        finally:
            gateway.stop()
    return Point(slices, stored / 1e6, size / 1e6, start_mb, cold_peak, warm_peak, cold_s, warm_s,
                 len(metadata.content) / 1e6, metadata_peak)  # fmt: skip


def _the_study(target: Target) -> str:
    """The study's pseudonymous UID, from one QIDO (not bench_proxy's discover, whose instance listing would
    make the store meet every SOP Instance UID before the cold retrieve)."""
    answer = requests.get(f"{target.base}/studies", headers={**target.headers, "Accept": JSON}, timeout=60)
    answer.raise_for_status()
    return str(answer.json()[0]["0020000D"]["Value"][0])


def _timed(target: Target) -> tuple[float, tuple[int, str]]:
    started = time.perf_counter()
    result = study_retrieve(target)
    return time.perf_counter() - started, result


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, workdir: Path) -> int:
    points, uploaded, stored = [], 0, 0
    with OrthancProcess(workdir / "orthanc", http_threads=50) as orthanc:
        for slices in args.slices:
            print(f"{slices} slices: uploading {slices - uploaded} more, then retrieving...", flush=True)
            stored += upload(itertools.islice(large_ct_study(slices), uploaded, None), orthanc.url, 4)
            uploaded = slices
            points.append(measure(slices, stored, orthanc, args.store, workdir / f"gateway-{slices}"))
            print(points[-1], flush=True)
    write_report(args, points)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=_counts, default=[19, 95, 500, 1900], help="comma-separated, ascending")
    parser.add_argument("--store", choices=STORES, default="sqlite")
    parser.add_argument("--report", type=Path, default=REPO / "bench" / "rss-report.md")
    return parser.parse_args()


def _counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",")]
    if counts != sorted(set(counts)) or counts[0] < 1:
        raise argparse.ArgumentTypeError("slice counts must be positive and ascending")
    return counts


def write_report(args: argparse.Namespace, points: list[Point]) -> None:
    command = " ".join(["bench/bench_rss_curve.py", *sys.argv[1:]])
    lines = [
        f"## {time.strftime('%Y-%m-%d %H:%M')}: {args.store} store",
        "",
        f"`.venv/bin/python {command}`. A fresh gateway and store per size; VmHWM of the gateway process "
        "after a cold and then a warm researcher retrieve of the whole study, then after its metadata.",
        "",
        "| slices | stored MB | sent MB | RSS at start MB | peak after cold MB | peak after warm MB "
        "| cold s (MB/s) | warm s (MB/s) | metadata MB | peak after metadata MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {p.slices} | {p.stored_mb:.0f} | {p.sent_mb:.0f} | {p.start_mb:.0f} | {p.cold_peak_mb:.0f} "
            f"| {p.warm_peak_mb:.0f} | {p.cold_s:.2f} ({p.sent_mb / p.cold_s:.0f}) "
            f"| {p.warm_s:.2f} ({p.sent_mb / p.warm_s:.0f}) | {p.metadata_mb:.1f} | {p.metadata_peak_mb:.0f} |"
            for p in points
        ),
        "",
    ]
    if not args.report.exists():
        args.report.write_text("# Gateway memory against study size (bench/bench_rss_curve.py)\n\n")
    with args.report.open("a") as report:
        report.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
