"""What drove a number: exact factors of the served model against the average campaign."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from predictor import FEATURE_COLUMNS, PlanError, Predictor
from predictor.planning.explain import (
    GROUPS,
    LOCAL_COPY_NOTE,
    METHOD_SWAP,
    ExplainError,
    change_text,
    explain,
    explain_by_swapping,
    explain_row,
    factor_text,
    linear_terms,
    typical_campaign,
)
from predictor.serving.model_choice import available_models
from predictor.serving.settings import PredictorConfig
from tests.support.common import APP_MODEL_DIR
from tests.support.predictor import APP_PLAN
from training.models import served_model

PLAN = APP_PLAN


@pytest.fixture(scope="module")
def boosting_predictor() -> Predictor:
    """The bundled voting ensemble, answering locally."""
    return Predictor(PredictorConfig(), model_dir=available_models(APP_MODEL_DIR)["boosting"])


def _product(explanation) -> float:
    return (explanation.baseline + 1) * math.prod(c.factor for c in explanation.contributions)


@pytest.mark.parametrize(
    "plan",
    [
        PLAN,
        PLAN.replace(total_budget=9_000, duration_days=20, start_month=11),
        PLAN.replace(total_budget=400_000, total_ads=7, facebook_ads=7, instagram_ads=0),
    ],
)
def test_factors_times_the_average_give_the_prediction_exactly(predictor, plan):
    explanation = explain(predictor, plan)
    answer = predictor.predict(plan)
    assert explanation.prediction == pytest.approx(answer.raw, rel=1e-12)
    assert _product(explanation) == pytest.approx(answer.raw + 1, rel=1e-9)
    assert [c.name for c in explanation.contributions] != []
    sizes = [abs(math.log(c.factor)) for c in explanation.contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert sorted(c.name for c in explanation.contributions) == sorted(n for n, _ in GROUPS)


def test_the_average_campaign_comes_from_the_model_and_has_no_effects(predictor):
    terms = linear_terms(predictor.local_estimator())
    typical = {
        c: float(np.expm1(m) if log else m)
        for c, m, log in zip(terms.columns, terms.average, terms.logged, strict=True)
    }
    explanation = explain_row(terms, typical)
    assert all(c.factor == pytest.approx(1.0, abs=1e-9) for c in explanation.contributions)
    row = pd.DataFrame([typical], columns=FEATURE_COLUMNS)
    assert explanation.baseline == pytest.approx(predictor.predict_frame(row)["prediction"][0])


def test_a_mix_is_one_effect_whose_change_matches_the_prediction(predictor):
    moved = PLAN.replace(facebook_ads=4, instagram_ads=0)
    before, after = explain(predictor, PLAN), explain(predictor, moved)
    factor = {c.name: c.factor for c in before.contributions}
    factor_after = {c.name: c.factor for c in after.contributions}
    ratio = (predictor.predict(moved).raw + 1) / (predictor.predict(PLAN).raw + 1)
    assert factor_after["platform mix"] / factor["platform mix"] == pytest.approx(ratio, rel=1e-9)
    for name in factor.keys() - {"platform mix"}:
        assert factor_after[name] == pytest.approx(factor[name], rel=1e-12)


def test_labels_are_plain_language(predictor):
    explanation = explain(predictor, PLAN)
    labels = {c.name: c.label for c in explanation.contributions}
    assert labels["total budget"].startswith("total budget: 50,000 vs typical ")
    assert "Facebook 2, Instagram 2 vs typical Facebook" in labels["platform mix"]
    # Months by name, the typical ones too; no talk of logarithms.
    assert re.fullmatch(
        r"start and end month: May to June vs typical [A-Z][a-z]+ to [A-Z][a-z]+",
        labels["start and end month"],
    )
    assert all("e+" not in label for label in labels.values())
    assert "log" not in " ".join(explanation.notes)
    assert list(explanation.frame().columns) == [
        "name",
        "label",
        "factor",
        "change",
        "value",
        "typical",
    ]
    assert LOCAL_COPY_NOTE not in explanation.notes
    assert LOCAL_COPY_NOTE in explain(predictor, PLAN, answered_by="databricks").notes


def test_plans_the_model_does_not_answer_are_not_explained(predictor):
    with pytest.raises(PlanError, match="no ads"):
        explain(predictor, PLAN.replace(total_ads=0))
    with pytest.raises(PlanError, match="more than 100 times"):
        explain(predictor, PLAN.replace(total_budget=1e12))


def test_a_tiny_served_model_is_explained_exactly():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.integers(1, 9, size=(40, len(FEATURE_COLUMNS))), columns=FEATURE_COLUMNS)
    X = X.astype(float).assign(total_budget=rng.uniform(1_000, 9_000, 40))
    y = rng.poisson(5, 40).astype(float)
    model = served_model(k=10, alpha=1.0).fit(X, y)
    terms = linear_terms(model)
    assert (terms.weights != 0).sum() == 10  # the dropped columns have no effect
    row = X.iloc[0].to_dict()
    explanation = explain_row(terms, row)
    assert _product(explanation) == pytest.approx(model.predict(X.iloc[[0]])[0] + 1, rel=1e-9)


def test_a_model_that_is_not_log_linear_is_refused():
    X = pd.DataFrame(np.ones((5, len(FEATURE_COLUMNS))), columns=FEATURE_COLUMNS)
    model = make_pipeline(StandardScaler(), Ridge()).fit(X, np.arange(5.0))
    with pytest.raises(ExplainError, match="no exact factors"):
        linear_terms(model)


class CountingModel:
    """A model's ``predict``, counting its calls."""

    def __init__(self, estimator) -> None:
        self.estimator, self.calls = estimator, 0

    def predict(self, frame):
        self.calls += 1
        return self.estimator.predict(frame)


