"""Revenue, ROAS, CPA and profit from a purchase prediction and its range."""

from __future__ import annotations

import math

import pytest

from predictor.planning.economics import (
    EconomicsError,
    campaign_economics,
    cpa,
    profit,
    revenue,
    roas,
)


def test_basic_formulas() -> None:
    assert revenue(10, 25.0) == 250.0
    assert roas(250.0, 100.0) == 2.5
    assert cpa(100.0, 4) == 25.0
    assert profit(10, 25.0, 0.4, 60.0) == pytest.approx(40.0)


def test_undefined_cases_are_none() -> None:
    assert cpa(100.0, 0) is None
    assert roas(250.0, 0.0) is None


def test_ranges_follow_the_purchase_interval() -> None:
    econ = campaign_economics(1000.0, 40, 30, 50, average_order_value=50.0, margin=0.5)
    assert (econ.revenue.value, econ.revenue.low, econ.revenue.high) == (2000.0, 1500.0, 2500.0)
    assert (econ.roas.value, econ.roas.low, econ.roas.high) == (2.0, 1.5, 2.5)
    # More purchases mean a lower cost per purchase: the CPA range is inverted.
    assert (econ.cpa.value, econ.cpa.low, econ.cpa.high) == (25.0, 20.0, 1000.0 / 30)
    assert (econ.profit.value, econ.profit.low, econ.profit.high) == (0.0, -250.0, 250.0)
    assert [m.name for m in econ.metrics()] == ["Revenue", "ROAS", "CPA", "Profit"]


def test_zero_purchases_makes_cpa_undefined_and_says_so() -> None:
    econ = campaign_economics(1000.0, 0, 0, 4, average_order_value=50.0, margin=0.5)
    assert econ.cpa.value is None
    assert "undefined" in econ.cpa.note
    assert econ.cpa.low == 250.0
    assert econ.cpa.high == math.inf
    assert econ.revenue.value == 0.0
    assert econ.profit.value == -1000.0


def test_zero_purchases_and_zero_range_has_no_cpa_bounds() -> None:
    econ = campaign_economics(1000.0, 0, 0, 0)
    assert (econ.cpa.value, econ.cpa.low, econ.cpa.high) == (None, None, None)


def test_lower_bound_of_zero_leaves_cpa_unbounded_above() -> None:
    econ = campaign_economics(900.0, 3, 0, 9)
    assert econ.cpa.value == 300.0
    assert econ.cpa.low == 100.0
    assert econ.cpa.high == math.inf
    assert "no upper bound" in econ.cpa.note


def test_zero_budget() -> None:
    econ = campaign_economics(0.0, 5, 2, 8, average_order_value=10.0, margin=1.0)
    assert econ.roas.value is None
    assert "budget of 0" in econ.roas.note
    assert (econ.cpa.value, econ.cpa.low, econ.cpa.high) == (0.0, 0.0, 0.0)
    assert econ.profit.value == 50.0


def test_optional_inputs_leave_metrics_out() -> None:
    only_cpa = campaign_economics(100.0, 5, 3, 7)
    assert only_cpa.revenue is None and only_cpa.roas is None and only_cpa.profit is None
    assert [m.name for m in only_cpa.metrics()] == ["CPA"]
    no_margin = campaign_economics(100.0, 5, 3, 7, average_order_value=20.0)
    assert no_margin.revenue.value == 100.0
    assert no_margin.profit is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"budget": -1.0}, "budget"),
        ({"budget": math.nan}, "budget"),
        ({"budget": "100"}, "budget"),
        ({"purchases": 2.5}, "purchases"),
        ({"purchases": -1}, "purchases"),
        ({"lower": 6}, "lower"),
        ({"upper": 4}, "lower"),
        ({"average_order_value": -5.0}, "average_order_value"),
        ({"average_order_value": math.inf}, "average_order_value"),
        ({"margin": 1.5}, "margin"),
        ({"margin": True}, "margin"),
    ],
)
def test_invalid_input_names_the_field(kwargs: dict, field: str) -> None:
    args = {
        "budget": 100.0,
        "purchases": 5,
        "lower": 3,
        "upper": 7,
        "average_order_value": 20.0,
        "margin": 0.3,
    }
    args.update(kwargs)
    with pytest.raises(EconomicsError) as info:
        campaign_economics(**args)
    assert info.value.field == field
    assert "enter" in str(info.value) or "pass" in str(info.value)
