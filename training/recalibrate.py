"""Recalibrate a bundle's range on a marketer's own outcomes: the same fitted model, a new range.

The range is refitted by the method of :mod:`training.calibration` (normalized split-conformal
with the finite-sample correction), keeping the base bundle's scale ``s(x)`` (by size, or
plan-aware with the same training campaigns: its shape was fitted on the training campaigns; a
few dozen outcomes cannot pin it down), on the outcomes' residuals.
Optionally a single multiplicative level correction ``c`` is fitted first, as the median of
``(actual + 1) / (predicted + 1)``: answers become ``c * (prediction + 1) - 1``. Coverage is
measured honestly, on outcomes held out of each fit (k-fold cross-validation), never on the
outcomes a fit saw.
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS
from predictor.serving.model_code.interval import (
    CALIBRATED_LEVELS,
    METHOD,
    Ranges,
    TrainingPoints,
    bounds_from_half,
    level_key,
    quantile_for,
)
from training.calibration import conformal_quantile

FOLDS = 10
SOURCE = "outcomes"


class RecalibrationError(ValueError):
    """Recalibration cannot go on; the message says what to change."""


def min_outcomes(level: float) -> int:
    """The fewest outcomes a conformal range at ``level`` can be calibrated on (19 for 95%)."""
    n = 1
    while math.ceil((n + 1) * level) > n:
        n += 1
    return n


def check_enough(n: int, levels: Sequence[float]) -> None:
    """Refuse, saying what to do, when ``n`` outcomes are too few for the highest level."""
    top = max(levels)
    needed = min_outcomes(top)
    if n < needed:
        lower = [lv for lv in levels if min_outcomes(lv) <= n]
        hint = (
            f", or ask for lower levels only (--levels {','.join(f'{lv:g}' for lv in lower)})"
            if lower
            else ""
        )
        raise RecalibrationError(
            f"{n} outcome{'' if n == 1 else 's'} are too few for a {top:.0%} range: conformal "
            f"calibration needs at least {needed}. Record more results{hint}."
        )


def coverage_spread(n: int, level: float, tail: float = 0.05) -> tuple[float, float]:
    """Where the coverage on new campaigns of a range calibrated on ``n`` outcomes lands, from
    the ``tail`` to the ``1 - tail`` quantile: it follows Beta(k, n + 1 - k), k = ceil((n + 1) *
    level), when outcomes and new campaigns are alike (exchangeable)."""
    from scipy.stats import beta

    k = math.ceil((n + 1) * level)
    if k > n:
        return float("nan"), float("nan")
    return float(beta.ppf(tail, k, n + 1 - k)), float(beta.ppf(1 - tail, k, n + 1 - k))


def level_factor(actual: np.ndarray, predicted: np.ndarray) -> float:
    """The single multiplicative correction: the median of ``(actual + 1) / (predicted + 1)``."""
    ratio = (np.asarray(actual, float) + 1) / (np.clip(np.asarray(predicted, float), 0, None) + 1)
    return float(np.median(ratio))


def corrected(predicted: np.ndarray, factor: float) -> np.ndarray:
    """Predictions after the level correction: ``factor * (p + 1) - 1``, never below 0."""
    return np.clip(factor * (np.asarray(predicted, float) + 1) - 1, 0, None)


@dataclass(frozen=True)
class Spread:
    """The base bundle's scale ``s(x)`` for the outcomes: its calibration record (method, scale
    and, for a plan-aware range, its terms), the outcomes' model inputs in the training points'
    column order, and those training points."""

    calibration: dict
    features: np.ndarray | None = None
    points: TrainingPoints | None = None

    @classmethod
    def by_size(cls, scale: dict) -> Spread:
        """The range by size alone, ``(p + offset) ** power``."""
        return cls({"method": METHOD, "scale": dict(scale), "quantiles": {}})

    def at(self, predicted: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """``s(x)`` of the outcomes ``rows`` (all by default) at the given predictions."""
        features = self.features
        if features is not None and rows is not None:
            features = features[rows]
        return Ranges(self.calibration, self.points).scale(np.asarray(predicted, float), features)

    def record(self) -> dict:
        """The calibration record without its quantiles, to be refitted."""
        kept = {k: copy.deepcopy(v) for k, v in self.calibration.items()}
        for key in ("quantiles", "n_calibration", "oof_repeats", "calibrated_on", "level_factor"):
            kept.pop(key, None)
        return kept


def _spread(scale: dict | Spread) -> Spread:
    return scale if isinstance(scale, Spread) else Spread.by_size(scale)


def fit_interval(
    actual: np.ndarray,
    predicted: np.ndarray,
    scale: dict | Spread,
    levels: Sequence[float],
    rows: np.ndarray | None = None,
) -> dict:
    """The calibration record (as :func:`training.calibration.calibrate` writes it) for the
    residuals of ``predicted`` against ``actual`` (the outcomes ``rows``), with the base range's
    scale kept (a by-size ``scale`` record, or a :class:`Spread`)."""
    check_enough(len(actual), levels)
    spread = _spread(scale)
    scores = np.abs(np.asarray(actual, float) - predicted) / spread.at(predicted, rows)
    return {
        **spread.record(),
        "quantiles": {level_key(lv): conformal_quantile(scores, lv) for lv in levels},
        "n_calibration": len(actual),
        "oof_repeats": 1,
        "calibrated_on": SOURCE,
    }


@dataclass(frozen=True)
class Fit:
    """A recalibration: the range's record and the level factor (1.0 without correction)."""

    calibration: dict
    factor: float = 1.0


