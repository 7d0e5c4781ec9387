"""Target budget: budgets for N purchases and for a cost-per-purchase limit, inside the range."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from predictor import PlanError
from predictor.planning.economics import EconomicsError
from predictor.planning.target_budget import (
    FOUND,
    OUT_OF_REACH,
    RANGE_EDGE,
    budget_for_cpa,
    budget_for_purchases,
    cost_limit,
    first_true,
    last_true,
    whole_grid,
)
from tests.support.predictor import APP_PLAN

PLAN = APP_PLAN


class LinearModel:
    """A tiny stand-in with known answers: purchases = budget / 1000, lower = 80% of that."""

    def __init__(self) -> None:
        self.calls = 0
        self.metadata = SimpleNamespace(training_range={"total_budget": [1000.0, 100_000.0]})

    def predict_frame(self, frame: pd.DataFrame, level: float) -> pd.DataFrame:
        self.calls += 1
        pred = frame["total_budget"].to_numpy() / 1000
        return pd.DataFrame(
            {"prediction": pred, "lower": np.floor(pred * 4 / 5), "upper": np.ceil(pred * 6 / 5)}
        )


class RootModel(LinearModel):
    """purchases = sqrt(budget): the cost per purchase, sqrt(budget), grows with the budget."""

    def predict_frame(self, frame: pd.DataFrame, level: float) -> pd.DataFrame:
        self.calls += 1
        pred = np.sqrt(frame["total_budget"].to_numpy())
        return pd.DataFrame({"prediction": pred, "lower": pred / 2, "upper": pred * 2})


def test_grid_helpers():
    assert first_true(np.array([False, True, True])) == 1
    assert last_true(np.array([True, True, False])) == 1
    assert first_true(np.zeros(3, bool)) is None and last_true(np.zeros(0, bool)) is None
    assert list(whole_grid(2.5, 6.2)) == [3, 4, 5, 6]
    assert list(whole_grid(2.2, 2.8)) == [2.2, 2.8]
    assert len(whole_grid(0, 10_000, points=11)) == 11


def test_known_answers_on_a_linear_model():
    model = LinearModel()
    answer = budget_for_purchases(model, PLAN, 50)
    assert (answer.expected.status, answer.expected.budget) == (FOUND, 50_000)
    assert (answer.assured.status, answer.assured.budget) == (FOUND, 62_500)
    assert answer.training_range == (1000, 100_000)
    assert model.calls == answer.model_calls == 2


def test_edges_and_out_of_reach_on_a_linear_model():
    model = LinearModel()
    easy = budget_for_purchases(model, PLAN, 0.5)
    assert (easy.expected.status, easy.expected.budget) == (RANGE_EDGE, 1000)
    assert "smallest budget in the training data, 1,000" in easy.expected.message
    far = budget_for_purchases(model, PLAN, 90)
    assert far.expected.status == FOUND and far.expected.budget == 90_000
    assert far.assured.status == OUT_OF_REACH and far.assured.budget is None
    assert not far.assured.reachable and far.assured.purchases == 100
    assert "out of reach" in far.assured.message and "1,000 to 100,000" in far.assured.message
    assert "extrapolate" in far.assured.message
    model.calls = 0
    budget_for_purchases(model, PLAN, 1e9)
    assert model.calls == 1  # nothing to refine


def test_cost_limit_on_a_root_model():
    model = RootModel()
    answer = budget_for_cpa(model, PLAN, 200)  # sqrt(b) <= 200  <=>  b <= 40,000
    assert (answer.expected.status, answer.expected.budget) == (FOUND, 40_000)
    # On the lower end, sqrt(b) / 2: 2 * sqrt(b) <= 200  <=>  b <= 10,000.
    assert (answer.assured.status, answer.assured.budget) == (FOUND, 10_000)
    assert answer.basis == "given" and answer.model_calls == 2
    assert budget_for_cpa(model, PLAN, 1000).expected.status == RANGE_EDGE
    none = budget_for_cpa(model, PLAN, 10)
    assert none.expected.status == OUT_OF_REACH and none.expected.budget is None
    assert "the lowest it gets is 31.62, at a budget of 1,000" in none.expected.message


def test_cost_limit_from_the_order_value():
    assert cost_limit(250) == (250, "given")
    limit, basis = cost_limit(None, average_order_value=80)
    assert limit == 80 and "revenue" in basis
    limit, basis = cost_limit(None, average_order_value=80, margin=40)
    assert limit == pytest.approx(32) and "40%" in basis
    assert cost_limit(None, average_order_value=80, margin=0.4)[0] == pytest.approx(32)
    with pytest.raises(EconomicsError, match="average order value"):
        cost_limit(None)
    with pytest.raises(EconomicsError) as info:
        cost_limit(-5)
    assert info.value.field == "max_cost_per_purchase"


@pytest.mark.parametrize("target", [0, -3, math.nan, math.inf, "5", None, True])
def test_a_bad_target_names_the_field(target):
    with pytest.raises(PlanError) as info:
        budget_for_purchases(LinearModel(), PLAN, target)
    assert info.value.field == "target"


def test_a_plan_without_ads_has_no_target_budget():
    with pytest.raises(PlanError, match="no ads"):
        budget_for_purchases(LinearModel(), PLAN.replace(total_ads=0), 5)


def test_the_bundle_answers_are_the_smallest_whole_budgets(predictor):
    before = predictor.call_counts.get("local", 0)
    answer = budget_for_purchases(predictor, PLAN, 30)
    assert predictor.call_counts["local"] == before + answer.model_calls <= before + 2
    for which, value in (("expected", "raw"), ("assured", "lower")):
        budget = getattr(answer, which).budget
        assert getattr(answer, which).status == FOUND and budget.is_integer()
        at, below = (predictor.predict(PLAN.replace(total_budget=b)) for b in (budget, budget - 1))
        assert getattr(at, value) >= 30 > getattr(below, value)
        assert getattr(answer, which).lower == at.lower
    low, high = predictor.metadata.training_range["total_budget"]
    assert answer.training_range == (math.ceil(low), math.floor(high))


def test_the_bundle_says_when_a_target_is_out_of_reach(predictor):
    answer = budget_for_purchases(predictor, PLAN, 10_000)
    assert answer.expected.status == answer.assured.status == OUT_OF_REACH
    assert "5,009 to 119,779" in answer.expected.message


def test_the_bundle_cost_limit_is_the_largest_whole_budget(predictor):
    answer = budget_for_cpa(predictor, PLAN, 1000)
    budget = answer.expected.budget
    assert answer.expected.status == FOUND
    at, above = (predictor.predict(PLAN.replace(total_budget=b)) for b in (budget, budget + 1))
    assert budget / at.raw <= 1000 < (budget + 1) / above.raw
