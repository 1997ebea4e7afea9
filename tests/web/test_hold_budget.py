"""The process-wide budget of answers held whole (gateway.web.hold_budget)."""

from __future__ import annotations

import pytest

from gateway.web.hold_budget import HoldBudget


def test_past_the_budget_an_answer_streams_and_a_slot_comes_back_when_done() -> None:
    budget = HoldBudget(2)
    with budget.slot() as first, budget.slot() as second, budget.slot() as third:
        assert (first, second, third) == (True, True, False)
    with budget.slot() as again:
        assert again


def test_a_slot_comes_back_when_the_answer_fails() -> None:
    budget = HoldBudget(1)
    with pytest.raises(RuntimeError), budget.slot() as taken:
        assert taken
        raise RuntimeError("the origin cut the body")
    with budget.slot() as again:
        assert again
