"""Residual-based prediction intervals at serving time: a prediction turned into its bounds.

The method is normalized split-conformal prediction. A scale function ``s(p) = (p + 1) ** g``
models how the spread of residuals grows with the predicted count ``p``; ``g`` is chosen so that
small and large campaigns are covered alike. The nonconformity score of a
calibration campaign is ``|y - p| / s(p)``; the interval at level ``L`` is ``p ± q_L * s(p)``,
where ``q_L`` is the finite-sample conformal quantile of the scores. Because purchases are whole
numbers, the bounds are the whole numbers inside that real interval, which keeps its coverage.
The calibration (fitting ``g`` and ``q_L``) happens in training: see ``training/calibration.py``.
This module is copied into every bundle, so it imports nothing else from the project.
"""

from __future__ import annotations

from collections.abc import Mapping

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
