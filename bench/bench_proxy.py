"""End-to-end speed of the gateway against Orthanc direct and a pass-through nginx, in one run.

    .venv/bin/python bench/bench_proxy.py [--slices 500] [--studies 1000] [--repeat 3] [--report bench/proxy-report.md]

Targets: Orthanc direct; nginx from Debian (proxy_buffering off, keepalive 32) when installed; the gateway as
clinician (identity), researcher and external. Scenarios: whole-study WADO-RS (throughput, sha256 of the body,
gateway peak RSS), series metadata, QIDO limit=1000, 50 concurrent QIDO clients, and OHIF's request sequence
for opening the big study (QIDO, series, metadata, then every frame with 6 connections, as a browser does).
Numbers are medians of --repeat runs; ratios are against Orthanc direct measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
from support.gateway_server import GatewayProcess, free_port  # noqa: E402

from bench.make_study import upload  # noqa: E402
from bench.rig import STORES, rss_mb, store_url  # noqa: E402
from gateway.demo.orthanc import OrthancProcess  # noqa: E402
from gateway.demo.samples import large_ct_study, small_studies  # noqa: E402

MULTIPART_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'
JSON = "application/dicom+json"
FRAME = "multipart/related; type=application/octet-stream; transfer-syntax=*"


@dataclass
class Target:
    name: str
    base: str  # DICOMweb root
    headers: dict[str, str] = field(default_factory=dict)
    study: str = ""  # the big study's UID as this target sees it
    series: str = ""
    instances: list[str] = field(default_factory=list)


def nginx(upstream_port: int, workdir: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    if not Path("/usr/sbin/nginx").exists():
        return None
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
worker_processes 1; daemon off; pid {workdir}/nginx.pid; error_log {workdir}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off; client_body_temp_path {workdir}; proxy_temp_path {workdir};
  fastcgi_temp_path {workdir}; uwsgi_temp_path {workdir}; scgi_temp_path {workdir};
  upstream orthanc {{ server 127.0.0.1:{upstream_port}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://orthanc; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; proxy_request_buffering off; }}
  }}
}}""")
    process = subprocess.Popen(["/usr/sbin/nginx", "-c", str(conf), "-p", str(workdir)])
    time.sleep(0.5)
    return process, port


def discover(target: Target) -> None:
    """Find the big study, its series and its instances as this target names them."""
    studies = requests.get(
        f"{target.base}/studies",
        params={"includefield": "00201208", "limit": "5000"},
        headers={**target.headers, "Accept": JSON},
        timeout=60,
    ).json()
    big = max(studies, key=lambda s: int(s.get("00201208", {}).get("Value", [0])[0]))
    target.study = big["0020000D"]["Value"][0]
    series = requests.get(
        f"{target.base}/studies/{target.study}/series", headers={**target.headers, "Accept": JSON}, timeout=60
    ).json()
    target.series = series[0]["0020000E"]["Value"][0]
    instances = requests.get(
        f"{target.base}/studies/{target.study}/series/{target.series}/instances",
        headers={**target.headers, "Accept": JSON},
        timeout=60,
    )
    if not instances.ok:  # a first listing claims every SOP Instance UID at once: say what failed, if it did
        raise RuntimeError(f"{target.name}: instance listing answered {instances.status_code}: {instances.text[:200]}")
    target.instances = [i["00080018"]["Value"][0] for i in instances.json()]