def fit(
    actual: np.ndarray,
    predicted: np.ndarray,
    scale: dict | Spread,
    levels: Sequence[float],
    correct_level: bool,
    rows: np.ndarray | None = None,
) -> Fit:
    """Fit the level factor (when asked) and then the range on the same outcomes (``rows`` of
    the spread's outcomes, all by default)."""
    factor = level_factor(actual, predicted) if correct_level else 1.0
    points = corrected(predicted, factor) if correct_level else np.asarray(predicted, float)
    calibration = fit_interval(actual, points, scale, levels, rows)
    if correct_level:
        calibration["level_factor"] = factor
    return Fit(calibration, factor)


@dataclass(frozen=True)
class Outcomes:
    """The outcomes to recalibrate on: the model's inputs, the actual purchases, where from."""

    features: pd.DataFrame
    actual: np.ndarray
    source: str
    skipped: tuple[str, ...] = ()
    period: tuple[str, str] | None = None


@dataclass(frozen=True)
class Held:
    """Outcomes inside their range at one level, out of those held out from the fit."""

    level: float
    inside: int
    n: int

    @property
    def share(self) -> float:
        return self.inside / self.n if self.n else float("nan")


def inside(
    actual: np.ndarray,
    predicted: np.ndarray,
    calibration: dict,
    level: float,
    scale: dict | Spread | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Whether each outcome lies within the whole-number range around its prediction (the
    range's scale from ``scale``, by default the calibration's own by-size one)."""
    spread = _spread(calibration["scale"] if scale is None else scale)
    predicted = np.asarray(predicted, float)
    half = quantile_for(calibration, level) * spread.at(predicted, rows)
    lower, upper = bounds_from_half(predicted, half)
    return (actual >= lower) & (actual <= upper)


def cross_validated(
    actual: np.ndarray,
    predicted: np.ndarray,
    scale: dict | Spread,
    levels: Sequence[float],
    correct_level: bool,
    folds: int = FOLDS,
    seed: int = 0,
) -> dict[float, Held | None]:
    """Coverage of the recalibration on outcomes it did not see: each fold is refitted on the
    others and measured on itself. None for a level whose folds are too few to calibrate."""
    actual = np.asarray(actual, float)
    n = len(actual)
    k = min(folds, n)
    order = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(order, k) if k >= 2 else []
    out: dict[float, Held | None] = {}
    for level in levels:
        if not parts or n - max(len(p) for p in parts) < min_outcomes(level):
            out[level] = None
            continue
        hits = 0
        for part in parts:
            train = np.setdiff1d(order, part)
            one = fit(actual[train], predicted[train], scale, [level], correct_level, train)
            points = corrected(predicted[part], one.factor) if correct_level else predicted[part]
            hits += int(inside(actual[part], points, one.calibration, level, scale, part).sum())
        out[level] = Held(level, hits, n)
    return out


def base_coverage(
    actual: np.ndarray,
    predicted: np.ndarray,
    calibration: dict,
    levels: Sequence[float],
    scale: dict | Spread | None = None,
) -> dict[float, Held]:
    """Coverage of the base bundle's own ranges on the outcomes (none of them fitted it)."""
    out = {}
    for level in levels:
        if level_key(level) in calibration["quantiles"]:
            actual = np.asarray(actual, float)
            hits = int(inside(actual, predicted, calibration, level, scale).sum())
            out[level] = Held(level, hits, len(actual))
    return out


def fingerprint(features: pd.DataFrame, actual: np.ndarray) -> str:
    """SHA-256 of the outcomes (features and actual purchases, in a fixed order)."""
    table = features[FEATURE_COLUMNS].astype(float).assign(actual=np.asarray(actual, float))
    table = table.sort_values(list(table.columns), kind="stable")
    return hashlib.sha256(table.to_numpy().tobytes()).hexdigest()


def shifted_ridge(model: object, factor: float) -> object | None:
    """A copy of a Ridge-on-``log1p`` model answering ``factor * (p + 1) - 1``: the intercept
    moves by ``log(factor)``, so explanations still add up. None for other models."""
    pipe = getattr(model, "regressor_", None)
    steps = getattr(pipe, "named_steps", {})
    if getattr(model, "inverse_func", None) is not np.expm1 or "ridge" not in steps:
        return None
    shifted = copy.deepcopy(model)
    shifted.regressor_.named_steps["ridge"].intercept_ += math.log(factor)
    return shifted


def corrected_model(model: object, factor: float) -> object:
    """``model`` answering ``factor * (p + 1) - 1``, built from scikit-learn's own parts only
    (nothing that a bundle loader would have to trust beyond the model itself)."""
    if factor == 1.0:
        return model
    shifted = shifted_ridge(model, factor)
    if shifted is not None:
        return shifted
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    # StandardScaler's inverse is x * scale_ + mean_: here factor * p + (factor - 1).
    scaler = StandardScaler()
    scaler.mean_ = np.array([factor - 1.0])
    scaler.scale_ = np.array([factor])
    scaler.var_ = np.array([factor**2])
    scaler.n_features_in_ = 1
    scaler.n_samples_seen_ = np.int64(1)
    wrapped = TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
    wrapped.regressor_ = model
    wrapped.transformer_ = scaler
    wrapped._training_dim = 1
    return wrapped


@dataclass(frozen=True)
class Options:
    """What ``python -m training recalibrate`` does."""

    outcomes: str
    model_dir: Path
    out: Path | None = None
    name: str | None = None
    levels: tuple[float, ...] = CALIBRATED_LEVELS
    correct_level: bool = False
    folds: int = FOLDS
    seed: int = 0


@dataclass(frozen=True)
class Result:
    """Where the bundle went, what it was fitted on, and how it held up on held-out outcomes."""

    path: Path
    name: str
    version: str
    n: int
    fit: Fit
    held_out: dict[float, Held | None]
    before: dict[float, Held]
    skipped: tuple[str, ...] = field(default_factory=tuple)