def test_a_nonlinear_model_is_broken_down_one_setting_at_a_time(boosting_predictor):
    explanation = explain(boosting_predictor, PLAN)
    assert explanation.method == METHOD_SWAP
    assert sorted(c.name for c in explanation.contributions) == sorted(n for n, _ in GROUPS)
    changes = [abs(c.change) for c in explanation.contributions]
    assert changes == sorted(changes, reverse=True) and changes[0] > 0
    # Each change is the plan's prediction less the one with that setting typical.
    estimator = boosting_predictor.local_estimator()
    typical = typical_campaign(estimator)
    budget = next(c for c in explanation.contributions if c.name == "total budget")
    swapped = {**PLAN.to_features(), "total_budget": typical["total_budget"]}
    rows = pd.DataFrame([PLAN.to_features(), swapped], columns=FEATURE_COLUMNS)
    plan_answer, swapped_answer = estimator.predict(rows)
    assert budget.change == pytest.approx(plan_answer - swapped_answer, rel=1e-9)
    assert explanation.prediction == pytest.approx(boosting_predictor.predict(PLAN).raw, rel=1e-9)
    # All of it in one batch call of the model.
    counting = CountingModel(estimator)
    explain_by_swapping(counting, PLAN.to_features(), typical)
    assert counting.calls == 1


def test_the_typical_campaign_is_the_same_for_both_models(predictor, boosting_predictor):
    ridge = typical_campaign(predictor.local_estimator())
    ensemble = typical_campaign(boosting_predictor.local_estimator())
    assert set(ridge) == set(FEATURE_COLUMNS)
    assert ensemble == pytest.approx(ridge, rel=1e-9)


def test_a_model_without_a_typical_campaign_is_refused():
    X = pd.DataFrame(np.ones((5, len(FEATURE_COLUMNS))), columns=FEATURE_COLUMNS)
    model = make_pipeline(StandardScaler(), Ridge()).fit(X, np.arange(5.0))
    with pytest.raises(ExplainError, match="no typical training campaign"):
        typical_campaign(model)


def test_change_text():
    assert change_text(12.3) == "+12" and change_text(-0.44) == "−0.4" and change_text(0.01) == "±0"


def test_factor_text():
    assert factor_text(1.4) == "×1.40"
    assert factor_text(0.714) == "×0.71"
    assert factor_text(1234.4) == "×1,234"