def timed(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def study_retrieve(target: Target) -> tuple[int, str]:
    digest, size, tail = hashlib.sha256(), 0, b""
    with requests.get(
        f"{target.base}/studies/{target.study}",
        headers={**target.headers, "Accept": MULTIPART_DICOM},
        stream=True,
        timeout=120,
    ) as response:
        response.raise_for_status()
        # Origins pick a fresh random boundary per response: hash with it replaced, so equal parts hash equal.
        boundary = response.headers["Content-Type"].split("boundary=")[1].split(";")[0].strip('"').encode()
        for chunk in response.iter_content(1024 * 1024):
            data = (tail + chunk).replace(boundary, b"BOUNDARY")
            tail = data[-len(boundary) :]
            digest.update(data[: -len(boundary)])
            size += len(chunk)
        digest.update(tail)
    return size, digest.hexdigest()


def get(target: Target, path: str, params: dict[str, str] | None = None, accept: str = JSON) -> int:
    response = requests.get(
        target.base + path, params=params, headers={**target.headers, "Accept": accept}, timeout=120
    )
    response.raise_for_status()
    return len(response.content)


async def concurrent_qido(target: Target, clients: int = 50, total: int = 500) -> float:
    queue = list(range(total))

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            queue.pop()
            async with session.get(
                target.base + "/studies", params={"limit": "10"}, headers={**target.headers, "Accept": JSON}
            ) as response:
                await response.read()
                assert response.status in (200, 204), response.status

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        await asyncio.gather(*(worker(session) for _ in range(clients)))
    return total / (time.perf_counter() - started)


# What one request of the OHIF sequence did: its kind, its seconds (from when it had one of the 6 connections),
# and its outcome: the HTTP status, or the name of the exception when the transport failed.
Observer = Callable[[str, float, int | str], None]


def _ignore(kind: str, seconds: float, outcome: int | str) -> None:
    pass


async def ohif_sequence(target: Target, observe: Observer = _ignore) -> None:
    """What OHIF v3 sends to open the big study: lists, series, metadata, then every frame, 6 at a time.
    Raises on the first answer that is not 200 or 204, once every request of that step has finished."""
    h = {**target.headers, "Accept": JSON}
    base, st, se = target.base, target.study, target.series
    include = {"includefield": "00081030,00080060,00080090,00100030"}
    slots = asyncio.Semaphore(6)  # as the connector's limit, so a request's time leaves out its wait for one
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=6)) as session:

        async def fetch(
            kind: str, path: str, params: dict[str, str] | None = None, headers: dict[str, str] = h
        ) -> None:
            async with slots:
                started, outcome = time.perf_counter(), "cancelled"
                try:
                    async with session.get(base + path, params=params, headers=headers) as response:
                        body = await response.read()
                        outcome = response.status if response.status < 500 else _failure(response.status, body)
                except Exception as exc:
                    outcome = type(exc).__name__
                    raise
                finally:
                    observe(kind, time.perf_counter() - started, outcome)
            assert outcome in (200, 204), (path, outcome)

        await fetch("studies", "/studies", {"limit": "101", "offset": "0", **include, "StudyInstanceUID": st})
        await _every(
            fetch("series", f"/studies/{st}/series", {"includefield": "00080021,00080031,0008103E,00200011"}),
            fetch("metadata", f"/studies/{st}/series/{se}/metadata"),
        )
        frame_headers = {**target.headers, "Accept": FRAME}
        await _every(
            *(
                fetch("frame", f"/studies/{st}/series/{se}/instances/{i}/frames/1", headers=frame_headers)
                for i in target.instances
            )
        )


