"""Soak: N concurrent OHIF-like clients against the gateway as researcher on the 500-slice study, for a while.

    .venv/bin/python bench/bench_soak.py [--clients 20] [--seconds 600] [--workers 1] [--store sqlite|redis]
                                         [--slices 500] [--sample-s 5] [--report bench/soak-report.md]

Each client runs bench_proxy's OHIF sequence (QIDO, series, metadata, then every frame over 6 connections)
again and again, and starts no new one once --seconds are up. An error is any answer outside 2xx or any
transport error (named by its exception); the gateway's own warnings and errors are counted from its log. A
request's time runs from when it has one of its client's 6 connections to the end of its body. The gateway's
RSS (VmRSS from /proc, summed over the workers when --workers is above 1) is sampled every --sample-s seconds,
to show whether it stays flat. The result is appended to --report with the command and the date.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from support.gateway_server import GatewayProcess  # noqa: E402

from bench.bench_proxy import Target, discover, ohif_sequence  # noqa: E402
from bench.make_study import upload  # noqa: E402
from bench.rig import STORES, rss_mb, serving_pids, store_url  # noqa: E402
from gateway.demo.orthanc import OrthancProcess  # noqa: E402
from gateway.demo.samples import large_ct_study  # noqa: E402


@dataclass
class Tally:
    """Everything the clients did, and the gateway's memory while they did it."""

    sequences: list[float] = field(default_factory=list)  # seconds per sequence that completed
    failed_sequences: int = 0
    requests: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)  # "kind status" -> count
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB summed)
    started: float = field(default_factory=time.monotonic)

    def sample_rss(self, pids: list[int]) -> None:
        try:
            mb = sum(rss_mb(pid) for pid in pids)
        except FileNotFoundError:  # a worker is gone (and the gateway with it): the errors will say so
            mb = math.nan
        self.rss.append((time.monotonic() - self.started, mb))

    def request(self, kind: str, seconds: float, outcome: int | str) -> None:
        self.requests[kind].append(seconds)
        if isinstance(outcome, str) or not 200 <= outcome < 300:
            self.errors[f"{kind} {outcome}"] += 1


async def client(target: Target, deadline: float, tally: Tally) -> None:
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            await ohif_sequence(target, tally.request)
        except Exception:  # counted where it happened (Tally.request); a failed sequence is not timed
            tally.failed_sequences += 1
            await asyncio.sleep(0.1)  # a gateway that is down must not turn the clients into a busy loop
        else:
            tally.sequences.append(time.perf_counter() - started)


async def sample_rss(pids: list[int], every_s: float, tally: Tally) -> None:
    while True:
        tally.sample_rss(pids)
        await asyncio.sleep(every_s)


async def soak(target: Target, args: argparse.Namespace, pids: list[int]) -> Tally:
    tally = Tally()
    sampler = asyncio.create_task(sample_rss(pids, args.sample_s, tally))
    deadline = tally.started + args.seconds
    try:
        await asyncio.gather(*(client(target, deadline, tally) for _ in range(args.clients)))
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    tally.sample_rss(pids)
    return tally


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, workdir: Path) -> int:
    with OrthancProcess(workdir / "orthanc", http_threads=50) as orthanc, store_url(args.store, workdir) as store:
        print(f"uploading {args.slices} slices...", flush=True)
        upload(large_ct_study(args.slices), orthanc.url, 4)
        gateway = GatewayProcess(
            workdir, upstream_url=orthanc.dicomweb_url, store_url=store, workers=args.workers, log_level="WARNING",
            upstream={"url": orthanc.dicomweb_url},  # the shipped timeout (30 s), not the tests' 5 s
        ).start()  # fmt: skip
        try:
            pids = _all_serving(gateway, args.workers)
            target = Target("gateway researcher", gateway.dicomweb_url, gateway.headers("researcher"))
            discover(target)
            print(f"{args.clients} clients for {args.seconds:.0f} s on {len(pids)} worker(s)...", flush=True)
            tally = asyncio.run(soak(target, args, pids))
            supervision = _supervision_mb(gateway, pids) if args.workers > 1 else None
        finally:
            gateway.stop()
        complaints = log_complaints(gateway.log_path)
    write_report(args, tally, len(target.instances), supervision, complaints)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--store", choices=STORES, default="sqlite")
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--sample-s", type=float, default=5)
    parser.add_argument("--report", type=Path, default=REPO / "bench" / "soak-report.md")
    return parser.parse_args()


