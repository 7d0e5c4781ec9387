"""Conformal calibration of the served range, fitted on out-of-fold or held-out residuals.

The bundle stores the record :func:`calibrate` returns; :mod:`predictor.serving.model_code.interval`
turns a prediction into its bounds with it. Given each campaign's distance to the training
campaigns and its number of ads (:class:`PlanDifficulty`), the range is plan-aware: a small
model of the residuals' spread (a linear quantile regression of ``log(|residual| + 0.5)`` on
``log(p + 1)``, ``log(ads + 1)``, ``u`` and ``u**2``, ``u`` the log distance) gives each plan
its scale, and the conformal quantiles of the scaled residuals give the width.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from predictor.serving.model_code.interval import (
    CALIBRATED_LEVELS,
    DEFAULT_LEVEL,
    METHOD,
    PLAN_AWARE_METHOD,
    POINTS_FILE,
    level_key,
    plan_scale,
    residual_scale,
)

# The distance a plan's range looks at: the mean over its nearest training campaigns.
NEIGHBOURS = 10
# The spread model fits this quantile of the absolute residuals (the tails set the width).
SPREAD_QUANTILE = 0.9
SPREAD_OFFSET = 0.5  # log(|residual| + 0.5): a zero residual stays finite


@dataclass(frozen=True)
class PlanDifficulty:
    """What makes each calibration campaign hard to predict besides its size: its mean distance
    to its nearest training campaigns, and its number of ads (column ``ads_column``)."""

    distance: np.ndarray
    ads: np.ndarray
    ads_column: str = "num_ads"
    neighbours: int = NEIGHBOURS


def _thirds_coverage(
    y: np.ndarray, pred: np.ndarray, scale: Mapping[str, float], q: float
) -> list[float]:
    """Coverage of ``pred ± q * s(pred)`` within each third of the campaigns sorted by ``pred``."""
    half = q * residual_scale(pred, scale)
    inside = (y >= np.ceil(pred - half)) & (y <= np.floor(pred + half))
    return [float(inside[i].mean()) for i in np.array_split(np.argsort(pred, kind="stable"), 3)]


def fit_residual_scale(
    y: np.ndarray,
    pred: np.ndarray,
    n: int | None = None,
    level: float = DEFAULT_LEVEL,
    offset: float = 1.0,
) -> dict[str, float]:
    """Choose the power of :func:`residual_scale` that balances coverage across predicted size.

    Each power on a grid from 0 (constant width) through 0.5 (Poisson-like) to 1.5 is
    calibrated at ``level``; the one whose coverage in the worst third of campaigns (sorted by
    prediction) is closest to ``level`` wins, the smaller power on ties.
    """
    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float)
    best: tuple[float, float] | None = None
    for power in np.round(np.arange(0.0, 1.5001, 0.05), 2):
        scale = {"offset": offset, "power": float(power)}
        q = conformal_quantile(np.abs(y - pred) / residual_scale(pred, scale), level, n=n)
        worst = max(abs(c - level) for c in _thirds_coverage(y, pred, scale, q))
        if best is None or worst < best[0] - 1e-12:
            best = (worst, float(power))
    return {"offset": offset, "power": best[1]}


def conformal_quantile(scores: np.ndarray, level: float, n: int | None = None) -> float:
    """The finite-sample conformal quantile: the ``ceil((n + 1) * level) / n`` quantile of ``scores``.

    ``n`` is the number of calibration campaigns. It defaults to ``len(scores)``; pass it when
    ``scores`` pools several out-of-fold repeats of the same ``n`` campaigns, which smooths the
    estimate without changing the correction.
    """
    s = np.asarray(scores, dtype=float)
    n = s.size if n is None else n
    if s.size == 0 or n < 1:
        raise ValueError("cannot calibrate an interval on zero residuals")
    k = math.ceil((n + 1) * level)
    if k > n:
        return float("inf")
    # The smallest score with an empirical CDF of at least k / n (exact for integer ranks).
    rank = math.ceil(k * s.size / n - 1e-9)
    return float(np.sort(s)[rank - 1])


def _monotone_clip(c1: float, c2: float, low: float, high: float) -> tuple[list, list]:
    """Terms and clip of ``c1 * u + c2 * u**2`` on ``[low, high]`` such that it never falls as
    ``u`` grows: the part past the parabola's turning point is held flat."""
    if c2 > 0:
        low = max(low, -c1 / (2 * c2))
    elif c2 < 0:
        high = min(high, -c1 / (2 * c2))
    elif c1 < 0:
        c1 = 0.0
    if low > high:
        return [0.0, 0.0], [low, low]
    return [float(c1), float(c2)], [float(low), float(high)]


