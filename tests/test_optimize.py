"""The plan optimizer on both bundled models: exact for Ridge, every bound kept, honest answers."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from predictor import PlanError, Predictor, PredictorConfig
from predictor.contract.plan import MIXES, PLAN_FIELDS
from predictor.planning.economics import EconomicsError
from predictor.planning.optimize import (
    ALREADY_BEST,
    FOUND,
    MAX_LOCAL_CALLS,
    OUT_OF_REACH,
    optimize,
)
from predictor.planning.optimize_space import (
    GROUPS,
    BoundsError,
    build_space,
    compositions,
    features_of,
    parse_bounds,
    parse_changeable,
)
from predictor.serving.model_choice import available_models
from tests.support.common import MODEL_DIR
from tests.support.predictor import APP_PLAN

PLAN = APP_PLAN
MIX_CHANGES = ["platform", "format", "gender", "age"]
EVERYTHING = list(GROUPS)


@pytest.fixture(scope="module")
def boosting() -> Predictor:
    return Predictor(PredictorConfig(), model_dir=available_models(MODEL_DIR)["boosting"])


def _row(plan) -> np.ndarray:
    return np.array([float(getattr(plan, f)) for f in PLAN_FIELDS])


def _keeps_bounds(answer, bounds: dict, changeable: list[str]) -> None:
    best = answer.best.plan
    for name, bound in parse_bounds(bounds).items():
        value = getattr(best, name)
        if bound.low is not None:
            assert value >= bound.low - 1e-9, (name, value)
        if bound.high is not None:
            assert value <= bound.high + 1e-9, (name, value)
        if bound.low_share is not None:
            assert value >= bound.low_share / 100 * best.total_ads - 1e-9, (name, value)
        if bound.high_share is not None:
            assert value <= bound.high_share / 100 * best.total_ads + 1e-9, (name, value)
    moved = {f for g in changeable for f in GROUPS[g]}
    for name in PLAN_FIELDS:
        if name not in moved and not (name in sum(MIXES.values(), ()) and "ads" in changeable):
            assert getattr(best, name) == getattr(PLAN, name), name
    for fields in MIXES.values():
        if any(f in moved for f in fields):
            assert sum(getattr(best, f) for f in fields) == best.total_ads


def test_ridge_answer_is_the_exact_optimum_of_an_enumerated_space(predictor: Predictor) -> None:
    # Every split of the 4 ads over platform, format and gender, with every start month.
    changeable = ["platform", "format", "gender", "month"]
    answer = optimize(predictor, PLAN, "most_purchases", changeable)
    assert answer.method == "exact"
    rows = []
    for month, platform, fmt, gender in itertools.product(
        range(1, 13),
        compositions(np.zeros(2), np.full(2, 4), 4),
        compositions(np.zeros(4), np.full(4, 4), 4),
        compositions(np.zeros(3), np.full(3, 4), 4),
    ):
        row = _row(PLAN)
        row[PLAN_FIELDS.index("start_month")] = month
        for group, counts in zip(
            ("platform", "format", "gender"), (platform, fmt, gender), strict=True
        ):
            row[[PLAN_FIELDS.index(f) for f in GROUPS[group]]] = counts
        rows.append(row)
    assert len(rows) == 12 * 5 * 35 * 15
    scored = predictor.predict_frame(features_of(np.array(rows)))
    assert answer.best.purchases == pytest.approx(scored["prediction"].max(), rel=1e-9)
    assert answer.best.purchases > answer.current.purchases


@pytest.mark.parametrize("goal", ["most_purchases", "careful", "least_budget", "within_cost"])
@pytest.mark.parametrize("model", ["ridge", "boosting"])
def test_random_bounds_are_always_kept(goal: str, model: str, predictor, boosting) -> None:
    chosen = predictor if model == "ridge" else boosting
    rng = np.random.default_rng(11)
    for _ in range(4):
        changeable = [g for g in EVERYTHING if rng.random() < 0.6] or ["platform"]
        bounds = {
            "instagram_ads": {"max_share": float(rng.choice([40, 60, 100]))},
            "stories_ads": {"min": int(rng.integers(0, 2))},
            "age_35_44_ads": {"max": 0},
            "total_budget": {"max": float(rng.choice([60_000, 90_000]))},
            "duration_days": {"min": 30, "max": int(rng.choice([60, 90]))},
        }
        try:
            answer = optimize(chosen, PLAN, goal, changeable, bounds, max_cost_per_purchase=2_000)
        except BoundsError as exc:
            # Only a bound on something that may not change can refuse this plan.
            assert "may not change" in str(exc)
            continue
        assert answer.model_calls <= MAX_LOCAL_CALLS
        assert answer.status in (FOUND, ALREADY_BEST, OUT_OF_REACH)
        # The closest plan of a goal out of reach keeps the bounds too.
        moved = changeable + (["budget"] if goal == "least_budget" else [])
        _keeps_bounds(answer, bounds, moved)


def test_the_least_budget_is_the_least(predictor: Predictor) -> None:
    answer = optimize(predictor, PLAN, "least_budget", MIX_CHANGES)
    assert answer.status == FOUND and answer.method == "exact"
    budget = answer.best.plan.total_budget
    assert budget < PLAN.total_budget and budget == int(budget)
    less = answer.best.plan.replace(total_budget=budget - 1)
    assert predictor.predict(less).raw < answer.current.purchases <= answer.best.purchases
    assert "Total budget 50,000 →" in answer.changes[0]


def test_within_cost_keeps_the_cost_and_uses_the_largest_budget(predictor, boosting) -> None:
    for chosen in (predictor, boosting):
        answer = optimize(chosen, PLAN, "within_cost", ["budget"], max_cost_per_purchase=800)
        best = answer.best
        assert answer.status == FOUND
        assert best.plan.total_budget <= 800 * best.purchases
        more = chosen.predict(best.plan.replace(total_budget=best.plan.total_budget + 50))
        assert best.plan.total_budget + 50 > 800 * more.raw
    roas = optimize(
        predictor, PLAN, "within_cost", ["budget"], min_roas=2, average_order_value=1_600
    )
    assert roas.max_cost_per_purchase == pytest.approx(800)


def test_a_goal_out_of_reach_says_so_and_is_not_the_current_plan(predictor, boosting) -> None:
    for chosen in (predictor, boosting):
        answer = optimize(chosen, PLAN, "least_budget", [], target_purchases=100_000)
        assert answer.status == OUT_OF_REACH
        assert "out of reach" in answer.message and "closest plan" in answer.message
        cost = optimize(chosen, PLAN, "within_cost", ["budget"], max_cost_per_purchase=1)
        assert cost.status == OUT_OF_REACH and "No plan within your bounds" in cost.message


def test_nothing_to_change_is_said_not_silent(predictor: Predictor) -> None:
    answer = optimize(predictor, PLAN, "most_purchases", [])
    assert answer.status == ALREADY_BEST
    assert answer.message.startswith("Your current plan is already the best")
    assert answer.changes == ()


def test_a_binding_cap_gets_a_sentence_and_a_loose_one_does_not(predictor, boosting) -> None:
    for chosen in (predictor, boosting):
        tight = optimize(
            chosen, PLAN, "most_purchases", ["platform"], {"instagram_ads": {"max_share": 60}}
        )
        assert tight.best.plan.instagram_ads == 2
        assert any("60% cap on Instagram ads is what limits" in s for s in tight.limits)
        loose = optimize(
            chosen, PLAN, "most_purchases", ["platform"], {"facebook_ads": {"max_share": 90}}
        )
        assert loose.limits == () or all("Facebook" not in s for s in loose.limits)


def test_the_training_range_limits_the_search_and_says_so(predictor: Predictor) -> None:
    answer = optimize(predictor, PLAN, "most_purchases", ["budget"])
    top = predictor.metadata.training_range["total_budget"][1]
    assert answer.best.plan.total_budget <= top
    assert not answer.best.extrapolated
    assert any("largest total budget in the training data" in s for s in answer.limits)


def test_bounds_that_force_extrapolation_are_marked(predictor: Predictor) -> None:
    answer = optimize(
        predictor, PLAN, "most_purchases", ["budget"], {"total_budget": {"min": 150_000}}
    )
    assert answer.best.plan.total_budget == 150_000
    assert answer.best.extrapolated
    assert any("above the largest in the training data" in n for n in answer.notices)
    assert "extrapolated" in answer.message


def test_the_gain_shows_both_ranges(predictor: Predictor) -> None:
    answer = optimize(predictor, PLAN, "most_purchases", MIX_CHANGES)
    current, best = answer.current, answer.best
    assert f"range {current.lower}–{current.upper}" in answer.gain
    assert f"range {best.lower}–{best.upper}" in answer.gain
    assert "not a promise" in answer.gain or "do not overlap" in answer.gain
    assert any(
        line.startswith("Platform:") or line.startswith("Format:") for line in answer.changes
    )


@pytest.mark.parametrize(
    ("bounds", "field", "words"),
    [
        ({"instagram_ads": {"min": 3, "max": 1}}, "instagram_ads", "above the upper bound"),
        ({"stories_ads": {"min": -1}}, "stories_ads", "is negative"),
        ({"instagram_ads": {"max_share": 120}}, "instagram_ads", "above 100%"),
        (
            {"facebook_ads": {"min_share": 70}, "instagram_ads": {"min_share": 40}},
            "facebook_ads",
            "add up to 110%",
        ),
        ({"total_budget": {"max": 3_000}}, "total_budget", "below the smallest budget"),
        ({"tiktok_ads": {"max": 2}}, "tiktok_ads", "not a plan field"),
        ({"total_budget": {"min_share": 10}}, "total_budget", "shares apply to the ads of a mix"),
        ({"stories_ads": {"most": 1}}, "stories_ads", "not a kind of bound"),
        ({"start_month": {"max": 13}}, "start_month", "not a month"),
    ],
)
def test_bad_bounds_name_the_field(predictor, bounds, field, words) -> None:
    with pytest.raises(PlanError) as info:
        optimize(predictor, PLAN, "most_purchases", EVERYTHING, bounds)
    assert info.value.field == field
    assert words in str(info.value)


def test_contradictions_and_unknown_groups_are_clear(predictor: Predictor) -> None:
    with pytest.raises(BoundsError, match="cannot meet its bounds with the plan's 4 ads"):
        optimize(predictor, PLAN, "most_purchases", ["platform"], {"instagram_ads": {"min": 5}})
    with pytest.raises(BoundsError, match="may not change; let it change"):
        optimize(predictor, PLAN, "most_purchases", ["platform"], {"total_budget": {"max": 40_000}})
    with pytest.raises(BoundsError, match="'tiktok' is not something that can change"):
        parse_changeable(["platform", "tiktok"])
    with pytest.raises(BoundsError, match="not a goal"):
        optimize(predictor, PLAN, "cheapest", ["platform"])
    with pytest.raises(EconomicsError, match="needs the average order value"):
        optimize(predictor, PLAN, "within_cost", ["budget"], min_roas=2)


def test_the_space_keeps_the_training_range_inside_the_bounds(predictor: Predictor) -> None:
    space = build_space(
        PLAN,
        parse_changeable("budget,duration,ads,format"),
        parse_bounds({"duration_days": [10, 200], "stories_ads": {"min": 1}}),
        predictor.metadata.training_range,
    )
    assert (
        space.scalars["duration_days"].min() == 14 and space.scalars["duration_days"].max() == 120
    )
    assert space.ads.min() == 1 and space.ads.max() == 9
    for n in space.ads.astype(int):
        box = space.box("format", n)
        assert box.low[GROUPS["format"].index("stories_ads")] == 1
        assert (box.compositions.sum(axis=1) == n).all()
    assert space.forced == ()


@pytest.mark.parametrize("model", ["ridge", "boosting"])
def test_every_goal_takes_at_most_eight_calls_of_the_local_model(
    model: str, predictor, boosting
) -> None:
    chosen = predictor if model == "ridge" else boosting
    for goal in ("most_purchases", "careful", "least_budget", "within_cost"):
        before = sum(chosen.call_counts.values())
        answer = optimize(chosen, PLAN, goal, EVERYTHING, max_cost_per_purchase=600)
        assert sum(chosen.call_counts.values()) - before == answer.model_calls <= MAX_LOCAL_CALLS
        assert answer.model_calls >= 1


def test_a_plan_with_no_ads_needs_the_ads_to_change(predictor: Predictor) -> None:
    empty = PLAN.replace(total_ads=0, **{f: 0 for fs in MIXES.values() for f in fs})
    with pytest.raises(BoundsError, match="the plan has no ads"):
        optimize(predictor, empty, "most_purchases", ["budget"])
    answer = optimize(predictor, empty, "most_purchases", ["ads", *MIX_CHANGES])
    assert answer.best.plan.total_ads >= 1 and answer.current.purchases == 0
    assert answer.method == "exact"


def test_to_dict_is_plain_json(predictor: Predictor) -> None:
    import json

    data = optimize(predictor, PLAN, "careful", MIX_CHANGES).to_dict()
    assert json.loads(json.dumps(data))["best"]["plan"]["total_ads"] == 4
    assert data["goal"] == "careful" and isinstance(pd.Series(data["changes"]), pd.Series)


def test_the_optimized_plan_is_a_plan_like_any_other(predictor: Predictor) -> None:
    from predictor.planning.explain import explain
    from predictor.planning.scenario_compare import answer_record
    from predictor.planning.whatif import what_if_curves

    answer = optimize(predictor, PLAN, "careful", EVERYTHING, {"total_budget": {"max": 80_000}})
    best = answer.best.plan
    prediction = predictor.predict(best)
    assert (prediction.lower, prediction.upper) == (answer.best.lower, answer.best.upper)
    why = explain(predictor, best)
    assert why.prediction == pytest.approx(answer.best.purchases)
    curves = what_if_curves(predictor, best, 0.9)
    assert best.total_budget in set(curves.budget["x"]) and len(curves.ads) > 2
    assert answer_record(prediction, best, "ridge")["plan"]["total_ads"] == best.total_ads
