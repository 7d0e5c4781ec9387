"""Scenarios, notices and formatting on tiny inline inputs."""

from __future__ import annotations

import copy
import json
import pickle

import pandas as pd
import pytest

from predictor.contract.csv_export import spreadsheet_safe
from predictor.contract.formatting import fmt_money, signed
from predictor.contract.notices import Notice, NoticeCode, code_of
from predictor.contract.plan import PLAN_FIELDS, CampaignPlan
from predictor.planning import scenario_compare as sc


def scenario(name: str, purchases: int, budget: float = 1000.0, model: str = "ridge") -> dict:
    plan = CampaignPlan(
        duration_days=30, total_budget=budget, start_month=1, num_unique_interests=1, total_ads=2
    )
    return {
        "name": name,
        "purchases": purchases,
        "lower": purchases - 1,
        "upper": purchases + 2,
        "level": 0.9,
        "backend": "local",
        "model": model,
        "plan": {f: getattr(plan, f) for f in PLAN_FIELDS},
        "end_month": plan.end_month,
    }


def test_names_default_to_the_next_free_letter_and_must_be_new() -> None:
    saved = [scenario("A", 3), scenario("C", 4)]
    assert sc.check_name(saved, "  ") == "B"
    assert sc.check_name(saved, " Plan ") == "Plan"
    with pytest.raises(sc.ScenarioError, match="'A' exists"):
        sc.check_name(saved, "A")
    with pytest.raises(sc.ScenarioError, match="'Setting' exists"):
        sc.check_name(saved, "Setting")
    with pytest.raises(sc.ScenarioError, match="at most 40"):
        sc.check_name(saved, "x" * 41)
    with pytest.raises(sc.ScenarioError, match="remove one first"):
        sc.check_name([scenario(str(i), 1) for i in range(sc.MAX_SCENARIOS)], "")


def test_add_and_remove_return_new_lists() -> None:
    saved = [scenario("A", 3)]
    grown = sc.add(saved, "", {k: v for k, v in scenario("x", 5).items() if k != "name"})
    assert [s["name"] for s in grown] == ["A", "B"] and len(saved) == 1
    assert [s["name"] for s in sc.remove(grown, "A")] == ["B"]
    with pytest.raises(sc.ScenarioError, match="No scenario is named 'Z'"):
        sc.remove(grown, "Z")
    with pytest.raises(sc.ScenarioError, match="save one first"):
        sc.remove([], "A")


def test_comparison_and_csv_show_differences_from_the_first() -> None:
    saved = [scenario("A", 10), scenario("B", 15, budget=1500.0, model="boosting")]
    table = sc.comparison_table(saved).set_index("Setting")
    assert table.loc["Total budget", "B"] == "1,500 (+500)"
    assert table.loc["Purchases vs first", "B"] == "+5 (+50%)"
    assert table.loc["Model", "B"] == "boosting"
    csv = sc.csv_frame(saved)
    assert list(csv["purchases_vs_first"]) == [0, 5]
    assert list(csv["purchases_vs_first_pct"]) == [0.0, 50.0]
    assert list(csv.columns) == list(sc.CSV_COLUMNS)


def test_notices_are_strings_with_a_code_that_survives_copies() -> None:
    notice = Notice(NoticeCode.GUARDRAIL, "no ads")
    assert notice == "no ads" and json.dumps([notice]) == '["no ads"]'
    for clone in (copy.deepcopy(notice), pickle.loads(pickle.dumps(notice))):
        assert clone == "no ads" and code_of(clone) is NoticeCode.GUARDRAIL
    assert code_of("plain text") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("-3+A1", "'-3+A1"),
        ("-3", "-3"),
        ("+2.5e3", "+2.5e3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-inf", "'-inf"),
        ("plain", "plain"),
        (5, 5),
        (-5, -5),
        (None, None),
    ],
)
def test_spreadsheet_safe(value: object, expected: object) -> None:
    safe = spreadsheet_safe(pd.DataFrame({"text": [value, "x"]}, dtype=object))
    assert safe["text"].iat[0] == expected or (value is None and pd.isna(safe["text"].iat[0]))


def test_spreadsheet_safe_headers_and_numeric_columns() -> None:
    frame = pd.DataFrame({"=cmd": ["a"], "-5": ["b"], "n": [-5], "x": [-2.5]})
    safe = spreadsheet_safe(frame)
    assert list(safe.columns) == ["'=cmd", "-5", "n", "x"]
    assert safe["n"].iat[0] == -5 and safe["x"].iat[0] == -2.5
    assert frame.columns[0] == "=cmd"  # a copy: the frame given is left as it was


def test_money_and_signs() -> None:
    assert fmt_money(1234.4) == "1,234"
    assert fmt_money(12.5) == "12.50" and fmt_money(None) == "—"
    assert signed(0) == "±0" and signed(-3) == "−3" and signed(500, money=True) == "+500"


def test_the_page_names_a_warming_endpoint_in_plain_words() -> None:
    from predictor.serving.endpoint_errors import EndpointWarmingError
    from predictor.serving.predictor import notice_failed, notice_paused
    from ui.prediction import render_notes

    for notice in (notice_failed(EndpointWarmingError.kind), notice_paused("warming up")):
        notes = render_notes({"notices": [notice]})
        assert "warming up" in notes and "Databricks" not in notes
    assert "did not answer" in render_notes({"notices": [notice_failed("timeout")]})
