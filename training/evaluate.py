"""The accuracy, coverage and width bars, measured on campaigns from a seed not used in training."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS, TARGET_COLUMN
from predictor.serving.model_code.interval import (
    CALIBRATED_LEVELS,
    DEFAULT_LEVEL,
    interval_bounds,
)
from training import config
from training.aggregate import aggregate_campaigns
from training.calibration import calibrate
from training.generate import generate


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


def evaluate(
    predict: Callable[[pd.DataFrame], np.ndarray],
    calibration: dict,
    seed: int = config.EVAL_SEED,
    n_campaigns: int = config.EVAL_CAMPAIGNS,
) -> dict:
    """The bars of one model on ``n_campaigns`` fresh campaigns from ``seed`` (see :func:`evaluate_on`)."""
    table, oracle = fresh_campaigns(seed, n_campaigns)
    return evaluate_on(table, oracle, predict, calibration, seed)


def evaluate_on(
    table: pd.DataFrame,
    oracle: np.ndarray,
    predict: Callable[[pd.DataFrame], np.ndarray],
    calibration: dict,
    seed: int,
) -> dict:
    """RMSE against the oracle's, interval coverage (overall and per third), width against the oracle's.

    ``table`` and ``oracle`` come from :func:`fresh_campaigns` with ``seed``, so that several models
    are measured on the same campaigns. The oracle's interval is built by the same method:
    calibrated on the even-indexed half of the campaigns, and both widths are measured on the
    odd-indexed half.
    """
    y = table[TARGET_COLUMN].to_numpy(dtype=float)
    pred = np.asarray(predict(table[FEATURE_COLUMNS].astype(float)), dtype=float)
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    oracle_rmse = float(np.sqrt(np.mean((oracle - y) ** 2)))
    out: dict = {
        "seed": seed,
        "n_campaigns": len(y),
        "rmse": rmse,
        "oracle_rmse": oracle_rmse,
        "rmse_ratio": rmse / oracle_rmse,
        "coverage": {},
    }
    for level in CALIBRATED_LEVELS:
        lo, hi = interval_bounds(pred, calibration, level)
        out["coverage"][f"{level:g}"] = coverage(y, lo, hi)
    lo, hi = interval_bounds(pred, calibration, DEFAULT_LEVEL)
    thirds = np.array_split(np.argsort(pred, kind="stable"), 3)
    out["coverage_90_by_third"] = [coverage(y[i], lo[i], hi[i]) for i in thirds]
    out["mean_width_90_by_third"] = [float(np.mean(hi[i] - lo[i])) for i in thirds]

    half_a, half_b = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    oracle_cal = calibrate(y[half_a], oracle[half_a], levels=(DEFAULT_LEVEL,))
    olo, ohi = interval_bounds(oracle[half_b], oracle_cal, DEFAULT_LEVEL)
    width = float(np.mean(hi[half_b] - lo[half_b]))
    oracle_width = float(np.mean(ohi - olo))
    out["mean_width_90"] = width
    out["oracle_mean_width_90"] = oracle_width
    out["width_ratio"] = width / oracle_width
    out["oracle_coverage_90"] = coverage(y[half_b], olo, ohi)
    return out


def bars_met(ev: dict) -> dict[str, bool]:
    """The issue's bars, checked against an evaluation record."""
    return {
        "rmse_ratio <= 1.15": ev["rmse_ratio"] <= 1.15,
        "coverage_90 in [0.88, 0.92]": 0.88 <= ev["coverage"]["0.9"] <= 0.92,
        "coverage_90 per third in [0.85, 0.95]": all(
            0.85 <= c <= 0.95 for c in ev["coverage_90_by_third"]
        ),
        "width_ratio <= 1.3": ev["width_ratio"] <= 1.3,
    }
