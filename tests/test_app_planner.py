"""The planner's answers through the app's API: target budget, explanation, file scoring,
economics per scenario, and honest flags on extrapolated or self-contradicting plans."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from predictor import CampaignPlan, Predictor
from predictor.planning.explain import explain
from predictor.planning.target_budget import budget_for_purchases
from tests.support.common import REPO
from ui.common import DEFAULT_PLAN

PLAN: dict[str, Any] = dict(DEFAULT_PLAN)


def test_target_budget_gives_both_budgets(client: Client, app_predictor: Predictor) -> None:
    text, data = client.predict(**PLAN, target_purchases=120, api_name="/target_budget")
    expected = budget_for_purchases(app_predictor, CampaignPlan(**PLAN), 120, 0.9)
    assert data["purchases"]["expected"]["budget"] == expected.expected.budget
    assert data["purchases"]["assured"]["budget"] == expected.assured.budget
    assert expected.expected.message in text.replace("\\", "")
    assert "For 120 purchases" in text and "With 90% confidence" in text


def test_target_out_of_reach_says_so(client: Client) -> None:
    text, data = client.predict(**PLAN, target_purchases=1_000_000, api_name="/target_budget")
    assert data["purchases"]["expected"]["budget"] is None
    assert "out of reach" in text and "inside the training data's budgets (5,0" in text


def test_cost_per_purchase_budget_from_the_order_value(client: Client) -> None:
    text, data = client.predict(
        **PLAN,
        target_purchases=None,
        average_order_value=900,
        margin=0.5,
        api_name="/target_budget",
    )
    cpa = data["cost_per_purchase"]
    assert cpa["max_cost_per_purchase"] == pytest.approx(450)
    assert "break-even on profit" in cpa["basis"] and "Cost per purchase at most 450" in text


def test_target_needs_a_goal(client: Client) -> None:
    with pytest.raises(AppError, match="Enter the purchases you want"):
        client.predict(**PLAN, target_purchases=0, api_name="/target_budget")


def test_explain_gives_exact_factors(client: Client, app_predictor: Predictor) -> None:
    record = client.predict(**PLAN, api_name="/predict")[2]
    chart, data = client.predict(record, "ridge", api_name="/explain")
    expected = explain(app_predictor, CampaignPlan(**PLAN), "local")
    assert [e["label"] for e in data["effects"]] == [c.label for c in expected.contributions]
    product = 1.0
    for effect in data["effects"]:
        product *= effect["factor"]
    assert (data["baseline"] + 1) * product == pytest.approx(record["raw"] + 1, rel=1e-6)
    assert "vs typical" in chart and "×" in chart
    # Mixes are one effect each, never one column against another.
    names = [e["name"] for e in data["effects"]]
    assert len(names) == len(set(names)) and not any("Facebook" in n for n in names)


def test_explain_says_when_the_endpoint_answered(client: Client) -> None:
    record = {**client.predict(**PLAN, api_name="/predict")[2], "backend": "databricks"}
    chart, data = client.predict(record, "ridge", api_name="/explain")
    assert any("local copy" in n for n in data["notes"]) and "local copy" in chart


def test_score_a_csv_of_plans(client: Client, app_predictor: Predictor, tmp_path) -> None:
    plans = pd.DataFrame(
        [
            {**PLAN, "plan": "ok"},
            {**PLAN, "total_budget": "lots", "plan": "typo"},
            {
                "duration_days": 30,
                "total_budget": 9000,
                "start_month": 2,
                "num_unique_interests": 1,
                "total_ads": 2,
                "plan": "no mixes",
            },
        ]
    )
    path = tmp_path / "plans.csv"
    plans.to_csv(path, index=False)
    summary, scored_path, first_rows = client.predict(
        handle_file(str(path)), 0.9, "ridge", api_name="/score_csv"
    )
    scored = pd.read_csv(scored_path, dtype=str, keep_default_na=False)
    assert list(scored["plan"]) == ["ok", "typo", "no mixes"]
    expected = app_predictor.predict(CampaignPlan(**PLAN), 0.9)
    assert (scored.loc[0, "lower"], scored.loc[0, "upper"]) == (
        str(expected.lower),
        str(expected.upper),
    )
    assert "total_budget" in scored.loc[1, "error"] or "Total budget" in scored.loc[1, "error"]
    assert scored.loc[1, "prediction"] == "" and scored.loc[2, "error"] == ""
    assert "2 of 3 plans scored" in summary and "1 row has an error" in summary
    # The model that answered, in the summary and in each scored row.
    version = app_predictor.metadata.model_version
    assert f"by {app_predictor.metadata.display_name}, version {version}." in summary
    assert list(scored["model"]) == ["ridge", "", "ridge"]
    assert set(scored["model_version"]) == {version, ""}
    rows = pd.DataFrame(first_rows["data"], columns=first_rows["headers"])
    assert list(rows["plan"]) == ["ok", "typo", "no mixes"]
    assert rows.loc[0, "Range"] == f"{expected.lower:,} to {expected.upper:,}"
    assert rows.loc[1, "Predicted purchases"] == "—" and "number" in rows.loc[1, "Error or warning"]


def test_score_csv_needs_a_file(client: Client) -> None:
    with pytest.raises(AppError, match="Upload a CSV file"):
        client.predict(None, 0.9, "ridge", api_name="/score_csv")


def test_scenarios_keep_the_economics_they_were_saved_with(client: Client) -> None:
    table, _, _, saved = client.predict("", **PLAN, api_name="/save_scenario")
    assert "ROAS" not in {row[0] for row in table["data"]}
    table, _, _, saved = client.predict(
        "Big",
        **{**PLAN, "total_budget": 90_000},
        scenarios=saved,
        average_order_value=80,
        margin=40,
        api_name="/save_scenario",
    )
    rows = {row[0]: row[1:] for row in table["data"]}
    assert {"ROAS", "Cost per purchase", "Profit"} <= set(rows)
    assert rows["ROAS"][0] == "needs an order value" and "×" in rows["ROAS"][1]
    assert [s["average_order_value"] for s in saved] == [None, 80]
    csv = pd.read_csv(client.predict(saved, api_name="/export_scenarios"))
    assert {"roas", "roas_low", "roas_high", "profit", "cost_per_purchase"} <= set(csv.columns)
    assert list(csv["margin"].fillna(0)) == [0, 40]
    budget_a = PLAN["total_budget"]
    assert csv.loc[0, "cost_per_purchase"] == pytest.approx(
        budget_a / csv.loc[0, "predicted_purchases"]
    )


def test_extrapolated_and_unreliable_answers_are_flagged(client: Client) -> None:
    card, _, record = client.predict(**{**PLAN, "total_budget": 2_000_000}, api_name="/predict")
    assert record["extrapolated"] and "Extrapolated" in card
    # Outside the training budgets the range is no narrower, relative to the number, than at
    # the largest training budget.
    edge = client.predict(**{**PLAN, "total_budget": 119_779}, api_name="/predict")[2]
    assert not edge["extrapolated"]
    width = lambda r: (r["upper"] - r["lower"]) / max(r["purchases"], 1)  # noqa: E731
    assert width(record) >= width(edge) - 0.02
    card, _, record = client.predict(**{**PLAN, "facebook_ads": 9}, api_name="/predict")
    assert record["unreliable"] and "Unreliable" in card


def test_absurd_budgets_are_refused_in_plain_numbers(client: Client) -> None:
    with pytest.raises(AppError) as info:
        client.predict(**{**PLAN, "total_budget": 1e12}, api_name="/predict")
    message = str(info.value)
    assert re.search(r"\d{1,3}(,\d{3})+", message) and "e+" not in message and ".25" not in message


def test_more_ads_fewer_purchases_is_explained_on_the_chart(client: Client) -> None:
    plan = {**PLAN, "total_ads": 8, "facebook_ads": 8, "instagram_ads": 0}
    notes = client.predict(**plan, api_name="/curves")[2]
    assert "budget is split over more ads" in notes


def test_sample_file_is_offered_and_scores(client: Client) -> None:
    summary, path, _ = client.predict(
        handle_file(str(REPO / "ui" / "sample_plans.csv")), 0.9, "ridge", api_name="/score_csv"
    )
    assert "3 of 4 plans scored" in summary
    # "85,000" in the sample, as a spreadsheet writes it, is read as 85000.
    scored = pd.read_csv(path)
    assert scored.loc[1, "error"] != scored.loc[1, "error"] and scored.loc[1, "prediction"] > 0


def test_explain_breaks_down_the_nonlinear_model_and_says_how(
    two_models: tuple[str, Predictor],
) -> None:
    url, boosting = two_models
    client = Client(url, verbose=False, analytics_enabled=False)
    record = client.predict(**PLAN, model="boosting", api_name="/predict")[2]
    chart, data = client.predict(record, "boosting", api_name="/explain")
    expected = explain(boosting, CampaignPlan(**PLAN), "local")
    assert data["method"] == "one at a time"
    assert [e["change"] for e in data["effects"]] == pytest.approx(
        [c.change for c in expected.contributions]
    )
    assert "Method: each setting set to the typical campaign" in chart
    assert re.search(r"[+−]\d", chart)
    ridge = client.predict(
        client.predict(**PLAN, api_name="/predict")[2], "ridge", api_name="/explain"
    )
    assert ridge[1]["method"] == "exact" and "Method: exact factors" in ridge[0]
