"""Conformal calibration of the served range, fitted on out-of-fold or held-out residuals.

The bundle stores the record :func:`calibrate` returns; :mod:`predictor.serving.model_code.interval`
turns a prediction into its bounds with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from predictor.serving.model_code.interval import (
    CALIBRATED_LEVELS,
    DEFAULT_LEVEL,
    METHOD,
    level_key,
    residual_scale,
)


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


def calibrate(y: np.ndarray, pred: np.ndarray, levels: Iterable[float] = CALIBRATED_LEVELS) -> dict:
    """Calibration record stored in the bundle's metadata, from out-of-fold or held-out residuals.

    ``pred`` has the shape of ``y``, or ``(repeats, len(y))`` for repeated out-of-fold predictions.
    """
    y = np.asarray(y, dtype=float)
    pred = np.atleast_2d(np.asarray(pred, dtype=float))
    ys = np.broadcast_to(y, pred.shape).ravel()
    flat = pred.ravel()
    scale = fit_residual_scale(ys, flat, n=y.size)
    scores = np.abs(ys - flat) / residual_scale(flat, scale)
    quantiles = {level_key(lv): conformal_quantile(scores, lv, n=y.size) for lv in levels}
    if not all(math.isfinite(q) for q in quantiles.values()):
        needed = max(math.ceil(lv / (1 - lv)) for lv in levels)
        raise ValueError(
            f"{y.size} campaigns are too few to calibrate a {max(levels):.0%} interval; "
            f"give at least {needed}"
        )
    return {
        "method": METHOD,
        "scale": scale,
        "quantiles": quantiles,
        "n_calibration": int(y.size),
        "oof_repeats": int(pred.shape[0]),
    }
