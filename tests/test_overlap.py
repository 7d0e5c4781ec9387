"""A large batch's points and range distances computed side by side give the same answers."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_info

from predictor import Predictor
from predictor.serving import overlap
from predictor.serving.bundle import write_manifest
from predictor.serving.overlap import OVERLAP_ROWS, one_blas_thread, points_and_distance
from predictor.serving.settings import PredictorConfig
from predictor.serving.tree_file import TREES_FILE
from tests.support.common import REPO


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _ranges_and_plans(rows: int, seed: int, model_dir: str = "model"):
    ranges = Predictor(PredictorConfig(trust_bundle=True), model_dir=model_dir).ranges
    points = ranges.points
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        points.points[rng.integers(0, len(points.points), rows)] * rng.uniform(0.7, 1.4, (rows, 1)),
        columns=points.columns,
    )
    return ranges, frame


def test_the_distances_are_measured_in_other_threads_and_match_the_whole_tables(monkeypatch):
    ranges, frame = _ranges_and_plans(501, 5)
    whole = ranges.distance(frame)
    seen = {}
    measure = ranges.distance

    def noted(block: object) -> np.ndarray:
        seen.setdefault("distance", set()).add(threading.current_thread().name)
        return measure(block)

    monkeypatch.setattr(ranges, "distance", noted)

    def points() -> str:
        seen["points"] = threading.current_thread().name
        return "points"

    first, distance = points_and_distance(points, ranges, frame)
    assert first == "points" and seen["points"] == threading.current_thread().name
    np.testing.assert_array_equal(distance, whole)
    assert all(name.startswith("distance") for name in seen["distance"])


@pytest.mark.parametrize("failing", ["points", "distance"])
def test_an_error_in_either_part_reaches_the_caller(failing, monkeypatch):
    ranges, frame = _ranges_and_plans(50, 6)

    def fail(*args: object) -> None:
        raise RuntimeError(f"{failing} failed")

    points = fail if failing == "points" else (lambda: 1)
    if failing == "distance":
        monkeypatch.setattr(ranges, "distance", fail)
    with pytest.raises(RuntimeError, match=f"{failing} failed"):
        points_and_distance(points, ranges, frame)
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
    ranges, frame = _ranges_and_plans(200, 3)
    rng = np.random.default_rng(3)
    pred = rng.uniform(1, 200, 200)
    distance = ranges.distance(frame)
    for given, computed in zip(
        ranges.bounds(pred, frame, 0.9, distance), ranges.bounds(pred, frame, 0.9), strict=True
    ):
        np.testing.assert_array_equal(given, computed)
    assert ranges.all_bounds(pred, frame, distance).keys() == ranges.all_bounds(pred, frame).keys()
    with pytest.raises(ValueError, match="one value per plan"):
        ranges.bounds(pred, frame, 0.9, distance[:-1])


@pytest.mark.parametrize("bundle", ["model", "model/alternatives/boosting", "no plain numbers"])
def test_a_large_batch_scored_side_by_side_matches_the_one_scored_in_turn(
    bundle, monkeypatch, tmp_path
):
    model_dir = bundle
    if bundle == "no plain numbers":  # the ensemble as a bundle that must load its model
        model_dir = str(tmp_path / "boosting")
        shutil.copytree(REPO / "model/alternatives/boosting", model_dir)
        (Path(model_dir) / TREES_FILE).unlink()
        write_manifest(Path(model_dir))
    config = PredictorConfig(trust_bundle=True)
    _, frame = _ranges_and_plans(OVERLAP_ROWS + 7, 4, model_dir)
    calls = []

    def counted(*args):
        calls.append(args[3])
        return points_and_distance(*args)

    monkeypatch.setattr("predictor.serving.predictor.points_and_distance", counted)
    together = Predictor(config, model_dir=model_dir).predict_frame(frame, 0.9)
    # A bundle that loads its model meanwhile gets one thread of distances beside the loading.
    # Plain numbers (Ridge's, the ensemble's trees) answer at once: the distances take every core.
    expected = [1] if bundle == "no plain numbers" else [None]
    assert calls == expected
    monkeypatch.setattr("predictor.serving.predictor.OVERLAP_ROWS", 10 * len(frame))
    in_turn = Predictor(config, model_dir=model_dir).predict_frame(frame, 0.9)
    assert calls == expected
    assert together.attrs == in_turn.attrs
    pd.testing.assert_frame_equal(together, in_turn)
