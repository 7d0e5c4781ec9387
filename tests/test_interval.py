"""The interval arithmetic, on tiny inline inputs and on a simulated count process."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.serving.model_code.interval import (
    IntervalLevelError,
    interval_bounds,
    residual_scale,
)
from training.calibration import calibrate, conformal_quantile


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
