"""The last hour of this process's own counters, per minute, for the console's overview (no Prometheus needed).

`metrics.py` feeds one `History` where it counts: a request answered (its role, status and latency), an object
withheld (its reason code) and an error (the answer's 4xx/5xx status, or a failure talking to the origin). The
memory is bounded: a ring of `minutes` slots, each holding counts under bounded labels (role names, reason codes,
statuses, error kinds) and latencies as counts in fixed buckets, never a list of observations. A slot is reused
when its minute is more than an hour old. Percentiles are read from the buckets, so p50 and p95 are the upper
bound of the bucket holding that rank: at worst 25 % above the true value.

The clock is injected, so the tests roll minutes over without sleeping. With `workers` > 1, each process keeps
its own history and the console shows the one process that answered.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# 1 ms to about 5 min, each bound 25 % above the last; a slower answer lands in the last bucket.
LATENCY_BOUNDS: tuple[float, ...] = tuple(0.001 * 1.25**k for k in range(57))


@dataclass
class _Minute:
    stamp: int  # minutes since the epoch
    requests: Counter[str] = field(default_factory=Counter)
    withheld: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latency: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BOUNDS))


class History:
    def __init__(self, *, minutes: int = 60, clock: Callable[[], float] = time.time) -> None:
        self._size = minutes
        self._clock = clock
        self._slots: list[_Minute | None] = [None] * minutes

    def request(self, role: str, status: int, seconds: float) -> None:
        slot = self._slot()
        slot.requests[role] += 1
        slot.latency[min(bisect.bisect_left(LATENCY_BOUNDS, seconds), len(LATENCY_BOUNDS) - 1)] += 1
        if status >= 400:
            slot.errors[str(status)] += 1

    def withheld(self, reason_code: str) -> None:
        self._slot().withheld[reason_code] += 1

    def error(self, kind: str) -> None:
        self._slot().errors[kind] += 1

    def series(self) -> dict[str, object]:
        """Oldest minute first: each label's count per minute, p50/p95 per minute (None: no request), and totals."""
        now = self._now()
        minutes = [self._live(stamp) for stamp in range(now - self._size + 1, now + 1)]
        hour = [0] * len(LATENCY_BOUNDS)
        for minute in minutes:
            hour = [a + b for a, b in zip(hour, minute.latency, strict=True)]
        return {
            "minutes": [minute.stamp * 60 for minute in minutes],
            "requests": _per_label(m.requests for m in minutes),
            "withheld": _per_label(m.withheld for m in minutes),
            "errors": _per_label(m.errors for m in minutes),
            "latency": {"p50": [percentile(m.latency, 0.5) for m in minutes],
                        "p95": [percentile(m.latency, 0.95) for m in minutes],
                        "hour_p50": percentile(hour, 0.5), "hour_p95": percentile(hour, 0.95)},
        }  # fmt: skip

    def _now(self) -> int:
        return math.floor(self._clock() / 60)

    def _slot(self) -> _Minute:
        now = self._now()
        slot = self._slots[now % self._size]
        if slot is None or slot.stamp != now:
            slot = self._slots[now % self._size] = _Minute(now)
        return slot

    def _live(self, stamp: int) -> _Minute:
        slot = self._slots[stamp % self._size]
        return slot if slot is not None and slot.stamp == stamp else _Minute(stamp)


def percentile(counts: list[int], fraction: float) -> float | None:
    """The upper bound of the bucket holding the observation at `fraction` of the way up; None if there are none."""
    total = sum(counts)
    if total == 0:
        return None
    rank = math.ceil(fraction * total)
    seen = 0
    for bound, count in zip(LATENCY_BOUNDS, counts, strict=True):
        seen += count
        if seen >= rank:
            return bound
    return LATENCY_BOUNDS[-1]


def _per_label(counters: Iterable[Counter[str]]) -> dict[str, list[int]]:
    listed = list(counters)
    labels = sorted({label for counter in listed for label in counter})
    return {label: [counter[label] for counter in listed] for label in labels}
