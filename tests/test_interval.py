"""The interval arithmetic, on tiny inline inputs and on a simulated count process."""

from __future__ import annotations

import json

import numpy as np
import pytest

from predictor.serving.model_code.interval import (
    IntervalLevelError,
    Ranges,
    TrainingPoints,
    interval_bounds,
    load_points,
    plan_scale,
    quantile_for,
    residual_scale,
)
from training.calibration import PlanDifficulty, _monotone_clip, calibrate, conformal_quantile


def test_conformal_quantile_uses_the_finite_sample_rank():
    scores = np.arange(1.0, 11.0)  # n = 10
    # ceil(11 * 0.8) = 9 -> 9th smallest; ceil(11 * 0.5) = 6 -> 6th smallest
    assert conformal_quantile(scores, 0.8) == 9.0
    assert conformal_quantile(scores, 0.5) == 6.0
    # ceil(11 * 0.95) = 11 > 10: no finite quantile guarantees 95% with 10 points
    assert conformal_quantile(scores, 0.95) == float("inf")


def test_conformal_quantile_of_pooled_repeats_keeps_the_campaign_count():
    scores = np.tile(np.arange(1.0, 11.0), 3)  # 3 repeats of the same 10 campaigns
    assert conformal_quantile(scores, 0.8, n=10) == 9.0


def test_conformal_quantile_refuses_no_scores():
    with pytest.raises(ValueError, match="zero residuals"):
        conformal_quantile(np.array([]), 0.9)


def test_residual_scale_grows_with_the_prediction_and_clips_negatives():
    scale = {"offset": 1.0, "power": 0.5}
    assert residual_scale(np.array([3.0]), scale)[0] == pytest.approx(2.0)
    assert residual_scale(np.array([-5.0]), scale)[0] == pytest.approx(1.0)


def test_bounds_are_whole_numbers_never_negative_and_contain_the_point():
    cal = {"scale": {"offset": 1.0, "power": 0.0}, "quantiles": {"0.9": 2.5}}
    lower, upper = interval_bounds(np.array([10.2, 0.4, -3.0]), cal, 0.9)
    # 10.2 ± 2.5 = [7.7, 12.7] -> whole numbers 8..12
    assert lower.tolist() == [8, 0, 0]
    assert upper.tolist() == [12, 2, 0]


def test_a_tiny_interval_still_contains_the_rounded_point():
    cal = {"scale": {"offset": 1.0, "power": 0.0}, "quantiles": {"0.9": 0.1}}
    lower, upper = interval_bounds(np.array([4.45]), cal, 0.9)
    assert (lower[0], upper[0]) == (4, 4)


def test_uncalibrated_level_is_a_clear_error():
    cal = {"scale": {"offset": 1.0, "power": 0.0}, "quantiles": {"0.8": 1.0, "0.9": 2.0}}
    with pytest.raises(IntervalLevelError, match=r"not calibrated; choose one of 80%, 90%"):
        interval_bounds(np.array([1.0]), cal, 0.5)


def _negative_binomial(rng, mean, size=4.0):
    return rng.negative_binomial(size, size / (size + mean))


def test_calibrated_interval_covers_new_counts_and_adapts_its_width():
    rng = np.random.default_rng(7)
    mean_cal = rng.uniform(2, 120, 4000)
    cal = calibrate(_negative_binomial(rng, mean_cal), mean_cal)
    mean_new = rng.uniform(2, 120, 20000)
    y_new = _negative_binomial(rng, mean_new)
    for level in (0.8, 0.9, 0.95):
        lower, upper = interval_bounds(mean_new, cal, level)
        assert (lower >= 0).all()
        coverage = np.mean((y_new >= lower) & (y_new <= upper))
        assert abs(coverage - level) < 0.02, (level, coverage)
    lower, upper = interval_bounds(np.array([5.0, 80.0]), cal, 0.9)
    assert upper[0] - lower[0] < upper[1] - lower[1]
    # Small and large counts are covered alike.
    lower, upper = interval_bounds(mean_new, cal, 0.9)
    inside = (y_new >= lower) & (y_new <= upper)
    small, large = mean_new < 30, mean_new > 90
    assert abs(inside[small].mean() - inside[large].mean()) < 0.04


def test_too_few_campaigns_to_calibrate_is_a_clear_error():
    y = np.arange(10.0)
    with pytest.raises(ValueError, match="too few to calibrate a 95% interval; give at least 19"):
        calibrate(y, y + 1.0)


# -- plan-aware ranges ----------------------------------------------------------------------------


def _points(n: int = 300, seed: int = 1) -> TrainingPoints:
    rng = np.random.default_rng(seed)
    values = np.column_stack([rng.integers(1, 10, n), rng.uniform(1e3, 1e5, n), rng.poisson(2, n)])
    return TrainingPoints(["ads", "budget", "other"], ["budget"], values)