async def frames(target: Target, count: int) -> None:
    """`count` frames of the big series over 6 connections, as a viewer scrolls through them."""
    slots = asyncio.Semaphore(6)
    headers = {**target.headers, "Accept": FRAME}
    base = f"{target.base}/studies/{target.study}/series/{target.series}/instances"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=6)) as session:

        async def one(instance: str) -> None:
            async with slots, session.get(f"{base}/{instance}/frames/1", headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status

        await _every(*(one(instance) for instance in target.instances[:count]))


async def _every(*steps: Awaitable[None]) -> None:
    """Run the steps together and raise the first failure only once all are done, so none is left running."""
    for outcome in await asyncio.gather(*steps, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--report", type=Path, default=Path("bench/proxy-report.md"))
    parser.add_argument("--store", choices=STORES, default="sqlite")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    with OrthancProcess(workdir / "orthanc", http_threads=50) as orthanc:
        print("uploading the big study and the small ones...", flush=True)
        size = upload(large_ct_study(args.slices), orthanc.url, 4)
        upload(small_studies(args.studies), orthanc.url, 4)
        cold = {role: cold_retrieve(orthanc.dicomweb_url, role, args, workdir) for role in COLD_ROLES}
        with store_url(args.store, workdir / "warm") as store:
            gateway = GatewayProcess(
                workdir, upstream_url=orthanc.dicomweb_url, store_url=store, log_level="WARNING",
            ).start()  # fmt: skip
            proxy = nginx(orthanc.http_port, workdir)
            try:
                targets = [Target("orthanc direct", orthanc.dicomweb_url)]
                if proxy:
                    targets.append(Target("nginx pass-through", f"http://127.0.0.1:{proxy[1]}/dicom-web"))
                for role in ("clinician", "researcher", "external"):
                    targets.append(Target(f"gateway {role}", gateway.dicomweb_url, gateway.headers(role)))
                rows = run_all(targets, args.repeat)
                rss = rss_mb(gateway.process.pid, "VmHWM")  # type: ignore[union-attr]
            finally:
                gateway.stop()
                if proxy:
                    proxy[0].terminate()
                    proxy[0].wait()
    for row in rows:
        row["cold_s"] = cold.get(str(row["target"]).removeprefix("gateway "))
    write_report(args, rows, rss, size)
    return 0


COLD_ROLES = ("researcher", "external")


def cold_retrieve(origin: str, role: str, args: argparse.Namespace, workdir: Path) -> float:
    """The first whole-study retrieve after a fresh store (every SOP Instance UID new to it): a fresh gateway
    and store per run, the study found by a study-level search only, median of --repeat."""
    times = []
    for run in range(args.repeat):
        where = workdir / f"cold-{role}-{run}"
        where.mkdir(parents=True)
        with store_url(args.store, where) as store:
            gateway = GatewayProcess(where, upstream_url=origin, store_url=store, log_level="WARNING").start()
            try:
                target = Target(role, gateway.dicomweb_url, gateway.headers(role))
                studies = requests.get(
                    target.base + "/studies", params={"includefield": "00201208", "limit": "5000"},
                    headers={**target.headers, "Accept": JSON}, timeout=60,
                ).json()  # fmt: skip
                big = max(studies, key=lambda s: int(s.get("00201208", {}).get("Value", [0])[0]))
                target.study = big["0020000D"]["Value"][0]
                times.append(timed(lambda t=target: study_retrieve(t), 1)[0])  # type: ignore[misc]
            finally:
                gateway.stop()
    return statistics.median(times)


def run_all(targets: list[Target], repeat: int) -> list[dict[str, object]]:
    rows = []
    for target in targets:
        discover(target)
        print(f"{target.name}: measuring", flush=True)
        study_s, (size, sha) = timed(lambda t=target: study_retrieve(t), repeat)  # type: ignore[misc]
        metadata_s, _ = timed(lambda t=target: get(t, f"/studies/{t.study}/series/{t.series}/metadata"), repeat)
        qido_s, _ = timed(lambda t=target: get(t, "/studies", {"limit": "1000"}), repeat)
        qps = asyncio.run(concurrent_qido(target))
        frames_s, _ = timed(lambda t=target: asyncio.run(frames(t, 100)), repeat)
        ohif_s, _ = timed(lambda t=target: asyncio.run(ohif_sequence(t)), repeat)
        rows.append(
            {
                "target": target.name,
                "study_s": study_s,
                "study_mb": size / 1e6,
                "sha": sha,
                "metadata_s": metadata_s,
                "qido_s": qido_s,
                "qps": qps,
                "frames_s": frames_s,
                "ohif_s": ohif_s,
            }
        )
    return rows


def write_report(args: argparse.Namespace, rows: list[dict[str, object]], rss: float, size: int) -> None:
    direct = rows[0]
    lines = [
        "# Proxy benchmark",
        "",
        f"`.venv/bin/python bench/bench_proxy.py --slices {args.slices} --studies {args.studies} "
        f"--repeat {args.repeat}`",
        f"on {time.strftime('%Y-%m-%d')}; big study: {args.slices} CT slices, {size / 1e6:.0f} MB as stored. "
        "Medians; ratios against Orthanc direct in the same run "
        "(throughput ratio for the study, time ratio otherwise).",
        "",
        f"Store: {args.store}. Cold: the first retrieve after a fresh store, a fresh gateway each time.",
        "",
        "| target | study s (warm) | throughput × direct | cold study s (×) | sha256 = direct | metadata s (×) "
        "| 100 frames, 6 conn. s (×) | QIDO 1000 s (×) | 50-client QIDO req/s (×) | OHIF sequence s (×) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = float(direct["study_s"]) / float(row["study_s"])  # type: ignore[arg-type]
        same = "yes" if row["sha"] == direct["sha"] else "no (de-identified)"
        cold = float(row["cold_s"]) if row.get("cold_s") else None  # type: ignore[arg-type]
        cold_text = f"{cold:.2f} ({float(direct['study_s']) / cold:.2f})" if cold else "-"  # type: ignore[arg-type]
        lines.append(
            f"| {row['target']} | {row['study_s']:.2f} | {ratio:.2f} | {cold_text} | {same} "
            f"| {row['metadata_s']:.3f} ({_x(row, direct, 'metadata_s')}) "
            f"| {row['frames_s']:.3f} ({_x(row, direct, 'frames_s')}) "
            f"| {row['qido_s']:.3f} ({_x(row, direct, 'qido_s')}) "
            f"| {row['qps']:.0f} ({float(row['qps']) / float(direct['qps']):.2f}) "  # type: ignore[arg-type]
            f"| {row['ohif_s']:.2f} ({_x(row, direct, 'ohif_s')}) |"
        )
    lines += ["", f"Gateway peak RSS over the whole run (VmHWM): {rss:.0f} MB.", ""]
    # The newest run goes first, under the title; earlier sections stay below it.
    earlier = args.report.read_text().split("\n", 1)[1].lstrip("\n") if args.report.exists() else ""
    lines[0] = f"# Proxy benchmark\n\n## {time.strftime('%Y-%m-%d %H:%M')}"
    args.report.write_text("\n".join(lines) + "\n" + earlier)
    print("\n".join(lines))


def _x(row: dict[str, object], direct: dict[str, object], key: str) -> str:
    return f"{float(row[key]) / float(direct[key]):.2f}×"  # type: ignore[arg-type]


def _failure(status: int, body: bytes) -> str:
    """A 5xx with the start of the gateway's message (its own words, never a value), to tell outages apart."""
    try:
        return f"{status} ({str(orjson.loads(body).get('message', ''))[:90]})"
    except (ValueError, AttributeError):
        return str(status)


if __name__ == "__main__":
    sys.exit(main())

