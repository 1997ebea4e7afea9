"""Two versions of the gateway, back to back against one Orthanc: the effect of a change, on a noisy machine.

    .venv/bin/python bench/bench_ab.py BEFORE_TREE AFTER_TREE [--slices 500] [--rounds 3] [--role researcher]

Each tree is a checkout of this repository (a `git worktree` at the commit to compare); its gateway is started
from that tree (`python -m gateway` with the tree as working directory) on a fresh SQLite store. Rounds
alternate between the trees so that a machine that slows down mid-run slows both. Per round and tree: the cold
study retrieve (the first after a fresh store, the study found by a study-level search), the warm one, series
metadata, 100 frames on 6 connections and OHIF's sequence, each against Orthanc direct measured in the same
round. Medians of the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from support.gateway_server import GatewayProcess  # noqa: E402

from bench.bench_proxy import JSON, Target, discover, frames, get, ohif_sequence, study_retrieve  # noqa: E402
from bench.make_study import upload  # noqa: E402
from gateway.demo.orthanc import OrthancProcess  # noqa: E402
from gateway.demo.samples import large_ct_study  # noqa: E402


class TreeGateway(GatewayProcess):
    """The harness's gateway, run from another checkout's code."""

    def __init__(self, tree: Path, workdir: Path, upstream_url: str) -> None:
        workdir.mkdir(parents=True)
        # The tree's own role profiles: their schema moves with the code.
        roles = str(tree / "conf" / "roles")
        super().__init__(workdir, upstream_url=upstream_url, log_level="WARNING", roles_dir=roles)
        self.tree = tree

    def start(self) -> TreeGateway:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", str(self.config_path)],
                stdout=log, stderr=log, env={**os.environ, "GATEWAY_SECRET": self.secret}, cwd=self.tree,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"gateway of {self.tree} did not start")


def one_round(tree: Path, direct: Target, workdir: Path, role: str) -> dict[str, float]:
    gateway = TreeGateway(tree, workdir, direct.base).start()
    try:
        target = Target(role, gateway.dicomweb_url, gateway.headers(role))
        studies = requests.get(target.base + "/studies", headers={**target.headers, "Accept": JSON}, timeout=60)
        target.study = studies.json()[0]["0020000D"]["Value"][0]
        cold = _seconds(lambda: study_retrieve(target))
        discover(target)
        ratios = {"cold study (throughput)": _seconds(lambda: study_retrieve(direct)) / cold}
        ratios["warm study (throughput)"] = _seconds(lambda: study_retrieve(direct)) / _seconds(
            lambda: study_retrieve(target))
        for name, run in (
            ("series metadata (time)", lambda t: get(t, f"/studies/{t.study}/series/{t.series}/metadata")),
            ("100 frames, 6 connections (time)", lambda t: asyncio.run(frames(t, 100))),
            ("OHIF sequence (time)", lambda t: asyncio.run(ohif_sequence(t))),
        ):
            ratios[name] = _seconds(lambda run=run: run(target)) / _seconds(lambda run=run: run(direct))
        return ratios
    finally:
        gateway.stop()


def _seconds(run: object) -> float:
    started = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("trees", type=Path, nargs=2)
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--role", choices=("researcher", "external"), default="researcher")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    with OrthancProcess(workdir / "orthanc", http_threads=50) as orthanc:
        upload(large_ct_study(args.slices), orthanc.url, 4)
        direct = Target("orthanc direct", orthanc.dicomweb_url)
        discover(direct)
        results: dict[Path, list[dict[str, float]]] = {tree: [] for tree in args.trees}
        for number in range(args.rounds):
            for tree in args.trees:
                results[tree].append(one_round(tree.resolve(), direct, workdir / f"{tree.name}-{number}", args.role))
    names = list(results[args.trees[0]][0])
    print("| measure (× direct) | " + " | ".join(str(tree) for tree in args.trees) + " |")
    print("|---|" + "---|" * len(args.trees))
    for name in names:
        cells = [f"{statistics.median(r[name] for r in results[tree]):.2f}" for tree in args.trees]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
