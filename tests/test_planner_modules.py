"""Scenarios, notices and formatting on tiny inline inputs."""

from __future__ import annotations

import copy
import json
import pickle

import pandas as pd
import pytest

from predictor.contract.csv_export import spreadsheet_safe
from predictor.contract.formatting import fmt_money, money_range, signed
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


def test_comparison_and_csv_show_differences_from_the_chosen_baseline() -> None:
    saved = [scenario("A", 10), scenario("B", 15, budget=1500.0, model="boosting")]
    table = sc.comparison_table(saved, labels={"boosting": "Voting ensemble"}).set_index("Setting")
    assert table.loc["Total budget", "B"] == "1,500 (+500)"
    assert table.loc["Predicted purchases", "B"] == "15 (+5, +50%)"
    assert table.loc["Predicted purchases", "A"] == "10"
    assert table.loc["Model", "B"] == "Voting ensemble"
    assert table.loc["Answered by", "A"] == "model built into the app"
    against_b = sc.comparison_table(saved, baseline="B").set_index("Setting")
    assert against_b.loc["Predicted purchases", "A"] == "10 (−5, −33%)"
    assert against_b.loc["Total budget", "A"] == "1,000 (−500)"
    assert against_b.loc["Predicted purchases", "B"] == "15"
    csv = sc.csv_frame(saved, baseline="B")
    assert list(csv["purchases_vs_baseline"]) == [-5, 0]
    assert list(csv["baseline"]) == ["B", "B"]
    assert list(csv.columns[: len(sc.CSV_COLUMNS)]) == list(sc.CSV_COLUMNS)


def test_each_scenario_keeps_its_order_value_and_margin_and_economics_come_first() -> None:
    saved = sc.add([], "A", scenario("x", 10), average_order_value=80, margin=40)
    saved = sc.add(saved, "B", scenario("x", 20, budget=1500.0))
    table = sc.comparison_table(saved)
    rows = list(table["Setting"])
    assert rows[:5] == ["Predicted purchases", "Range", "ROAS", "Cost per purchase", "Profit"]
    cells = table.set_index("Setting")
    assert cells.loc["ROAS", "A"].startswith("0.80× · ")
    assert cells.loc["ROAS", "B"] == "needs an order value"
    assert cells.loc["Order value · margin", "A"] == "80.00 · 40%"
    # The cost per purchase needs no order value, so both have it, with the difference.
    assert cells.loc["Cost per purchase", "B"].startswith("75.00 (−25.00) · ")
    csv = sc.csv_frame(saved)
    assert list(csv["average_order_value"].fillna(0)) == [80, 0]
    assert csv.loc[0, "roas"] == pytest.approx(0.8)


def test_stored_scenarios_are_checked_and_rebuilt() -> None:
    saved = sc.add([], "A", {**scenario("x", 10), "features": {"x": 1}, "raw": 9.5})
    assert "features" not in saved[0] and "raw" not in saved[0]
    assert sc.stored(saved) == saved
    assert sc.stored(None) == []
    bad_cases = [
        ("not a list", "list of saved scenarios"),
        ([{"name": "A"}], "no plan"),
        ([{**saved[0], "purchases": 99}], "does not hold 99"),
        ([{**saved[0], "level": 0.5}], "range levels"),
        ([saved[0], saved[0]], "share a name"),
        ([{**saved[0], "plan": {**saved[0]["plan"], "total_budget": -1}}], "invalid plan"),
        ([{**saved[0], "margin": 400}], "economics"),
        ([saved[0]] * (sc.MAX_SCENARIOS + 1), "table holds"),
    ]
    for value, words in bad_cases:
        with pytest.raises(sc.ScenarioError, match=words):
            sc.stored(value)


def test_an_exported_file_reads_back_as_the_same_plans() -> None:
    saved = sc.add([], "=A", scenario("x", 10), average_order_value=80, margin=0.4)
    saved = sc.add(saved, "B", scenario("x", 20, budget=1500.0, model="boosting"))
    csv = sc.csv_frame(saved, labels={"ridge": "Ridge", "boosting": "Voting ensemble"})
    back = sc.saved_plans(csv)
    assert [p.name for p in back] == ["=A", "B"]
    assert [p.model for p in back] == ["Ridge", "Voting ensemble"]
    assert back[1].plan.total_budget == 1500.0
    assert (back[0].average_order_value, back[0].margin) == (80, 0.4)
    with pytest.raises(sc.ScenarioError, match="no scenario column"):
        sc.saved_plans(csv.drop(columns="scenario"))
    with pytest.raises(sc.ScenarioError, match="Row 2"):
        sc.saved_plans(csv.assign(total_ads=[2, -4]))


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
    assert fmt_money(-48_344.2) == "−48,344" and fmt_money(60, cents=False) == "60"
    assert money_range(60, 840) == "60 to 840" and money_range(12.5, 60) == "12.50 to 60.00"
    assert money_range(-49_472, -48_344) == "−49,472 to −48,344"
    assert signed(0) == "±0" and signed(-3) == "−3" and signed(500, money=True) == "+500"


def test_the_page_names_a_warming_endpoint_in_plain_words() -> None:
    from predictor.serving.endpoint_errors import EndpointWarmingError
    from predictor.serving.predictor import notice_failed, notice_paused
    from ui.prediction import render_notes

    for notice in (notice_failed(EndpointWarmingError.kind), notice_paused("warming up")):
        notes = render_notes({"notices": [notice]})
        assert "warming up" in notes and "Databricks" not in notes
    assert "did not answer" in render_notes({"notices": [notice_failed("timeout")]})
