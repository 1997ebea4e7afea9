"""Instances per second of header de-identification: the gateway's engine against dicognito and deid.

Every tool gets the same bytes in the same run: a CT header (pydicom's CT_small.dcm cut before its pixel
data) and an SR (pydicom's test-SR.dcm, which has none), each as a "series" of 200 instances that differ in
their SOP Instance UID, so that no tool sees the same instance twice in a row. Each iteration goes from bytes
to de-identified bytes. Rates are given per second of wall time and per second of the process's CPU time
(the second is the one-core figure when other work shares the machine). The gateway's engine is measured as
the gateway runs it, with the Mappings resolved in advance (the pseudonym store answers those in one round
trip per response), and also with the mappings derived in process on every instance, to show that step.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/bench_engine.py [--seconds 2] [--report bench/engine-report.md]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import pathlib
import platform
import sys
import time
import warnings
from collections.abc import Callable
from itertools import cycle

import pydicom
from pydicom.data import get_testdata_file

from gateway.core.pseudonyms.model import IdKind, Mappings, Needs
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import Profile, load_profiles

REPO = pathlib.Path(__file__).resolve().parent.parent
Step = Callable[[], bytes]


def series_of(name: str, size: int = 200) -> list[bytes]:
    data = pathlib.Path(str(get_testdata_file(name))).read_bytes()
    stream = io.BytesIO(data)
    ds = pydicom.dcmread(stream, stop_before_pixels=True)
    header, uid = data[: stream.tell()], ds.SOPInstanceUID.encode()
    return [header.replace(uid, uid[:-3] + b"%03d" % n) for n in range(size)]


def derived(profile: Profile, needs: Needs) -> Mappings:
    """A stand-in for the resolver: keyed digests, shaped like the real pseudonyms."""
    assert profile.scope is not None
    scheme, values = profile.scope.scheme, dict[IdKind, dict[str, str]]()
    for kind, reals in needs.values.items():
        digests = {real: hashlib.sha256(f"{kind}|{real}".encode()).digest() for real in reals}
        if kind is IdKind.DATE_SHIFT:
            values[kind] = {real: str(-(d[0] % scheme.max_date_shift_days + 1)) for real, d in digests.items()}
        elif kind is IdKind.UID:
            values[kind] = {real: f"{scheme.uid_root}.{int.from_bytes(d[:16], 'big')}" for real, d in digests.items()}
        else:
            values[kind] = {real: scheme.patient_prefix + d[:5].hex().upper() for real, d in digests.items()}
    return Mappings(values)


def gateway_step(engine: Engine, series: list[bytes], *, resolve_each_time: bool, compiled: bool = True) -> Step:
    """The header work as the retrieve does it: through the series' compiled plan (`Engine.compiled`) where it
    serves, by the full engine otherwise (or always, with `compiled=False`)."""
    needs = Needs()
    for header in series:
        needs.merge(engine.needs(engine.read_header(header)))
        read = engine.compiled(header) if compiled else None
        if read is not None:
            needs.merge(read.needs)
    prepared, headers = derived(engine.profile, needs), cycle(series)

    def step() -> bytes:
        header = next(headers)
        read = engine.compiled(header) if compiled else None
        if read is not None:
            mappings = derived(engine.profile, read.needs) if resolve_each_time else prepared
            return engine.write_compiled(read, mappings)[0]
        ds = engine.read_header(header)
        needs = engine.needs(ds)
        engine.apply(ds, derived(engine.profile, needs) if resolve_each_time else prepared)
        return engine.write_header(ds)

    return step


def dicognito_step(series: list[bytes]) -> Step:
    from dicognito.anonymizer import Anonymizer

    anonymizer, headers = Anonymizer(), cycle(series)

    def step() -> bytes:
        ds = pydicom.dcmread(io.BytesIO(next(headers)))
        anonymizer.anonymize(ds)
        out = io.BytesIO()
        ds.save_as(out)
        return out.getvalue()

    return step


def deid_step(series: list[bytes]) -> Step:
    from deid.config import DeidRecipe
    from deid.dicom import replace_identifiers

    recipe, headers = DeidRecipe(), cycle(series)

    def step() -> bytes:
        ds = pydicom.dcmread(io.BytesIO(next(headers)))
        cleaned = replace_identifiers(dicom_files=[ds], deid=recipe, save=False)[0]
        out = io.BytesIO()
        cleaned.save_as(out)
        return out.getvalue()

    return step


def rate(step: Step, seconds: float) -> tuple[float, float]:
    """(instances per wall second, instances per CPU second)."""
    step()  # warm caches and imports outside the clock
    count, start, cpu = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - start) < seconds:
        step()
        count += 1
    return count / elapsed, count / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per tool and input")
    parser.add_argument("--report", type=pathlib.Path, default=None, help="write a Markdown report here")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)  # deid logs every instance
    profiles = load_profiles(REPO / "conf" / "roles")
    inputs = {"CT header": series_of("CT_small.dcm"), "SR": series_of("test-SR.dcm")}
    rows = []
    for label, series in inputs.items():
        tools: dict[str, Step] = {
            "gateway researcher": gateway_step(Engine(profiles["researcher"]), series, resolve_each_time=False),
            "gateway external": gateway_step(Engine(profiles["external"]), series, resolve_each_time=False),
            "gateway researcher + in-process mappings": gateway_step(
                Engine(profiles["researcher"]), series, resolve_each_time=True
            ),
            "gateway researcher, full engine only": gateway_step(
                Engine(profiles["researcher"]), series, resolve_each_time=False, compiled=False
            ),
            "dicognito": dicognito_step(series),
            "deid": deid_step(series),
        }
        rates = {name: rate(step, args.seconds) for name, step in tools.items()}
        best_other = max(rates["dicognito"][1], rates["deid"][1])
        for name, (wall, cpu) in rates.items():
            rows.append((label, name, wall, cpu, cpu / best_other))
            print(f"{label:10} {name:42} {wall:7.0f}/s wall {cpu:7.0f}/s cpu  x{cpu / best_other:5.1f}", flush=True)
    if args.report:
        args.report.write_text(report(rows, args.seconds))


def report(rows: list[tuple[str, str, float, float, float]], seconds: float) -> str:
    from importlib.metadata import version

    lines = [
        "# Engine benchmark: header de-identification, instances per second",
        "",
        f"- Python {platform.python_version()}, pydicom {pydicom.__version__}, dicognito {version('dicognito')}, "
        f"deid {version('deid')}; {platform.machine()}, {os.cpu_count()} CPUs, one process, one thread.",
        f"- Load average when the run ended: {os.getloadavg()[0]:.2f} (other work shared the machine).",
        f"- {seconds:g} s per tool and input; bytes in, de-identified bytes out; same files, same run.",
        f"- Command: `{' '.join([pathlib.Path(sys.executable).name, *sys.argv])}`",
        "",
        "| Input | Tool | Instances per wall s | Instances per CPU s | CPU rate vs. the faster of dicognito and deid |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {label} | {name} | {wall:,.0f} | {cpu:,.0f} | {ratio:.1f}x |" for label, name, wall, cpu, ratio in rows
    ]
    return "\n".join([*lines, "", *NOTES]) + "\n"


NOTES = [
    "## Notes",
    "",
    "- The tools do not do the same work. The gateway applies its role profile (PS3.15 Basic Profile plus the",
    "  role's options, Table E.1-1 2024b + 2026c/d); dicognito applies its own fixed anonymization; deid applies",
    "  its default recipe. The figures compare the cost of a header pass, not the quality of the result.",
    "- The gateway parses and writes the header itself (`gateway/core/rules/header.py`): untouched elements stay raw",
    "  and are copied byte for byte. dicognito and deid go through pydicom's reader and writer, which alone cost",
    "  several milliseconds per CT header.",
    "- `gateway researcher` and `gateway external` use Mappings resolved in advance for the whole series, as the",
    "  gateway does (one store round trip per response). Within one Mappings the engine keeps a memo of new",
    "  element bytes per patient, so a series' repeated values are encoded once; every instance here still has",
    "  its own SOP Instance UID.",
    "- The gateway reads the instances of a series through a plan compiled for their shared context",
    "  (`gateway/core/rules/header_plan.py`): each element's outgoing bytes are remembered by its incoming bytes,",
    "  and only the elements not seen before (here the SOP Instance UID) go through the engine's walk. The first",
    "  instance of a series, and anything the plan cannot vouch for, go through the full engine, whose rate the",
    "  `full engine only` row gives.",
    "- CT_small.dcm has 256 header elements, 179 of them private; roles that keep no private attribute skip",
    "  those while reading. test-SR.dcm has 54 sequences and 69 items.",
    "- The machine was shared with other work during the run (see the load average), so the wall rates are",
    "  lower than on an idle core; the CPU rates are the closer estimate of one core's throughput.",
]


if __name__ == "__main__":
    main()
