"""The long run of the adversarial suite (issue 11): at least 20,000 seeded cases, the same generators as CI.

    .venv/bin/python bench/fuzz_adversarial.py [--seed N] [--engine-cases N] [--http-cases N] [--no-http]

Layers: `engine` runs mutated Part 10 and DICOM JSON straight through each de-identifying role's engine
(tests/adversarial/engine_run.py), and through the fast paths (the retrieve's compiled plan, metadata's series
templates), whose output must be the full walk's (the cases they served are counted); `http` runs the hostile
origin in front of a real gateway process (tests/adversarial/cases.py). At the end it prints the cases per layer
and role, leaks, crashes and wall time, and the failing classes with one (seed, index) reproducer each. It prints
planted-value keys and mutation labels only, never a value, and writes nothing: the gateway's working directory is a
temporary one, removed.
"""

from __future__ import annotations

import argparse
import collections
import logging
import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from adversarial.engine_run import fast_path_check, run_json, run_part10  # noqa: E402
from adversarial.leaks import Scanner  # noqa: E402
from adversarial.mutations import json_case, part10_case  # noqa: E402

from gateway.core.rules.engine import Engine  # noqa: E402
from gateway.core.rules.profile import load_profiles  # noqa: E402

ROLES = ("researcher", "external", "ai-service")


class Tally:
    def __init__(self) -> None:
        self.cases: collections.Counter[tuple[str, str]] = collections.Counter()
        self.leaks: collections.Counter[tuple[str, str]] = collections.Counter()
        self.crashes: collections.Counter[tuple[str, str]] = collections.Counter()
        self.classes: dict[tuple[str, ...], tuple[int, str]] = {}

    def failed(self, layer: str, role: str, kind: str, family: str, reproducer: str) -> None:
        (self.leaks if kind == "leak" else self.crashes)[(layer, role)] += 1
        key = (layer, kind, family)
        count, first = self.classes.get(key, (0, reproducer))
        self.classes[key] = (count + 1, first)


def family(label: str) -> str:
    return " + ".join(part.split(" ")[0] for part in label.split(" + "))


def engine_layer(tally: Tally, seed: int, cases: int) -> None:
    engines = {name: Engine(profile) for name, profile in load_profiles(REPO / "conf" / "roles").items()}
    for role in ROLES:
        scanner = Scanner(role)
        for layer, make, run in (("part10", part10_case, run_part10), ("json", json_case, run_json)):
            for index in range(cases):
                case = make(seed, index)
                result = run(engines[role], case.body)
                tally.cases[(f"engine-{layer}", role)] += 1
                where = f"{case} role={role}"
                if result.crash:
                    tally.failed(f"engine-{layer}", role, f"crash {result.crash}", family(case.label), where)
                elif result.output is not None and (keys := scanner.scan(result.output)):
                    tally.failed(f"engine-{layer}", role, "leak", family(case.label), f"{where} keys={len(keys)}")
        fast_paths(tally, seed, cases, role, engines[role])


def fast_paths(tally: Tally, seed: int, cases: int, role: str, full: Engine) -> None:
    """The retrieve's compiled plan and metadata's series templates on the same cases, held to the full walk's
    output (what the CI's test_engine_fuzz does on fewer)."""
    planned = Engine(full.profile)
    for layer, make in (("part10", part10_case), ("json", json_case)):
        for index in range(cases):
            case = make(seed, index)
            served, failure = fast_path_check(layer, full, planned, case)
            name = "part10-plan" if layer == "part10" else "json-template"
            if served:
                tally.cases[(f"engine-{name}", role)] += 1
            if failure:
                tally.failed(f"engine-{name}", role, failure, family(case.label), f"{case} role={role}")


def http_layer(tally: Tally, seed: int, cases: int) -> None:
    from adversarial.cases import ROUTES, learn_pseudonyms, run_case
    from adversarial.hostile_origin import HostileOrigin
    from support.gateway_server import running_gateway

    with tempfile.TemporaryDirectory(prefix="fuzz-gw-") as workdir, HostileOrigin() as origin, \
            running_gateway(pathlib.Path(workdir), origin.base) as gateway:  # fmt: skip
        known = {role: learn_pseudonyms(origin, gateway, role) for role in ROLES}
        for role in ROLES:
            for route in sorted(ROUTES):
                for index in range(cases):
                    result = run_case(origin, gateway, known[role], role, route, seed, index)
                    tally.cases[("http", role)] += 1
                    for violation in result.violations:
                        kind = "leak" if violation.startswith("leak") else violation
                        where = f"seed={seed} index={index} role={role} route={route} mutation={result.label!r}"
                        tally.failed("http", role, kind, f"{route}: {family(result.label)}", where)
        alive = gateway.process is not None and gateway.process.poll() is None
        print(f"gateway process alive after the run: {alive}")


def report(tally: Tally, seconds: float) -> None:
    print(f"\n{'layer':<14} {'role':<11} {'cases':>7} {'leaks':>7} {'crashes':>8}")
    for (layer, role), count in sorted(tally.cases.items()):
        print(f"{layer:<14} {role:<11} {count:>7} {tally.leaks[(layer, role)]:>7} {tally.crashes[(layer, role)]:>8}")
    total = sum(tally.cases.values())
    print(f"{'total':<26} {total:>7} {sum(tally.leaks.values()):>7} {sum(tally.crashes.values()):>8}")
    print(f"wall time: {seconds:.1f} s ({total / seconds:.0f} cases/s)")
    if tally.classes:
        print("\nfailing classes (layer, kind, mutation family): count, first reproducer")
        for (layer, kind, fam), (count, first) in sorted(tally.classes.items(), key=lambda kv: -kv[1][0]):
            print(f"  {layer} | {kind} | {fam}: {count}\n      {first}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--engine-cases", type=int, default=3000, help="per role and format (Part 10, JSON)")
    parser.add_argument("--http-cases", type=int, default=100, help="per role and route")
    parser.add_argument("--no-http", action="store_true", help="the in-process layer only")
    args = parser.parse_args()
    logging.getLogger("gateway").setLevel(logging.ERROR)  # the engine's withheld notes, by the thousand
    tally, started = Tally(), time.perf_counter()
    engine_layer(tally, args.seed, args.engine_cases)
    if not args.no_http:
        http_layer(tally, args.seed, args.http_cases)
    report(tally, time.perf_counter() - started)
    return 1 if tally.leaks or tally.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