def _all_serving(gateway: GatewayProcess, workers: int) -> list[int]:
    """The serving PIDs once every worker listens (the first to bind would otherwise take the first clients)."""
    deadline = time.monotonic() + 30
    while len(pids := serving_pids(gateway, workers)) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pids)} of {workers} workers listening after 30 s")
        time.sleep(0.1)
    return pids


def _supervision_mb(gateway: GatewayProcess, serving: list[int]) -> float:
    """RSS of the gateway's processes that do not serve: the supervising parent and multiprocessing's helper."""
    assert gateway.process is not None
    parent = psutil.Process(gateway.process.pid)
    others = [parent, *(child for child in parent.children() if child.pid not in serving)]
    return sum(rss_mb(process.pid) for process in others)


def log_complaints(path: Path) -> Counter[str]:
    """The gateway's warnings and errors, by what they say: its records carry kinds and reasons, never values."""
    seen: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            seen["a line that is not JSON (a traceback?)"] += 1
            continue
        if record.get("level") in ("warning", "error", "critical"):
            detail = record.get("kind") or record.get("reason") or record.get("error") or record.get("exc_type") or ""
            seen[f"{record['level']} {record['logger']}: {record['msg']} {detail}".rstrip()] += 1
    return seen


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return " | ".join([f"{values[0]:.3f}" if values else "-"] * 3)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return " | ".join(f"{cuts[p - 1]:.3f}" for p in (50, 95, 99))


def write_report(
    args: argparse.Namespace, tally: Tally, frames: int, supervision: float | None, complaints: Counter[str]
) -> None:
    elapsed = tally.rss[-1][0]
    total = sum(len(times) for times in tally.requests.values())
    errors = sum(tally.errors.values())
    command = " ".join(["bench/bench_soak.py", *sys.argv[1:]])
    lines = [
        f"## {time.strftime('%Y-%m-%d %H:%M')}: {args.clients} clients, {args.seconds:.0f} s, "
        f"workers {args.workers}, {args.store} store",
        "",
        f"`.venv/bin/python {command}` on {os.cpu_count()} cores. Each sequence: QIDO, series, metadata, "
        f"{frames} frames over 6 connections, as researcher on the {args.slices}-slice study. "
        f"Ran {elapsed:.0f} s (sequences under way at the deadline were finished).",
        "",
        f"- sequences: {len(tally.sequences)} completed, {tally.failed_sequences} failed; "
        f"requests: {total} ({total / elapsed:.0f}/s); errors: {errors}"
        + (f" ({', '.join(f'{kind}: {n}' for kind, n in tally.errors.most_common())})" if errors else ""),
        "- gateway log, warnings and errors: "
        + (", ".join(f"{what} ({n})" for what, n in complaints.most_common()) or "none"),
        "",
        "| seconds | count | p50 | p95 | p99 |",
        "|---|---|---|---|---|",
        f"| sequence | {len(tally.sequences)} | {percentiles(tally.sequences)} |",
        *(f"| {kind} | {len(times)} | {percentiles(times)} |" for kind, times in tally.requests.items()),
        "",
        _rss_lines(args, tally, supervision),
        "",
    ]
    if not args.report.exists():
        args.report.write_text("# Soak: concurrent OHIF-like clients (bench/bench_soak.py)\n\n")
    with args.report.open("a") as report:
        report.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def _rss_lines(args: argparse.Namespace, tally: Tally, supervision: float | None) -> str:
    values = [mb for _, mb in tally.rss if not math.isnan(mb)]
    if supervision is None:
        head = f"RSS of the gateway (VmRSS, MB), every {args.sample_s:g} s"
    else:
        head = f"RSS of the gateway's {args.workers} workers, summed (VmRSS, MB; the supervising parent and "
        head += f"multiprocessing's helper hold {supervision:.0f} MB more), every {args.sample_s:g} s"
    series = [f"{at:4.0f} s {mb:5.0f}" for at, mb in tally.rss]
    rows = ["    " + " | ".join(series[i : i + 6]) for i in range(0, len(series), 6)]
    return "\n".join([f"{head}: min {min(values):.0f}, max {max(values):.0f}.", "", *rows])


if __name__ == "__main__":
    sys.exit(main())
