"""Recalibrating a bundle on a marketer's outcomes: the arithmetic, the honest evaluation, the
refusal with too few outcomes, and the written bundle served like any other."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from predictor import CampaignPlan, Predictor
from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.plan import PLAN_FIELDS
from predictor.planning.batch_scoring import feature_values
from predictor.planning.explain import explain
from predictor.record.outcome_rows import Shown, outcome_row
from predictor.record.outcomes import OutcomeStore
from predictor.serving.bundle import load_bundle, verify_manifest
from predictor.serving.model_choice import available_models, display_names
from predictor.serving.model_code.interval import interval_bounds
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR
from tests.support.predictor import trusted_config
from tests.support.scenario import PLAN
from training.__main__ import main
from training.marketer import marketer_outcomes
from training.recalibrate import (
    Options,
    RecalibrationError,
    check_enough,
    corrected,
    corrected_model,
    coverage_spread,
    cross_validated,
    fit,
    inside,
    level_factor,
    min_outcomes,
)
from training.recalibration_bundle import base_spread, recalibrate_bundle


def _plan(row: pd.Series) -> CampaignPlan:
    return CampaignPlan(**{f: row[f] for f in PLAN_FIELDS})


FLAT = {"offset": 1.0, "power": 0.0}  # a constant residual scale: scores are |residuals|


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> object:
    """A copy of the bundled models (Ridge and its alternatives) that tests may add to."""
    folder = tmp_path_factory.mktemp("models") / "model"
    shutil.copytree(MODEL_DIR, folder)
    return folder


@pytest.fixture(scope="module")
def marketer() -> pd.DataFrame:
    """1,000 campaigns of a marketer whose campaigns bring 40% more purchases."""
    return marketer_outcomes(1000, 21, more=1.4)


def test_the_fewest_outcomes_per_level():
    assert [min_outcomes(lv) for lv in (0.8, 0.9, 0.95)] == [4, 9, 19]
    check_enough(19, [0.8, 0.9, 0.95])
    with pytest.raises(RecalibrationError) as caught:
        check_enough(12, [0.8, 0.9, 0.95])
    assert str(caught.value) == (
        "12 outcomes are too few for a 95% range: conformal calibration needs at least 19. "
        "Record more results, or ask for lower levels only (--levels 0.8,0.9)."
    )
    with pytest.raises(RecalibrationError, match=r"at least 4\. Record more results\.$"):
        check_enough(3, [0.8])


def test_coverage_is_measured_on_held_out_outcomes_never_on_the_fitted_ones():
    # Residuals 1..20 around a flat prediction; the range's quantile is a rank of them.
    predicted = np.full(20, 100.0)
    actual = predicted + np.arange(1, 21)
    in_sample = fit(actual, predicted, FLAT, [0.9], False).calibration
    lo, hi = interval_bounds(predicted, in_sample, 0.9)
    assert int(((actual >= lo) & (actual <= hi)).sum()) == 19  # what a fit says of its own data
    held = cross_validated(actual, predicted, FLAT, [0.9], False, folds=20)[0.9]
    assert (held.inside, held.n) == (18, 20)  # leaving each out: the two largest miss


def test_too_few_outcomes_per_fold_are_not_measured():
    actual, predicted = np.arange(20.0), np.arange(20.0)
    held = cross_validated(actual, predicted, FLAT, [0.8, 0.95], False, folds=5)
    assert held[0.95] is None and held[0.8] is not None  # folds fit on 16 < 19


def test_the_level_factor_is_the_median_ratio():
    predicted = np.array([9.0, 19.0, 49.0, 99.0])
    actual = 1.4 * (predicted + 1) - 1
    assert level_factor(actual, predicted) == pytest.approx(1.4)
    assert corrected(predicted, 1.4) == pytest.approx(actual)
    with_factor = fit(actual, predicted, FLAT, [0.8], True)
    assert with_factor.factor == pytest.approx(1.4)
    assert with_factor.calibration["quantiles"]["0.8"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("name", ["ridge", "boosting"])
def test_a_corrected_model_answers_the_factor_times_the_base(name):
    folder = available_models(MODEL_DIR)[name]
    model = load_bundle(folder).predict_points.__self__
    rows = pd.read_json(folder / "input_example.json", orient="split")[FEATURE_COLUMNS]
    base = model.predict(rows)
    assert corrected_model(model, 1.3).predict(rows) == pytest.approx(1.3 * (base + 1) - 1)
    assert model.predict(rows) == pytest.approx(base)  # the base model is left alone
    assert corrected_model(model, 1.0) is model


def test_the_synthetic_marketer_falls_short_before_and_is_covered_after(marketer):
    bundle = load_bundle(MODEL_DIR)
    plans = marketer.drop(columns="actual_purchases").astype(float)
    features = pd.DataFrame(feature_values(plans), columns=FEATURE_COLUMNS)
    pred = np.asarray(bundle.predict_points(features))
    y = marketer["actual_purchases"].to_numpy(dtype=float)
    spread = base_spread(bundle, features)  # the served range's own scale, plan-aware
    lo, hi = bundle.ranges.bounds(pred, features, 0.9)
    before = np.mean((y >= lo) & (y <= hi))
    assert before == np.mean(inside(y, pred, bundle.metadata.interval, 0.9, spread))
    assert before < 0.8
    rng = np.random.default_rng(3)
    after = []
    for _ in range(60):
        drawn = np.zeros(len(y), dtype=bool)
        drawn[rng.choice(len(y), 50, replace=False)] = True
        fitted, held = np.flatnonzero(drawn), np.flatnonzero(~drawn)
        one = fit(y[drawn], pred[drawn], spread, [0.9], False, fitted)
        after.append(np.mean(inside(y[~drawn], pred[~drawn], one.calibration, 0.9, spread, held)))
    assert 0.87 <= np.median(after) <= 0.93
    print(f"before {before:.3f}; after, median of 60 draws of 50: {np.median(after):.3f}")


def test_the_recalibrated_bundle_is_a_standard_bundle_the_app_offers(root, marketer, tmp_path):
    results = tmp_path / "results.csv"
    drawn, others = marketer.iloc[:60], marketer.iloc[60:]
    text = drawn.to_csv(index=False)
    results.write_text(text + "7,lots,5,3,4,4,0,4,0,0,0,0,0,4,0,0,0,0,2\n")  # line 62: skipped
    result = recalibrate_bundle(Options(outcomes=str(results), model_dir=root))
    assert result.path == root / "alternatives" / "ridge-recalibrated" and result.n == 60
    assert result.skipped == (
        "line 62: total_budget must be a number, but it is text; enter a number",
    )
    assert available_models(root)["ridge-recalibrated"] == result.path
    assert "recalibrated on 60 outcomes" in display_names(root)["ridge-recalibrated"]
    verify_manifest(result.path)
    # The same fitted model, byte for byte; a new range and version.
    assert (result.path / "model.skops").read_bytes() == (root / "model.skops").read_bytes()
    served = Predictor(trusted_config(), model_dir=result.path)  # a bundle made in a temp folder
    base = Predictor(PredictorConfig(), model_dir=root)
    assert served.metadata.model_version.startswith(base.metadata.model_version + "+recal.")
    assert served.metadata.interval["n_calibration"] == 60
    answer, before = served.predict(PLAN), base.predict(PLAN)
    assert answer.raw == pytest.approx(before.raw) and answer.upper > before.upper
    assert answer.model_version == served.metadata.model_version
    card = (result.path / "README.md").read_text()
    assert "**60 outcomes** from `results.csv`" in card and "held out" in card
    assert "| 90% |" in card and "83–96% |" in card  # where it lands on new campaigns
    held = result.held_out[0.9]
    assert held.n == 60 and f"{held.inside} of 60" in card
    # Served answers on the marketer's other campaigns cover about 90%.
    scored = served.predict_frame(
        pd.DataFrame([_plan(r).to_features() for _, r in others.iterrows()])
    )
    y = others["actual_purchases"].to_numpy()
    coverage = np.mean((y >= scored["lower"]) & (y <= scored["upper"]))
    assert 0.8 <= coverage <= 0.97
    print(f"served recalibrated bundle: 90% coverage {coverage:.3f} on {len(y)} other campaigns")


def test_level_correction_from_the_store_keeps_explanations(root, marketer, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = OutcomeStore(url)
    shown = Shown(predicted=1, lower=0, upper=2, level=0.9, model="ridge")
    rows = [
        (None, outcome_row(_plan(r), int(r["actual_purchases"]), shown))
        for _, r in marketer.iloc[:40].iterrows()
    ]
    assert store.add(rows).added == 40
    store.close()
    out = tmp_path / "corrected"
    options = Options(outcomes=url, model_dir=root, out=out, name="mine", correct_level=True)
    result = recalibrate_bundle(options)
    assert result.n == 40 and 1.2 < result.fit.factor < 1.7
    served = Predictor(trusted_config(), model_dir=out)  # a bundle made in a temp folder
    base = Predictor(PredictorConfig(), model_dir=root)
    assert served.predict(PLAN).raw == pytest.approx(
        result.fit.factor * (base.predict(PLAN).raw + 1) - 1
    )
    why = explain(served, PLAN)
    assert why.contributions  # still the Ridge model, its factors exact
    assert "level factor" in (out / "README.md").read_text()


def test_the_cli_refuses_too_few_outcomes_in_one_line(marketer, tmp_path, capsys):
    results = tmp_path / "few.csv"
    marketer.iloc[:12].to_csv(results, index=False)
    assert main(["recalibrate", "--outcomes", str(results), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 12 outcomes are too few for a 95% range") and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_the_spread_of_coverage_on_new_campaigns():
    low, high = coverage_spread(50, 0.9)
    assert low == pytest.approx(0.826, abs=1e-3) and high == pytest.approx(0.960, abs=1e-3)
    narrower = coverage_spread(1000, 0.9)
    assert low < narrower[0] < 0.9 < narrower[1] < high
