"""The accuracy, coverage and width bars, measured on campaigns from a seed not used in training."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS, TARGET_COLUMN
from predictor.serving.model_code.interval import (
    CALIBRATED_LEVELS,
    DEFAULT_LEVEL,
    Ranges,
    level_key,
)
from training import config
from training.aggregate import aggregate_campaigns
from training.calibration import NEIGHBOURS, PlanDifficulty, calibrate
from training.generate import generate

# The distance the bars are split by: mean distance to the 10 nearest training campaigns.
DISTANCE_NEIGHBOURS = 10


def fresh_campaigns(seed: int, n_campaigns: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Campaign table and oracle ``expected_purchases`` for newly generated campaigns."""
    tables = generate(n_campaigns, seed, purchases_only=True)
    table = aggregate_campaigns(
        {"campaigns": tables["campaigns"], "ads": tables["ads"], "events": tables["ad_events"]}
    )
    oracle = (
        tables["ground_truth"]
        .set_index("campaign_id")
        .loc[table["campaign_id"], "expected_purchases"]
    )
    return table, oracle.to_numpy(dtype=float)


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of ``y`` inside ``[lower, upper]``."""
    return float(np.mean((y >= lower) & (y <= upper)))


def _ranges(ranges: Ranges | Mapping) -> Ranges:
    return ranges if isinstance(ranges, Ranges) else Ranges(ranges)


def evaluate(
    predict: Callable[[pd.DataFrame], np.ndarray],
    ranges: Ranges | Mapping,
    seed: int = config.EVAL_SEED,
    n_campaigns: int = config.EVAL_CAMPAIGNS,
) -> dict:
    """The bars of one model on ``n_campaigns`` fresh campaigns from ``seed`` (see
    :func:`evaluate_on`); ``ranges`` is the bundle's range (or a by-size calibration record)."""
    table, oracle = fresh_campaigns(seed, n_campaigns)
    return evaluate_on(table, oracle, predict, ranges, seed)


def _split_coverage(
    y: np.ndarray, lo: np.ndarray, hi: np.ndarray, key: np.ndarray, parts: int
) -> tuple[list[float], list[float]]:
    groups = np.array_split(np.argsort(key, kind="stable"), parts)
    return [coverage(y[i], lo[i], hi[i]) for i in groups], [
        float(np.mean(hi[i] - lo[i])) for i in groups
    ]


def _coverage_figures(
    y: np.ndarray, pred: np.ndarray, lo: np.ndarray, hi: np.ndarray, distance: np.ndarray | None
) -> dict:
    """90% coverage overall, by third of predicted size and by fifth of distance; widths."""
    thirds, widths = _split_coverage(y, lo, hi, pred, 3)
    out = {
        "coverage_90": coverage(y, lo, hi),
        "coverage_90_by_third": thirds,
        "mean_width_90_by_third": widths,
        "mean_width_90_all": float(np.mean(hi - lo)),
    }
    if distance is not None:
        fifths, fifth_widths = _split_coverage(y, lo, hi, distance, 5)
        out["coverage_90_by_distance_fifth"] = fifths
        out["mean_width_90_by_distance_fifth"] = fifth_widths
    return out


def evaluate_on(
    table: pd.DataFrame,
    oracle: np.ndarray,
    predict: Callable[[pd.DataFrame], np.ndarray],
    ranges: Ranges | Mapping,
    seed: int,
    by_size: Mapping | None = None,
) -> dict:
    """RMSE against the oracle's, interval coverage (overall, per third of predicted size and,
    for a plan-aware range, per fifth of distance to the training campaigns), width against the
    oracle's; with ``by_size`` (a by-size calibration of the same model) its figures too.

    ``table`` and ``oracle`` come from :func:`fresh_campaigns` with ``seed``, so that several models
    are measured on the same campaigns. The oracle's interval is built by the same method:
    calibrated on the even-indexed half of the campaigns, and both widths are measured on the
    odd-indexed half.
    """
    ranges = _ranges(ranges)
    features = table[FEATURE_COLUMNS].astype(float)
    y = table[TARGET_COLUMN].to_numpy(dtype=float)
    pred = np.asarray(predict(features), dtype=float)
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    oracle_rmse = float(np.sqrt(np.mean((oracle - y) ** 2)))
    out: dict = {
        "seed": seed,
        "n_campaigns": len(y),
        "method": ranges.calibration.get("method"),
        "rmse": rmse,
        "oracle_rmse": oracle_rmse,
        "rmse_ratio": rmse / oracle_rmse,
        "coverage": {},
    }
    bounds = ranges.all_bounds(pred, features)
    for level in CALIBRATED_LEVELS:
        out["coverage"][f"{level:g}"] = coverage(y, *bounds[level_key(level)])
    lo, hi = bounds[level_key(DEFAULT_LEVEL)]
    distance = None
    if ranges.points is not None:
        distance = ranges.points.distance(features, DISTANCE_NEIGHBOURS)
        groups = np.array_split(np.argsort(distance, kind="stable"), 5)
        out["mean_distance_by_fifth"] = [float(distance[i].mean()) for i in groups]
    figures = _coverage_figures(y, pred, lo, hi, distance)
    out.update({k: v for k, v in figures.items() if k != "coverage_90"})
    if by_size is not None:
        size_lo, size_hi = Ranges(by_size).bounds(pred, features, DEFAULT_LEVEL)
        out["by_size"] = _coverage_figures(y, pred, size_lo, size_hi, distance)
    half_a, half_b = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    oracle_ranges = _oracle_ranges(ranges, y, oracle, features, distance, half_a)
    olo, ohi = oracle_ranges.bounds(oracle[half_b], features.iloc[half_b], DEFAULT_LEVEL)
    width = float(np.mean(hi[half_b] - lo[half_b]))
    oracle_width = float(np.mean(ohi - olo))
    out["mean_width_90"] = width
    out["oracle_mean_width_90"] = oracle_width
    out["width_ratio"] = width / oracle_width
    out["oracle_coverage_90"] = coverage(y[half_b], olo, ohi)
    return out


def _oracle_ranges(
    ranges: Ranges,
    y: np.ndarray,
    oracle: np.ndarray,
    features: pd.DataFrame,
    distance: np.ndarray | None,
    half: np.ndarray,
) -> Ranges:
    """The oracle's range by the model's own method, calibrated on ``half`` of the campaigns."""
    if distance is None:
        return Ranges(calibrate(y[half], oracle[half], levels=(DEFAULT_LEVEL,)))
    ads = features["num_ads"].to_numpy(dtype=float)
    difficulty = PlanDifficulty(distance[half], ads[half], neighbours=NEIGHBOURS)
    record = calibrate(y[half], oracle[half], levels=(DEFAULT_LEVEL,), difficulty=difficulty)
    return Ranges(record, ranges.points)


def bars_met(ev: dict) -> dict[str, bool]:
    """The issue's bars, checked against an evaluation record."""
    bars = {
        "rmse_ratio <= 1.15": ev["rmse_ratio"] <= 1.15,
        "coverage_90 in [0.88, 0.92]": 0.88 <= ev["coverage"]["0.9"] <= 0.92,
        "coverage_90 per third in [0.85, 0.95]": all(
            0.85 <= c <= 0.95 for c in ev["coverage_90_by_third"]
        ),
        "width_ratio <= 1.3": ev["width_ratio"] <= 1.3,
    }
    if "coverage_90_by_distance_fifth" in ev:
        bars["coverage_90 per fifth of distance in [0.88, 0.92]"] = all(
            0.88 <= c <= 0.92 for c in ev["coverage_90_by_distance_fifth"]
        )
    return bars
