"""Microseconds per text of the free-text scrubber, over the labelled corpus (tests/core/rules/scrub_corpus).

Three costs, as the engine meets them:
- compile: the patterns of one set of identifiers, once per study (the instances of a study share them);
- miss: a text first seen with those identifiers (the patterns compiled); the generic findings of a text are
  shared across patients, so a clean series description seen for another patient costs less: "cold" makes
  every text new (a unique suffix) to show the cost with nothing remembered;
- hit: the same text again for the same identifiers, as the next instance of the series asks for it.
Each figure is the median over the corpus's cases of the fastest of `--repeat` runs; reports (the longer texts)
are given apart.

    .venv/bin/python bench/bench_scrub.py [--repeat 5] [--report bench/scrub-report.md]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import statistics
import time
from collections.abc import Callable

from gateway.core.rules.scrub import IdentifierKind, Identifiers, Scrubber

REPO = pathlib.Path(__file__).resolve().parent.parent
CORPUS = json.loads((REPO / "tests/core/rules/scrub_corpus/corpus.json").read_text(encoding="utf-8"))


def identifiers(context: str) -> Identifiers:
    ids = Identifiers()
    for kind, values in CORPUS["contexts"][context].items():
        for value in values:
            ids.add(IdentifierKind(kind), value)
    return ids


def cases() -> list[tuple[str, str, str]]:
    contexts = list(CORPUS["contexts"])
    return [(text["text"], context, text["kind"]) for text in CORPUS["texts"]
            for context in (contexts if text["context"] == "all" else [text["context"]])]


def microseconds(call: Callable[[], object]) -> float:
    start = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - start) / 1000


def one_pass(run: int, ids: dict[str, Identifiers]) -> tuple[list[float], list[tuple[float, float, float]]]:
    """A fresh scrubber: the compile time of each set of identifiers, then (miss, cold miss, hit) per case."""
    scrubber = Scrubber(CORPUS["deny"], CORPUS["allow"], dates="shift")
    compiled = [microseconds(lambda value=value: scrubber.scrub("", value)) for value in ids.values()]
    times = []
    for index, (text, context, _kind) in enumerate(cases()):
        def scrub(value: str, context: str = context) -> Callable[[], object]:
            return lambda: scrubber.scrub(value, ids[context], date_shift=-30)

        miss, hit = microseconds(scrub(text)), microseconds(scrub(text))
        times.append((miss, microseconds(scrub(f"{text} ({run}.{index})")), hit))
    return compiled, times


def measure(repeat: int) -> dict[str, float]:
    ids = {context: identifiers(context) for context in CORPUS["contexts"]}
    passes = [one_pass(run, ids) for run in range(repeat)]
    best = [tuple(map(min, zip(*case, strict=True))) for case in zip(*(times for _, times in passes), strict=True)]
    miss, cold, hit = (list(column) for column in zip(*best, strict=True))
    reports = [miss[index] for index, (_, _, kind) in enumerate(cases()) if kind == "report"]
    return {
        "cases": len(best),
        "compile per set of identifiers (median)": statistics.median(t for compiled, _ in passes for t in compiled),
        "miss (median)": statistics.median(miss),
        "miss, 90th percentile": statistics.quantiles(miss, n=10)[-1],
        "cold miss (median)": statistics.median(cold),
        "cold miss, 90th percentile": statistics.quantiles(cold, n=10)[-1],
        "miss, reports only (median)": statistics.median(reports),
        "hit (median)": statistics.median(hit),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--report", type=pathlib.Path)
    args = parser.parse_args()
    results = measure(args.repeat)
    lines = [f"# Scrubber speed ({platform.python_implementation()} {platform.python_version()}, "
             f"{platform.machine()})", "", "Written by `bench/bench_scrub.py --repeat "
             f"{args.repeat}`; its docstring says what each figure measures.", "", "| figure | µs |", "|---|---:|"]
    lines += [f"| {name} | {value:.1f} |" if name != "cases" else f"| cases | {value:.0f} |"
              for name, value in results.items()]
    print("\n".join(lines))
    if args.report:
        args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