def test_distance_is_the_mean_over_the_nearest_training_points():
    points = _points()
    rng = np.random.default_rng(2)
    queries = np.column_stack(
        [rng.integers(1, 10, 50), rng.uniform(1e3, 1e5, 50), rng.poisson(2, 50)]
    )
    z_ref = (points._transform(points.points) - points.center) / points.spread
    z = (points._transform(queries) - points.center) / points.spread
    full = np.sqrt(((z[:, None, :] - z_ref[None, :, :]) ** 2).sum(axis=2))
    expected = np.sort(full, axis=1)[:, :10].mean(axis=1)
    np.testing.assert_allclose(points.distance(queries, 10), expected, rtol=1e-4)
    # Each training point leaves itself out of its own neighbours.
    own = np.sqrt(((z_ref[:, None, :] - z_ref[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(own, np.inf)
    np.testing.assert_allclose(
        points.distance(points.points, 10, skip_self=True),
        np.sort(own, axis=1)[:, :10].mean(axis=1),
        rtol=1e-4,
    )
    again = TrainingPoints.from_record(json.loads(json.dumps(points.record())))
    np.testing.assert_array_equal(again.distance(queries, 10), points.distance(queries, 10))


def test_a_plan_aware_record_needs_the_plans_and_its_points(tmp_path):
    record = {
        "scale": {"offset": 1.0, "power": 0.5},
        "difficulty": {
            "file": "../elsewhere.json",
            "neighbours": 10,
            "ads_column": "ads",
            "ads_power": -0.5,
            "distance_terms": [0.5, 0.0],
            "distance_clip": [0.0, 2.0],
        },
        "quantiles": {"0.9": 2.0},
    }
    with pytest.raises(ValueError, match="depends on the plan"):
        interval_bounds(np.array([5.0]), record, 0.9)
    with pytest.raises(ValueError, match="needs the training points"):
        Ranges(record)
    with pytest.raises(ValueError, match="plain file name"):
        load_points(tmp_path, record)


@pytest.mark.parametrize(
    ("c1", "c2", "low", "high", "terms", "clip"),
    [
        (-2.0, 1.0, 0.0, 3.0, [-2.0, 1.0], [1.0, 3.0]),  # rises past its turning point at 1
        (2.0, -1.0, 0.0, 3.0, [2.0, -1.0], [0.0, 1.0]),  # rises until its turning point at 1
        (-1.0, 0.0, 0.0, 3.0, [0.0, 0.0], [0.0, 3.0]),  # would fall: held flat
        (1.0, 0.0, 0.0, 3.0, [1.0, 0.0], [0.0, 3.0]),
    ],
)
def test_the_distance_term_never_falls(c1, c2, low, high, terms, clip):
    got_terms, got_clip = _monotone_clip(c1, c2, low, high)
    assert got_terms == pytest.approx(terms) and got_clip == pytest.approx(clip)
    u = np.linspace(-1, 5, 200)
    values = got_terms[0] * np.clip(u, *got_clip) + got_terms[1] * np.clip(u, *got_clip) ** 2
    assert (np.diff(values) >= -1e-12).all()


def _world(rng, n):
    """Campaigns whose spread grows with their distance and shrinks with their ads."""
    mean = rng.uniform(5, 120, n)
    distance = rng.lognormal(1.1, 0.2, n)
    ads = rng.integers(1, 10, n).astype(float)
    size = 30.0 / (distance / 3.0) ** 4 * np.sqrt(ads)
    y = rng.negative_binomial(size, size / (size + mean))
    return y, mean, distance, ads


def test_the_plan_aware_range_covers_each_fifth_of_distance_where_the_size_one_does_not():
    rng = np.random.default_rng(5)
    y, mean, distance, ads = _world(rng, 6000)
    aware = calibrate(y, mean, difficulty=PlanDifficulty(distance, ads))
    by_size = calibrate(y, mean)
    y2, mean2, distance2, ads2 = _world(rng, 30000)
    fifths = np.array_split(np.argsort(distance2), 5)

    def fifth_coverage(scale):
        half = quantile_for(aware if scale is not None else by_size, 0.9)
        s = scale if scale is not None else residual_scale(mean2, by_size["scale"])
        inside = (y2 >= np.ceil(mean2 - half * s)) & (y2 <= np.floor(mean2 + half * s))
        return [inside[i].mean() for i in fifths]

    plan = fifth_coverage(plan_scale(mean2, distance2, ads2, aware))
    size = fifth_coverage(None)
    assert all(0.88 <= c <= 0.92 for c in plan), plan
    assert max(abs(c - 0.9) for c in size) > 0.03, size
    assert aware["method"] == "plan-aware-split-conformal"
    assert aware["difficulty"]["distance_terms"][0] + aware["difficulty"]["distance_terms"][1] != 0
