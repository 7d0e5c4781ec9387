"""The prediction layer on the local bundle: points, intervals, guardrail, batches and what-if curves."""

from __future__ import annotations

import itertools
import os
import threading

import numpy as np
import pandas as pd
import pytest

from predictor import (
    FEATURE_COLUMNS,
    IntervalLevelError,
    PlanError,
    Prediction,
    Predictor,
)
from predictor.serving.bundle import BundleMetadata, load_bundle
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR
from tests.support.predictor import APP_PLAN

NOT_CONFIGURED = "Local model served (no Databricks endpoint configured)."
FRAME_COLUMNS = ["prediction", "lower", "upper", "extrapolated", "unreliable"]
PLAN = APP_PLAN.replace(duration_days=30, total_budget=20000)


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(PredictorConfig(), model_dir=MODEL_DIR)


@pytest.fixture(scope="module")
def pipeline():
    """The bundle's scikit-learn pipeline (the reference)."""
    return load_bundle(MODEL_DIR).pyfunc.get_raw_model()


def in_range_plans(predictor: Predictor, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` feature rows drawn inside the bundle's training range, with at least one ad."""
    rng = np.random.default_rng(seed)
    ranges = predictor.metadata.training_range
    columns = {}
    for column in FEATURE_COLUMNS:
        low, high = ranges[column]
        columns[column] = np.round(rng.uniform(low, high, n))
    columns["total_budget"] = rng.uniform(*ranges["total_budget"], n)
    columns["num_ads"] = np.maximum(columns["num_ads"], 1)
    return pd.DataFrame(columns, columns=FEATURE_COLUMNS)


def test_predict_matches_the_pipeline_and_its_interval(predictor, pipeline):
    prediction = predictor.predict(PLAN)
    assert isinstance(prediction, Prediction)
    frame = pd.DataFrame([PLAN.to_features()], columns=FEATURE_COLUMNS)
    expected = float(pipeline.predict(frame)[0])
    assert prediction.raw == pytest.approx(expected, abs=1e-9)
    assert prediction.purchases == round(max(expected, 0.0))
    lower, upper = predictor.ranges.bounds(np.array([expected]), frame, 0.9)
    assert (prediction.lower, prediction.upper) == (int(lower[0]), int(upper[0]))
    assert 0 <= prediction.lower <= prediction.purchases <= prediction.upper
    assert all(type(v) is int for v in (prediction.purchases, prediction.lower, prediction.upper))
    assert prediction.backend == "local" and prediction.level == 0.9
    assert prediction.features == PLAN.to_features()
    assert prediction.notices[-1] == NOT_CONFIGURED


def test_levels_come_from_the_bundle_and_widen_the_range(predictor):
    quantiles = predictor.metadata.interval["quantiles"]
    assert predictor.levels == tuple(sorted(float(k) for k in quantiles))
    ranges = [predictor.predict(PLAN, level=lv) for lv in predictor.levels]
    assert len({r.raw for r in ranges}) == 1
    for narrow, wide in itertools.pairwise(ranges):
        assert wide.lower <= narrow.lower and narrow.upper <= wide.upper


@pytest.mark.parametrize("level", [0.5, 0.99, 90, float("nan"), "0.9", None, True])
def test_an_uncalibrated_level_is_a_clear_error(predictor, level):
    before = predictor.call_counts
    with pytest.raises(IntervalLevelError, match="choose one of 80%, 90%, 95%"):
        predictor.predict(PLAN, level=level)
    with pytest.raises(IntervalLevelError):
        predictor.predict_frame(pd.DataFrame([PLAN.to_features()]), level=level)
    assert predictor.call_counts == before


def test_zero_ads_is_a_guardrail_without_a_model_call(tmp_path):
    fresh = Predictor(PredictorConfig(), model_dir=MODEL_DIR)
    prediction = fresh.predict(PLAN.replace(total_ads=0, facebook_ads=0, instagram_ads=0))
    assert (prediction.purchases, prediction.raw, prediction.lower, prediction.upper) == (
        0,
        0.0,
        0,
        0,
    )
    assert prediction.backend == "guardrail"
    assert any("model was not called" in n for n in prediction.notices)
    assert fresh.call_counts == {}


def test_notices_carry_mix_and_extrapolation_warnings(predictor):
    high = predictor.metadata.training_range["total_budget"][1]
    plan = PLAN.replace(total_budget=high * 10, facebook_ads=5)
    notices = predictor.predict(plan).notices
    assert notices[0] == "Platform mix adds up to 7 ads, more than the 4 ads in total."
    assert any(n.startswith("Total budget") and "extrapolates" in n for n in notices)
    assert notices[-1] == NOT_CONFIGURED


def test_metadata_is_a_typed_copy(predictor):
    metadata = predictor.metadata
    assert isinstance(metadata, BundleMetadata)
    assert metadata.features == FEATURE_COLUMNS and metadata.model_version
    metadata.interval["quantiles"].clear()
    metadata.training_range.clear()
    assert predictor.levels == (0.8, 0.9, 0.95)
    assert predictor.metadata.training_range
    assert not hasattr(predictor, "bundle_metadata")


def test_predict_frame_is_one_call_and_agrees_with_predict(predictor, pipeline):
    rows = in_range_plans(predictor, 50)
    rows.loc[7, "num_ads"] = 0
    rows.index = [f"r{i}" for i in range(len(rows))]
    before = predictor.call_counts.get("local", 0)
    result = predictor.predict_frame(rows)
    assert predictor.call_counts["local"] == before + 1
    assert list(result.columns) == FRAME_COLUMNS
    assert list(result.index) == list(rows.index)
    assert result.attrs["backend"] == "local" and NOT_CONFIGURED in result.attrs["notices"]
    assert tuple(result.loc["r7"])[:4] == (0, 0, 0, False)
    # Random mixes on a row with no ads add up to more than its total.
    assert result.loc["r7", "unreliable"]
    active = rows.drop(index="r7")
    expected = np.clip(pipeline.predict(active), 0, None)
    np.testing.assert_allclose(result.loc[active.index, "prediction"], expected, atol=1e-9)
    assert (result["lower"] <= result["upper"]).all() and (result["lower"] >= 0).all()
    single = predictor.predict(PLAN)
    one = predictor.predict_frame(pd.DataFrame([single.features]))
    assert (one["lower"].iloc[0], one["upper"].iloc[0]) == (single.lower, single.upper)


def test_predict_frame_accepts_reordered_extra_and_integer_columns(predictor):
    rows = in_range_plans(predictor, 5)
    expected = predictor.predict_frame(rows)
    shuffled = rows[FEATURE_COLUMNS[::-1]].astype("int64").assign(note="x")
    rows_int = rows.astype("int64")
    np.testing.assert_allclose(
        predictor.predict_frame(shuffled)["prediction"],
        predictor.predict_frame(rows_int)["prediction"],
    )
    assert len(expected) == 5


def test_predict_frame_of_nothing_calls_no_model(predictor):
    before = predictor.call_counts
    result = predictor.predict_frame(pd.DataFrame(columns=FEATURE_COLUMNS))
    assert result.empty and list(result.columns) == FRAME_COLUMNS
    assert predictor.call_counts == before


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda df: df.drop(columns=["num_ads"]), "num_ads", "lack the column"),
        (
            lambda df: df.assign(
                total_budget=df["total_budget"].astype(object).where(df.index != 1, "lots")
            ),
            "total_budget",
            "non-number in row 1",
        ),
        (
            lambda df: df.assign(num_ads=df["num_ads"].where(df.index != 2, np.nan)),
            "num_ads",
            "not finite in row 2",
        ),
        (
            lambda df: df.assign(start_month=df["start_month"].where(df.index != 0, np.inf)),
            "start_month",
            "not finite in row 0",
        ),
        (lambda df: df.assign(ad_type_Video=-1.0), "ad_type_Video", "negative"),
        (lambda df: df.assign(ad_type_Image=True), "ad_type_Image", "non-number"),
        (lambda df: pd.concat([df, df[["num_ads"]]], axis=1), "num_ads", "more than once"),
        (lambda df: df.to_numpy(), "features", "DataFrame"),
    ],
)
def test_predict_frame_rejects_bad_rows_by_column(predictor, change, field, words):
    rows = in_range_plans(predictor, 3)
    before = predictor.call_counts
    with pytest.raises(PlanError, match=words) as info:
        predictor.predict_frame(change(rows))
    assert info.value.field == field
    assert predictor.call_counts == before


def test_what_if_is_one_model_call_for_a_hundred_plans(predictor):
    budgets = np.linspace(0, 2 * PLAN.total_budget, 100)
    before = predictor.call_counts.get("local", 0)
    curve = predictor.what_if(PLAN, "total_budget", budgets)
    assert predictor.call_counts["local"] == before + 1
    assert list(curve.columns) == ["total_budget", "prediction", "lower", "upper", "extrapolated"]
    np.testing.assert_allclose(curve["total_budget"], budgets)
    for i in (0, 37, 99):
        point = predictor.predict(PLAN.replace(total_budget=float(budgets[i])))
        assert curve["prediction"][i] == pytest.approx(max(point.raw, 0.0), abs=1e-9)
        assert (curve["lower"][i], curve["upper"][i]) == (point.lower, point.upper)
    assert curve.attrs["backend"] == "local"


def test_what_if_rounds_counts_skips_invalid_values_and_guards_zero_ads(predictor):
    before = predictor.call_counts.get("local", 0)
    curve = predictor.what_if(PLAN, "total_ads", [-2, 0, 1.4, 3, float("nan"), "x", 8])
    assert predictor.call_counts["local"] == before + 1
    assert list(curve["total_ads"]) == [0, 1, 3, 8]
    assert tuple(curve.iloc[0, 1:]) == (0, 0, 0, False)
    assert curve["prediction"][1] == pytest.approx(
        max(predictor.predict(PLAN.replace(total_ads=1)).raw, 0)
    )
    with pytest.raises(PlanError, match="not a plan field"):
        predictor.what_if(PLAN, "budget", [1, 2])
    empty = predictor.what_if(PLAN, "total_budget", [-1, float("inf")])
    assert empty.empty and empty.attrs["backend"] == "guardrail"


def test_what_if_notes_points_beyond_the_training_range(predictor):
    high = predictor.metadata.training_range["total_budget"][1]
    curve = predictor.what_if(PLAN, "total_budget", [high / 2, high * 2, high * 3])
    assert (
        "2 rows are outside the training data's range (total budget)" in curve.attrs["notices"][0]
    )


def test_concurrent_first_use_loads_once_and_agrees(monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    fresh = Predictor(PredictorConfig(), model_dir=MODEL_DIR)
    results: list[Prediction] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        try:
            results.append(fresh.predict(PLAN))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({(r.raw, r.lower, r.upper) for r in results}) == 1
    assert fresh.call_counts == {"local": 8}
    # MLflow's deserialization switch is never turned on.
    assert "MLFLOW_ALLOW_PICKLE_DESERIALIZATION" not in os.environ


def test_predict_rejects_a_non_plan(predictor):
    with pytest.raises(PlanError, match="CampaignPlan"):
        predictor.predict(PLAN.to_features())  # type: ignore[arg-type]
