"""What drove a number: exact factors of the served model against the average campaign."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from predictor import FEATURE_COLUMNS, PlanError
from predictor.planning.explain import (
    GROUPS,
    LOCAL_COPY_NOTE,
    ExplainError,
    explain,
    explain_row,
    factor_text,
    linear_terms,
)
from tests.support.predictor import APP_PLAN
from training.models import served_model

PLAN = APP_PLAN


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
    assert labels["total budget"].startswith("total budget 50,000 vs typical ")
    assert labels["total budget"].split(": ")[1].startswith("×")
    assert "Facebook 2, Instagram 2 vs typical Facebook" in labels["platform mix"]
    assert "May to June" in labels["start and end month"]
    assert all("e+" not in label for label in labels.values())
    assert list(explanation.frame().columns) == ["name", "label", "factor", "value", "typical"]
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


def test_factor_text():
    assert factor_text(1.4) == "×1.40"
    assert factor_text(0.714) == "×0.71"
    assert factor_text(1234.4) == "×1,234"
