"""Margin parsing, the money format, the low-ROAS sentence and scenario economics rows."""

from __future__ import annotations

import math

import pytest

from predictor.contract.formatting import fmt_feature, fmt_money, fmt_number
from predictor.planning.economics import (
    EconomicsError,
    campaign_economics,
    format_ratio,
    low_roas_note,
    parse_margin,
    scenario_columns,
    scenario_rows,
)


@pytest.mark.parametrize(
    ("typed", "fraction", "interpretation"),
    [
        (0.4, 0.4, "fraction"),
        (40, 0.4, "percent"),
        (1, 1.0, "fraction"),
        (1.5, 0.015, "percent"),
        (100, 1.0, "percent"),
        (0.05, 0.05, "fraction"),
    ],
)
def test_margin_reads_fractions_and_percentages(typed, fraction, interpretation) -> None:
    margin = parse_margin(typed)
    assert margin.fraction == pytest.approx(fraction)
    assert margin.interpretation == interpretation
    assert f": {100 * fraction:.4g}% of each order." in margin.note


def test_margin_note_says_which_reading_was_used() -> None:
    assert parse_margin(0.4).note == "Margin 0.4 read as a fraction: 40% of each order."
    assert parse_margin(40).note == "Margin 40 read as a percentage: 40% of each order."
    assert parse_margin(12.5).note == "Margin 12.5 read as a percentage: 12.5% of each order."


@pytest.mark.parametrize("typed", [0, -0.4, 100.5, 1e9, math.nan, math.inf, "40", None, True])
def test_margin_outside_both_readings_is_an_error(typed) -> None:
    with pytest.raises(EconomicsError) as info:
        parse_margin(typed)
    assert info.value.field == "margin"
    assert "0.4 or 40" in str(info.value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e12, "1,000,000,000,000"),
        (1_234_567.89, "1,234,568"),
        (1000, "1,000"),
        (100, "100"),
        (99.5, "99.50"),
        (12.5, "12.50"),
        (0.004, "0.00"),
        (-0.001, "0.00"),
        (-2500.4, "−2,500"),
        (1e20, "100,000,000,000,000,000,000"),
        (math.inf, "no upper bound"),
        (None, "—"),
        (math.nan, "n/a"),
    ],
)
def test_money_format(value, text) -> None:
    assert fmt_money(value) == text
    assert "e+" not in fmt_money(value)


def test_plain_numbers_for_model_inputs() -> None:
    assert fmt_number(1e12) == "1,000,000,000,000" and fmt_number(2.5) == "2.50"
    assert fmt_feature("num_ads", 0) == "0" and fmt_feature("total_budget", 5008.25) == "5,008"


def test_ratio_format() -> None:
    assert format_ratio(0.4567) == "0.46×"
    assert format_ratio(1234.5) == "1,234.50×"
    assert format_ratio(None) == "—"


def test_low_roas_sentence_only_below_the_threshold() -> None:
    note = low_roas_note(0.25)
    assert note is not None and note.count(". ") == 0 and note.endswith(".")
    assert "0.25×" in note and "sparse" in note
    assert low_roas_note(1.0) is None
    assert low_roas_note(3.2) is None
    assert low_roas_note(None) is None
    assert low_roas_note(1.5, threshold=2.0) is not None


def test_scenario_rows_and_columns_carry_ranges() -> None:
    econ = campaign_economics(2000.0, 40, 30, 50, average_order_value=25.0, margin=0.5)
    rows = scenario_rows(econ)
    assert rows == {
        "ROAS": "0.50× · 0.38× to 0.62×",
        "Cost per purchase": "50.00 · 40.00 to 66.67",
        "Profit": "−1,500 · −1,625 to −1,375",
    }
    base = campaign_economics(1000.0, 40, 30, 50, average_order_value=25.0, margin=0.5)
    against = scenario_rows(econ, base)
    assert against["ROAS"].startswith("0.50× (−0.50×) · ")
    assert against["Cost per purchase"].startswith("50.00 (+25.00) · ")
    assert against["Profit"].startswith("−1,500 (−1,000) · ")
    columns = scenario_columns(econ)
    assert columns["roas"] == 0.5 and columns["roas_low"] == 0.375
    assert columns["cost_per_purchase_high"] == pytest.approx(2000 / 30)
    assert (columns["profit_low"], columns["profit_high"]) == (-1625.0, -1375.0)


def test_scenario_rows_leave_out_what_needs_a_missing_input() -> None:
    econ = campaign_economics(900.0, 3, 0, 9)
    assert scenario_rows(econ) == {"Cost per purchase": "300 · 100 or more"}
    columns = scenario_columns(econ)
    assert columns["roas"] is None and columns["profit_high"] is None
    assert columns["cost_per_purchase_high"] == math.inf
