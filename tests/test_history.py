"""The overview's per-minute history: counts per label, roll-over of minutes, bounded size, percentiles."""

from __future__ import annotations

import pytest

from gateway.history import LATENCY_BOUNDS, History, percentile


class Clock:
    def __init__(self, start: float = 6_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_counts_land_in_the_current_minute_by_label() -> None:
    clock = Clock()
    history = History(clock=clock)
    history.request("researcher", 200, 0.01)
    history.request("researcher", 403, 0.01)
    history.request("clinician", 200, 0.02)
    history.withheld("burned-in")
    history.error("upstream timeout")
    series = history.series()
    assert series["requests"] == {"clinician": [0] * 59 + [1], "researcher": [0] * 59 + [2]}
    assert series["withheld"] == {"burned-in": [0] * 59 + [1]}
    assert series["errors"] == {"403": [0] * 59 + [1], "upstream timeout": [0] * 59 + [1]}
    assert series["minutes"][-1] == 6_000_000 // 60 * 60 and len(series["minutes"]) == 60


def test_minutes_roll_over_and_an_hour_old_minute_is_gone() -> None:
    clock = Clock()
    history = History(clock=clock)
    history.request("researcher", 200, 0.01)
    clock.now += 60
    history.request("researcher", 200, 0.01)
    history.request("researcher", 200, 0.01)
    assert history.series()["requests"]["researcher"][-2:] == [1, 2]
    clock.now += 59 * 60  # the first minute is now 60 minutes old: out of the window
    assert history.series()["requests"]["researcher"][0] == 2
    assert sum(history.series()["requests"]["researcher"]) == 2
    clock.now += 60 * 60
    history.request("clinician", 200, 0.01)  # reuses a slot whose minute is stale
    assert history.series()["requests"] == {"clinician": [0] * 59 + [1]}


def test_memory_is_bounded_by_the_window_whatever_the_traffic() -> None:
    clock = Clock()
    history = History(minutes=5, clock=clock)
    for _ in range(300):
        for _ in range(100):
            history.request("researcher", 200, 0.5)
        clock.now += 60
    assert len(history._slots) == 5
    assert all(len(slot.latency) == len(LATENCY_BOUNDS) for slot in history._slots if slot)
    assert len(history.series()["minutes"]) == 5


def test_percentiles_read_from_the_buckets() -> None:
    clock = Clock()
    history = History(clock=clock)
    for _ in range(90):
        history.request("researcher", 200, 0.010)
    for _ in range(10):
        history.request("researcher", 200, 2.0)
    latency = history.series()["latency"]
    p50, p95 = latency["p50"][-1], latency["p95"][-1]
    assert 0.010 <= p50 < 0.010 * 1.25 and 2.0 <= p95 < 2.0 * 1.25
    assert latency["p50"][0] is None and latency["hour_p95"] == p95


def test_percentile_edges() -> None:
    counts = [0] * len(LATENCY_BOUNDS)
    assert percentile(counts, 0.5) is None
    counts[3] = 1
    assert percentile(counts, 0.95) == LATENCY_BOUNDS[3]
    history = History(clock=Clock())
    history.request("admin", 200, 10_000.0)  # beyond the last bound: counted in the last bucket
    assert history.series()["latency"]["p50"][-1] == pytest.approx(LATENCY_BOUNDS[-1])
