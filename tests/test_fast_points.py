"""The models' fast path gives the models' own numbers, and steps aside when it cannot."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from predictor.contract.features import FEATURE_COLUMNS
from predictor.serving import fast_points as fast_module
from predictor.serving.bundle import LoadedBundle, load_bundle
from predictor.serving.extrapolation import TrainingBounds
from predictor.serving.fast_points import FastPoints, fast_points, sample_rows
from predictor.serving.model_choice import available_models
from tests.support.common import APP_MODEL_DIR

MODELS = sorted(available_models(APP_MODEL_DIR).items())


@pytest.fixture(scope="module", params=MODELS, ids=[name for name, _ in MODELS])
def bundle(request: pytest.FixtureRequest) -> LoadedBundle:
    return load_bundle(request.param[1])


def _bounds(bundle: LoadedBundle) -> TrainingBounds:
    return TrainingBounds.from_metadata(bundle.metadata.training_range)


def test_each_bundled_model_is_covered_and_gives_its_own_numbers(bundle: LoadedBundle) -> None:
    bounds = _bounds(bundle)
    fast = fast_points(bundle.predict_points, bounds.low, bounds.high)
    assert isinstance(fast, FastPoints)
    assert fast.__self__ is bundle.predict_points.__self__
    # Rows the check never saw: another seed, one row, and inputs far outside training.
    rng = np.random.default_rng(7)
    wide = sample_rows(bounds.low, bounds.high * 3, 500)[rng.permutation(500)]
    for values in (wide, wide[:1], np.zeros((1, len(FEATURE_COLUMNS)))):
        frame = pd.DataFrame(values, columns=FEATURE_COLUMNS)
        expected = np.asarray(bundle.predict_points(frame), dtype=float)
        np.testing.assert_allclose(fast(frame), expected, rtol=1e-9, atol=1e-9)


def test_a_table_with_other_columns_gets_the_models_own_checks(bundle: LoadedBundle) -> None:
    bounds = _bounds(bundle)
    fast = fast_points(bundle.predict_points, bounds.low, bounds.high)
    shuffled = pd.DataFrame(sample_rows(bounds.low, bounds.high, 3), columns=FEATURE_COLUMNS).iloc[
        :, ::-1
    ]
    with pytest.raises(ValueError, match="feature names"):
        fast(shuffled)


def _toy_model(model: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((40, 3)), columns=["a", "b", "c"])
    model.fit(frame, frame.sum(axis=1) + 5)
    return model.predict, np.zeros(3), np.ones(3)


def test_a_model_it_does_not_cover_keeps_its_predict() -> None:
    predict, low, high = _toy_model(KNeighborsRegressor(n_neighbors=3))
    assert fast_points(predict, low, high) is predict


def test_steps_that_disagree_with_the_model_are_not_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    predict, low, high = _toy_model(make_pipeline(StandardScaler(), Ridge()))
    assert isinstance(fast_points(predict, low, high), FastPoints)
    # A misreading of the linear step (its intercept forgotten) must be caught.
    monkeypatch.setattr(fast_module, "_linear", lambda model: lambda X: X @ model.coef_)
    with caplog.at_level(logging.WARNING):
        assert fast_points(predict, low, high) is predict
    assert "disagrees" in caplog.text


def test_a_long_table_is_computed_in_blocks_with_the_same_numbers(
    bundle: LoadedBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    bounds = _bounds(bundle)
    fast = fast_points(bundle.predict_points, bounds.low, bounds.high)
    frame = pd.DataFrame(sample_rows(bounds.low, bounds.high * 2, 1_000), columns=FEATURE_COLUMNS)
    whole = fast(frame)
    monkeypatch.setattr(fast_module, "CHUNK_ROWS", 64)
    threads = set()
    steps = fast.steps

    def noted(values: np.ndarray) -> np.ndarray:
        threads.add(threading.current_thread().name)
        return steps(values)

    fast.steps = noted
    np.testing.assert_array_equal(fast(frame), whole)
    # The blocks ran in the worker threads, none in the caller's.
    assert threads and all(name.startswith("points") for name in threads)
    np.testing.assert_allclose(whole, bundle.predict_points(frame), rtol=1e-9, atol=1e-9)