def fit_plan_scale(
    y: np.ndarray, pred: np.ndarray, difficulty: PlanDifficulty, repeats: int
) -> dict:
    """The plan-aware scale: a linear quantile regression of the residuals' spread (see the
    module's docstring) on ``repeats`` stacked out-of-fold predictions of the same campaigns."""
    from sklearn.linear_model import QuantileRegressor

    distance = np.tile(np.asarray(difficulty.distance, dtype=float), repeats)
    ads = np.tile(np.asarray(difficulty.ads, dtype=float), repeats)
    u = np.log(np.maximum(distance, 1e-12))
    design = np.column_stack([np.log(np.clip(pred, 0.0, None) + 1.0), np.log(ads + 1.0), u, u * u])
    target = np.log(np.abs(y - pred) + SPREAD_OFFSET)
    fit = QuantileRegressor(quantile=SPREAD_QUANTILE, alpha=0.0, solver="highs")
    coef = fit.fit(design, target).coef_
    terms, clip = _monotone_clip(coef[2], coef[3], float(u.min()), float(u.max()))
    return {
        "scale": {"offset": 1.0, "power": float(np.clip(coef[0], 0.0, 1.5))},
        "difficulty": {
            "file": POINTS_FILE,
            "neighbours": int(difficulty.neighbours),
            "ads_column": difficulty.ads_column,
            "ads_power": float(np.clip(coef[1], -2.0, 1.0)),
            "distance_terms": terms,
            "distance_clip": clip,
            "spread_quantile": SPREAD_QUANTILE,
        },
    }


def calibrate(
    y: np.ndarray,
    pred: np.ndarray,
    levels: Iterable[float] = CALIBRATED_LEVELS,
    difficulty: PlanDifficulty | None = None,
) -> dict:
    """Calibration record stored in the bundle's metadata, from out-of-fold or held-out residuals.

    ``pred`` has the shape of ``y``, or ``(repeats, len(y))`` for repeated out-of-fold predictions.
    With ``difficulty`` (one entry per campaign) the range is plan-aware; without, by size.
    """
    y = np.asarray(y, dtype=float)
    pred = np.atleast_2d(np.asarray(pred, dtype=float))
    ys = np.broadcast_to(y, pred.shape).ravel()
    flat = pred.ravel()
    if difficulty is None:
        record = {"method": METHOD, "scale": fit_residual_scale(ys, flat, n=y.size)}
        scale = residual_scale(flat, record["scale"])
    else:
        record = {"method": PLAN_AWARE_METHOD, **fit_plan_scale(ys, flat, difficulty, len(pred))}
        distance = np.tile(np.asarray(difficulty.distance, dtype=float), len(pred))
        ads = np.tile(np.asarray(difficulty.ads, dtype=float), len(pred))
        scale = plan_scale(flat, distance, ads, record)
    scores = np.abs(ys - flat) / scale
    quantiles = {level_key(lv): conformal_quantile(scores, lv, n=y.size) for lv in levels}
    if not all(math.isfinite(q) for q in quantiles.values()):
        needed = max(math.ceil(lv / (1 - lv)) for lv in levels)
        raise ValueError(
            f"{y.size} campaigns are too few to calibrate a {max(levels):.0%} interval; "
            f"give at least {needed}"
        )
    return {
        **record,
        "quantiles": quantiles,
        "n_calibration": int(y.size),
        "oof_repeats": int(pred.shape[0]),
    }
