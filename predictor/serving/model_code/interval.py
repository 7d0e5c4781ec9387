"""Residual-based prediction intervals: calibration (training) and application (serving).

The method is normalized split-conformal prediction. A scale function ``s(p) = (p + 1) ** g``
models how the spread of residuals grows with the predicted count ``p``; ``g`` is chosen so that
small and large campaigns are covered alike. The nonconformity score of a
calibration campaign is ``|y - p| / s(p)``; the interval at level ``L`` is ``p ± q_L * s(p)``,
where ``q_L`` is the finite-sample conformal quantile of the scores. Because purchases are whole
numbers, the bounds are the whole numbers inside that real interval, which keeps its coverage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

CALIBRATED_LEVELS: tuple[float, ...] = (0.8, 0.9, 0.95)
# The level answers use unless another is asked for, and the one the bars are measured at.
DEFAULT_LEVEL = 0.9
METHOD = "normalized-split-conformal"


class IntervalLevelError(ValueError):
    """The requested interval level was not calibrated in the model bundle."""


def level_key(level: float) -> str:
    """Canonical key of a level in the calibration (``0.9`` -> ``"0.9"``)."""
    return f"{float(level):g}"


def residual_scale(pred: np.ndarray, scale: Mapping[str, float]) -> np.ndarray:
    """Spread of residuals at predicted counts ``pred``: ``(max(p, 0) + offset) ** power``.

    Only the shape matters: the conformal quantile absorbs any constant factor.
    """
    p = np.clip(np.asarray(pred, dtype=float), 0.0, None)
    return (p + scale["offset"]) ** scale["power"]


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


def quantile_for(calibration: Mapping, level: float) -> float:
    """The calibrated score quantile for ``level``; raises :class:`IntervalLevelError` if absent."""
    quantiles = calibration["quantiles"]
    key = level_key(level)
    if key not in quantiles:
        offered = ", ".join(f"{float(k):.0%}" for k in sorted(quantiles, key=float))
        raise IntervalLevelError(
            f"interval level {float(level):.4g} is not calibrated; choose one of {offered}"
        )
    return float(quantiles[key])


def half_width(pred: np.ndarray, calibration: Mapping, level: float) -> np.ndarray:
    """Half-width ``q_L * s(p)`` of the real interval around predictions ``pred``."""
    p = np.asarray(pred, dtype=float)
    return quantile_for(calibration, level) * residual_scale(p, calibration["scale"])


def bounds_from_half(pred: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole-number bounds of ``pred ± half``, kept around the rounded, non-negative point."""
    p = np.asarray(pred, dtype=float)
    point = np.rint(np.clip(p, 0.0, None))
    lower = np.clip(np.ceil(p - half), 0.0, None)
    upper = np.floor(p + half)
    lower = np.minimum(lower, point)
    upper = np.maximum(upper, point)
    return lower.astype(np.int64), upper.astype(np.int64)


def interval_bounds(
    pred: np.ndarray, calibration: Mapping, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Whole-number bounds ``(lower, upper)`` of the interval around predictions ``pred``.

    ``lower >= 0`` and ``lower <= round(max(pred, 0)) <= upper`` always hold.
    """
    return bounds_from_half(pred, half_width(pred, calibration, level))
