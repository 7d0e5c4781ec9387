"""Two served models: the Ridge bundle in model/ and the nonlinear alternative in model/alternatives/.

Each is a complete bundle (own calibration, manifest, card), loads through the same predictor,
is served by ``mlflow models serve``, and meets the bars on the same held-out campaigns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import requests

from predictor import FEATURE_COLUMNS, BundleError, CampaignPlan, Predictor
from predictor.serving.bundle import (
    ALTERNATIVES_DIR,
    BOOSTING,
    RIDGE,
    load_bundle,
    verify_bundle,
    verify_manifest,
)
from predictor.serving.model_choice import (
    available_models,
    display_names,
    model_dir,
    warm_up_in_order,
)
from predictor.serving.model_code.pyfunc import interval_frame
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR
from tests.support.predictor import copy_bundle, mlflow_server

BOOSTING_DIR = MODEL_DIR / ALTERNATIVES_DIR / BOOSTING
PLAN = CampaignPlan(
    duration_days=40, total_budget=25000, start_month=10, num_unique_interests=3, total_ads=5
)


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    """No developer secrets.toml is read."""
    monkeypatch.chdir(tmp_path)


def test_the_registry_lists_both_committed_bundles():
    assert available_models(MODEL_DIR) == {RIDGE: MODEL_DIR, BOOSTING: BOOSTING_DIR}
    assert list(available_models(MODEL_DIR)) == [RIDGE, BOOSTING]  # the default first
    names = display_names(MODEL_DIR)
    assert names[RIDGE] == verify_bundle(MODEL_DIR).display_name == "Ridge + SelectKBest"
    assert names[BOOSTING] == verify_bundle(BOOSTING_DIR).display_name
    assert names[BOOSTING] != names[RIDGE]
    assert model_dir(RIDGE) == MODEL_DIR.relative_to(MODEL_DIR.parent)
    assert model_dir(BOOSTING, MODEL_DIR) == BOOSTING_DIR


def test_the_registry_lists_only_what_is_there(tmp_path):
    assert available_models(tmp_path / "nowhere") == {}
    root = copy_bundle(tmp_path / "model")
    (root / ALTERNATIVES_DIR / "empty").mkdir()  # not a bundle: no MLmodel
    (root / ALTERNATIVES_DIR / BOOSTING / "MLmodel").write_text("not: [valid\n")
    assert available_models(root) == {RIDGE: root, BOOSTING: root / ALTERNATIVES_DIR / BOOSTING}
    assert display_names(root)[BOOSTING] == BOOSTING  # an unreadable record: its name
    only_alternative = tmp_path / "alt-only"
    (only_alternative / ALTERNATIVES_DIR).mkdir(parents=True)
    copy_bundle(only_alternative / ALTERNATIVES_DIR / "other")
    assert list(available_models(only_alternative)) == ["other"]


def test_each_bundle_is_complete_on_its_own():
    ridge, boosting = verify_bundle(MODEL_DIR), verify_bundle(BOOSTING_DIR)
    assert (ridge.name, ridge.candidate) == (RIDGE, "ridge_selectkbest")
    assert boosting.name == BOOSTING and boosting.candidate in {"gradient_boosting", "voting"}
    assert boosting.interval != ridge.interval  # its own calibration
    assert boosting.training_range == ridge.training_range
    entries = verify_manifest(BOOSTING_DIR)
    assert {"MLmodel", "model.skops", "README.md", "code/campaign_model/pyfunc.py"} <= set(entries)
    assert not any(rel.startswith(ALTERNATIVES_DIR) for rel in verify_manifest(MODEL_DIR))
    for card in (MODEL_DIR / "README.md", BOOSTING_DIR / "README.md"):
        text = card.read_text(encoding="utf-8")
        assert "## The served models compared" in text
        assert "`model/`" in text and f"`model/{ALTERNATIVES_DIR}/{BOOSTING}/`" in text


def test_from_env_serves_either_bundle():
    ridge = Predictor.from_env(model_dir=MODEL_DIR, environ={})
    boosting = Predictor.from_env(model_dir=BOOSTING_DIR, environ={})
    assert boosting.metadata.name == BOOSTING and ridge.metadata.name == RIDGE
    answer, reference = boosting.predict(PLAN), ridge.predict(PLAN)
    assert answer.backend == "local" and answer.raw != reference.raw
    pipeline = load_bundle(BOOSTING_DIR).pyfunc.get_raw_model()
    expected = float(pipeline.predict(pd.DataFrame([PLAN.to_features()]))[0])
    assert answer.raw == pytest.approx(expected, abs=1e-9)
    frame = pd.DataFrame([PLAN.to_features()], columns=FEATURE_COLUMNS)
    lower, upper = boosting.ranges.bounds(np.array([expected]), frame, 0.9)
    assert (answer.lower, answer.upper) == (int(lower[0]), int(upper[0]))
    assert boosting.levels == ridge.levels == (0.8, 0.9, 0.95)


def test_an_altered_alternative_is_refused(tmp_path):
    root = copy_bundle(tmp_path / "model")
    skops = root / ALTERNATIVES_DIR / BOOSTING / "model.skops"
    data = bytearray(skops.read_bytes())
    data[len(data) // 2] ^= 0x01
    skops.write_bytes(bytes(data))
    verify_manifest(root)  # the Ridge bundle does not cover it ...
    with pytest.raises(BundleError, match=r"model\.skops was altered"):
        Predictor(PredictorConfig(), model_dir=root / ALTERNATIVES_DIR / BOOSTING).predict(PLAN)


def test_mlflow_serves_the_alternative_with_its_ranges():
    bundle = load_bundle(BOOSTING_DIR)
    frame = pd.DataFrame([PLAN.to_features()] * 3, columns=FEATURE_COLUMNS).astype(float)
    frame["total_budget"] = [5000.0, 25000.0, 90000.0]
    with mlflow_server(BOOSTING_DIR) as url:
        body = {"dataframe_split": {"columns": FEATURE_COLUMNS, "data": frame.to_numpy().tolist()}}
        response = requests.post(url, json=body, timeout=30)
    assert response.status_code == 200
    served = pd.DataFrame.from_records(response.json()["predictions"])
    expected = interval_frame(
        bundle.predict_points(frame), bundle.metadata.interval, frame, bundle.ranges.points
    )
    assert list(served.columns) == list(expected.columns)
    np.testing.assert_allclose(served["prediction"], expected["prediction"], rtol=0, atol=1e-9)
    bounds = [c for c in expected.columns if c != "prediction"]
    assert (served[bounds].to_numpy() == expected[bounds].to_numpy()).all()


def test_both_bundles_meet_the_bars_on_the_same_held_out_campaigns():
    from training import config
    from training.evaluate import bars_met, evaluate_on, fresh_campaigns

    table, oracle = fresh_campaigns(config.EVAL_SEED, config.EVAL_CAMPAIGNS)
    for folder in (MODEL_DIR, BOOSTING_DIR):
        bundle = load_bundle(folder)
        ev = evaluate_on(table, oracle, bundle.predict_points, bundle.ranges, config.EVAL_SEED)
        assert all(bars_met(ev).values()), (folder, bars_met(ev))
        # The card and the record report what this measures.
        recorded = bundle.metadata.metrics["evaluation"]
        assert ev["rmse"] == pytest.approx(recorded["rmse"], abs=1e-9)
        assert ev["coverage_90_by_third"] == pytest.approx(recorded["coverage_90_by_third"])
        assert f"{ev['rmse_ratio']:.3f}" in (folder / "README.md").read_text(encoding="utf-8")


class _Warmed:
    """A stand-in predictor that answers after its call counts were read ``after`` times."""

    def __init__(self, name: str, events: list[str], after: int = 0) -> None:
        self.name, self.events, self.after = name, events, after

    @property
    def call_counts(self) -> dict[str, int]:
        self.events.append(f"{self.name} asked")
        self.after -= 1
        return {"local": 1} if self.after < 0 else {}


def test_the_other_models_load_after_the_default_models_first_answer():
    events: list[str] = []
    ridge, boosting = _Warmed("ridge", events, after=2), _Warmed("boosting", events)
    warm_up_in_order(
        {RIDGE: ridge, BOOSTING: boosting}, lambda p: events.append(f"load {p.name}"), poll=0
    )
    assert events == ["load ridge", *["ridge asked"] * 3, "load boosting"]


def test_the_default_model_starts_quick_and_every_model_loads_after_its_answer():
    events: list[str] = []
    ridge, boosting = _Warmed("ridge", events, after=1), _Warmed("boosting", events)
    warm_up_in_order(
        {RIDGE: ridge, BOOSTING: boosting},
        lambda p: events.append(f"load {p.name}"),
        poll=0,
        start=lambda p: events.append(f"start {p.name}"),
    )
    assert events == ["start ridge", "ridge asked", "ridge asked", "load ridge", "load boosting"]


def test_the_other_models_load_anyway_when_no_answer_comes():
    events: list[str] = []
    ridge, boosting = _Warmed("ridge", events, after=10**9), _Warmed("boosting", events)
    warm_up_in_order(
        {RIDGE: ridge, BOOSTING: boosting},
        lambda p: events.append(f"load {p.name}"),
        wait=0,
        poll=0,
    )
    assert events[0] == "load ridge" and events[-1] == "load boosting"
