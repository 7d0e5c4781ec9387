"""A large batch's points and range distances computed side by side give the same answers."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_info

from predictor import Predictor
from predictor.serving import overlap
from predictor.serving.overlap import OVERLAP_ROWS, one_blas_thread, side_by_side


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_side_by_side_runs_the_second_part_in_another_thread():
    seen = {}

    def beside() -> int:
        seen["beside"] = threading.current_thread().name
        return 2

    assert side_by_side(lambda: 1, beside) == (1, 2)
    assert seen["beside"] != threading.current_thread().name


@pytest.mark.parametrize("failing", ["main", "beside"])
def test_an_error_in_either_part_reaches_the_caller(failing):
    def fail() -> int:
        raise RuntimeError(f"{failing} failed")

    parts = (fail, lambda: 2) if failing == "main" else (lambda: 1, fail)
    with pytest.raises(RuntimeError, match=f"{failing} failed"):
        side_by_side(*parts)
    assert overlap._users == 0


def test_blas_gets_one_thread_while_in_use_and_its_setting_back_after_the_last_user():
    before = _blas_threads()
    if not before:
        pytest.fail("NumPy's BLAS is not visible to threadpoolctl")
    first, second = one_blas_thread(), one_blas_thread()
    first.__enter__()
    assert _blas_threads() == [1] * len(before)
    second.__enter__()
    # The first user leaving, while the second still works, keeps the limit.
    first.__exit__(None, None, None)
    assert _blas_threads() == [1] * len(before)
    second.__exit__(None, None, None)
    assert _blas_threads() == before


def test_a_known_distance_gives_the_same_bounds_and_must_fit_the_plans():
    ranges = Predictor(model_dir="model").ranges
    rng = np.random.default_rng(3)
    points = ranges.points.points
    frame = pd.DataFrame(
        points[rng.integers(0, len(points), 200)] * rng.uniform(0.7, 1.4, (200, 1)),
        columns=ranges.points.columns,
    )
    pred = rng.uniform(1, 200, 200)
    distance = ranges.distance(frame)
    for given, computed in zip(
        ranges.bounds(pred, frame, 0.9, distance), ranges.bounds(pred, frame, 0.9), strict=True
    ):
        np.testing.assert_array_equal(given, computed)
    assert ranges.all_bounds(pred, frame, distance).keys() == ranges.all_bounds(pred, frame).keys()
    with pytest.raises(ValueError, match="one value per plan"):
        ranges.bounds(pred, frame, 0.9, distance[:-1])


@pytest.mark.parametrize("model_dir", ["model", "model/alternatives/boosting"])
def test_a_large_batch_scored_side_by_side_matches_the_one_scored_in_turn(model_dir, monkeypatch):
    points = Predictor(model_dir=model_dir).ranges.points
    rng = np.random.default_rng(4)
    rows = OVERLAP_ROWS + 7
    frame = pd.DataFrame(
        points.points[rng.integers(0, len(points.points), rows)] * rng.uniform(0.8, 1.2, (rows, 1)),
        columns=points.columns,
    )
    calls = []

    def counted(main, beside):
        calls.append(1)
        return side_by_side(main, beside)

    monkeypatch.setattr("predictor.serving.predictor.side_by_side", counted)
    together = Predictor(model_dir=model_dir).predict_frame(frame, 0.9)
    assert calls == [1]
    monkeypatch.setattr("predictor.serving.predictor.OVERLAP_ROWS", 10 * rows)
    in_turn = Predictor(model_dir=model_dir).predict_frame(frame, 0.9)
    assert calls == [1]
    assert together.attrs == in_turn.attrs
    pd.testing.assert_frame_equal(together, in_turn)
