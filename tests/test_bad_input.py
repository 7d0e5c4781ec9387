"""Bad input in the prediction layer: messages that name the field and read like the page."""

from __future__ import annotations

import pytest

from predictor import CampaignPlan, PlanError
from predictor.contract.formatting import fmt_echo, fmt_typed
from predictor.planning.economics import EconomicsError, answer_economics, parse_margin
from predictor.planning.target_budget import budget_for_purchases, cost_limit
from predictor.planning.whatif import ads_values, budget_values

PLAN = dict(duration_days=60, total_budget=50_000, start_month=5, num_unique_interests=3)
ANSWER = {"purchases": 40, "lower": 20, "upper": 60, "plan": {**PLAN, "total_ads": 4}}


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1_016_950, "1,016,950"),
        (1_016_950.0, "1,016,950"),
        (2.5, "2.5"),
        (-3, "-3"),
        (0.7, "0.7"),
        (123_456.25, "123,456.25"),
        (1e12, "1,000,000,000,000"),
        (1e308, "1×10^308"),
        (-1.5e20, "-1.5×10^20"),
        (10**400, "1×10^400"),
        (float("nan"), "NaN"),
        (float("inf"), "infinity"),
    ],
)
def test_numbers_in_messages_read_like_the_page(number: float, text: str) -> None:
    assert fmt_typed(number) == text


def test_echoed_values_are_cut_short() -> None:
    assert fmt_echo("x" * 1_000_000) == "'" + "x" * 38 + "…"
    assert fmt_echo({"a": 1}) == "{'a': 1}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"total_ads": 1_016_950},
            "total_ads is 1,016,950; enter a whole number of at most 1,000,000",
        ),
        ({"total_ads": 2.5}, "total_ads is 2.5; enter a whole number"),
        ({"total_budget": 1e308}, "total_budget is 1×10^308; enter at most 1,000,000,000,000"),
        ({"total_budget": -100}, "total_budget is -100; enter 0 or more"),
        ({"duration_days": 10**400}, "duration_days is too large; enter a smaller number"),
    ],
)
def test_plan_messages_never_use_scientific_notation(changes: dict, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        CampaignPlan(**{**PLAN, "total_ads": 4, **changes})
    assert str(caught.value) == message
    assert "e+" not in str(caught.value)


def test_a_plan_from_data_names_what_is_wrong() -> None:
    with pytest.raises(PlanError, match="not list"):
        CampaignPlan.from_mapping([1, 2])
    with pytest.raises(PlanError, match="'colour' is not a plan field; use duration_days"):
        CampaignPlan.from_mapping({**PLAN, "total_ads": 4, "colour": "red"})
    with pytest.raises(PlanError, match="total_ads must be a number, but it is empty"):
        CampaignPlan.from_mapping(PLAN)
    assert CampaignPlan.from_mapping({**PLAN, "total_ads": 0}).facebook_ads == 0


def test_what_if_curves_stay_inside_the_plan_limits() -> None:
    assert ads_values(1_000_000).max() == 1_000_000
    assert budget_values(1e12).max() == 1e12
    assert ads_values(4).max() == 8 and budget_values(50_000).max() == 100_000


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({**ANSWER, "plan": [1, 2]}, "the prediction's plan is list, not an object"),
        ({**ANSWER, "plan": None, "features": "x"}, "the prediction's features is str, not an"),
        ({**ANSWER, "plan": {}}, "the prediction's plan has no total_budget"),
        ({**ANSWER, "purchases": 1e308, "upper": 1e308}, "purchases is 1×10^308; enter at most"),
        ({**ANSWER, "upper": 10**400}, "upper is 1×10^400; enter at most 1,000,000,000,000"),
        ({**ANSWER, "lower": float("nan")}, "lower must be a finite number"),
    ],
)
def test_economics_refuses_answers_that_are_not_predictions(answer: dict, message: str) -> None:
    with pytest.raises(EconomicsError) as caught:
        answer_economics(answer, 60, 0.4)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("refuse", "message"),
    [
        (lambda: answer_economics(ANSWER, 1e308), "average_order_value is 1×10^308; enter at most"),
        (lambda: parse_margin(10**400), "margin 1×10^400 is not a share"),
        (lambda: cost_limit(1e308), "max_cost_per_purchase is 1×10^308; enter at most"),
    ],
)
def test_economics_inputs_are_bounded(refuse, message: str) -> None:
    with pytest.raises(EconomicsError) as caught:
        refuse()
    assert str(caught.value).startswith(message)


def test_a_target_beyond_any_campaign_is_refused_in_plain_numbers(predictor) -> None:
    plan = CampaignPlan(**PLAN, total_ads=4, facebook_ads=4)
    with pytest.raises(PlanError) as caught:
        budget_for_purchases(predictor, plan, 1e308)
    assert str(caught.value) == "target is 1×10^308; enter at most 1,000,000,000,000"


def test_curves_stop_where_their_points_would_be_absurd(predictor) -> None:
    from predictor.planning.whatif import what_if_curves
    from predictor.serving.extrapolation import ABSURD_FACTOR

    high = predictor.metadata.training_range
    most_ads = ABSURD_FACTOR * high["num_ads"][1]
    most_budget = ABSURD_FACTOR * high["total_budget"][1]
    plan = CampaignPlan(
        **{**PLAN, "total_budget": 0.9 * most_budget}, total_ads=int(0.9 * most_ads)
    )
    curves = what_if_curves(predictor, plan, 0.9)
    assert curves.ads["x"].max() <= most_ads and plan.total_ads in set(curves.ads["x"])
    assert curves.budget["x"].max() <= most_budget and len(curves.budget) > 20
    absurd = CampaignPlan(**PLAN, total_ads=1_000_000)
    with pytest.raises(PlanError) as caught:
        what_if_curves(predictor, absurd, 0.9)
    assert str(caught.value).startswith("Total ads 1,000,000 is more than 100 times the largest")
    assert "(row" not in str(caught.value)
