"""Residual-based prediction intervals at serving time: a prediction turned into its bounds.

The method is normalized split-conformal prediction: the interval at level ``L`` is
``p ± q_L * s(x)``, where ``s(x)`` models how far the residuals of plans like ``x`` spread and
``q_L`` is the finite-sample conformal quantile of the scaled residuals ``|y - p| / s(x)`` of the
calibration campaigns. Because purchases are whole numbers, the bounds are the whole numbers
inside that real interval, which keeps its coverage.

Two scales exist:

- *by size* (the first bundles): ``s = (p + 1) ** g``, a function of the prediction alone;
- *plan-aware*: ``s = (p + 1) ** g * (ads + 1) ** b * exp(c1 * u + c2 * u ** 2)``, where ``u``
  is the log of the plan's mean distance to its nearest training campaigns (standardized log
  inputs, see :class:`TrainingPoints`), clipped to the calibrated span where ``s`` never falls
  as a plan gets more unusual. A plan far from the training campaigns, or with few ads (whose
  hidden creative quality does not average out), gets a wider range than its size alone says.

The calibration (fitting the scale and ``q_L``) happens in training: see
``training/calibration.py``. This module is copied into every bundle, so it imports nothing else
from the project; the training campaigns' inputs travel with it in the bundle's
:data:`POINTS_FILE`, as plain JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

CALIBRATED_LEVELS: tuple[float, ...] = (0.8, 0.9, 0.95)
# The level answers use unless another is asked for, and the one the bars are measured at.
DEFAULT_LEVEL = 0.9
METHOD = "normalized-split-conformal"
PLAN_AWARE_METHOD = "plan-aware-split-conformal"
# The training campaigns' inputs, next to MLmodel in a plan-aware bundle.
POINTS_FILE = "difficulty.json"
# Rows of distances computed at a time (bounds the memory of a large batch).
_CHUNK = 2048


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


def is_plan_aware(calibration: Mapping) -> bool:
    """Whether ``calibration`` scales the range by the plan (and needs its inputs)."""
    return isinstance(calibration.get("difficulty"), Mapping)


def half_width(pred: np.ndarray, calibration: Mapping, level: float) -> np.ndarray:
    """Half-width ``q_L * s(p)`` of a by-size interval around predictions ``pred``."""
    if is_plan_aware(calibration):
        raise ValueError("this range depends on the plan: use Ranges with the plan's inputs")
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
    """Whole-number bounds ``(lower, upper)`` of a by-size interval around predictions ``pred``.

    ``lower >= 0`` and ``lower <= round(max(pred, 0)) <= upper`` always hold. A plan-aware
    calibration needs the plans themselves: use :class:`Ranges`.
    """
    return bounds_from_half(pred, half_width(pred, calibration, level))


class TrainingPoints:
    """The training campaigns' inputs, to measure how far a plan is from them.

    Inputs are transformed like the served model's (``log1p`` of ``log_columns``) and
    standardized by the training campaigns' mean and spread; a plan's distance is its mean
    Euclidean distance to the ``neighbours`` nearest campaigns.
    """

    def __init__(
        self, columns: Sequence[str], log_columns: Sequence[str], points: np.ndarray
    ) -> None:
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != len(columns) or len(points) < 2:
            raise ValueError("the training points must be a table of at least 2 rows")
        if not np.isfinite(points).all() or (points < 0).any():
            raise ValueError("the training points must be finite numbers, 0 or more")
        unknown = [c for c in log_columns if c not in columns]
        if unknown:
            raise ValueError(f"log column {unknown[0]!r} is not among the columns")
        self.columns = list(columns)
        self.log_columns = list(log_columns)
        self.points = points
        self._logged = np.array([c in self.log_columns for c in self.columns])
        values = self._transform(points)
        self.center = values.mean(axis=0)
        spread = values.std(axis=0)
        self.spread = np.where(spread > 0, spread, 1.0)
        self._reference = ((values - self.center) / self.spread).astype(np.float32)
        self._norms = (self._reference.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)

    @classmethod
    def from_record(cls, record: Mapping) -> TrainingPoints:
        """The points of a :data:`POINTS_FILE` record (``columns``, ``log_columns``, ``points``)."""
        try:
            return cls(record["columns"], record["log_columns"], np.array(record["points"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"the training points record is incomplete ({exc})") from None

    def record(self) -> dict:
        """Plain, JSON-ready form: whole numbers written as such."""
        rows = [[int(v) if float(v).is_integer() else float(v) for v in row] for row in self.points]
        return {"columns": self.columns, "log_columns": self.log_columns, "points": rows}

    def _transform(self, values: np.ndarray) -> np.ndarray:
        out = np.array(values, dtype=float)
        out[:, self._logged] = np.log1p(np.clip(out[:, self._logged], 0.0, None))
        return out

    def values_of(self, features: object) -> np.ndarray:
        """The points' columns of ``features`` (a table with those names, or an array in order)."""
        if hasattr(features, "columns"):
            if list(features.columns) == self.columns:  # the usual table: no reindexing
                return np.asarray(features.to_numpy(), dtype=float)
            return np.asarray(features[self.columns], dtype=float)
        values = np.atleast_2d(np.asarray(features, dtype=float))
        if values.shape[1] != len(self.columns):
            raise ValueError(f"features need the {len(self.columns)} columns of the points")
        return values

    def distance(self, features: object, neighbours: int, skip_self: bool = False) -> np.ndarray:
        """Mean distance of each row to its ``neighbours`` nearest training campaigns;
        ``skip_self`` leaves out each row's nearest one (for the training campaigns themselves)."""
        z = ((self._transform(self.values_of(features)) - self.center) / self.spread).astype(
            np.float32
        )
        k = min(neighbours + int(skip_self), len(self._reference))
        out = np.empty(len(z))
        for start in range(0, len(z), _CHUNK):
            q = z[start : start + _CHUNK]
            d2 = self._norms[None, :] - 2.0 * (q @ self._reference.T)
            if k < d2.shape[1]:
                d2 = np.partition(d2, k - 1, axis=1)[:, :k]
            d2 = d2.astype(np.float64) + (q.astype(np.float64) ** 2).sum(axis=1)[:, None]
            d = np.sqrt(np.clip(d2, 0.0, None))
            if skip_self:
                d = np.sort(d, axis=1)[:, 1:]
            out[start : start + len(q)] = d.mean(axis=1)
        return out


def load_points(model_dir: str | Path, calibration: Mapping) -> TrainingPoints | None:
    """The training points of a plan-aware bundle (``None`` for a by-size one)."""
    if not is_plan_aware(calibration):
        return None
    name = str(calibration["difficulty"].get("file", POINTS_FILE))
    if Path(name).name != name:
        raise ValueError(f"the training points file {name!r} must be a plain file name")
    text = (Path(model_dir) / name).read_text(encoding="utf-8")
    return TrainingPoints.from_record(json.loads(text))


def plan_scale(
    pred: np.ndarray, distance: np.ndarray, ads: np.ndarray, calibration: Mapping
) -> np.ndarray:
    """The plan-aware scale ``s(x)`` from the prediction, the distance and the number of ads."""
    scale, terms = calibration["scale"], calibration["difficulty"]
    low, high = terms["distance_clip"]
    u = np.clip(np.log(np.maximum(np.asarray(distance, dtype=float), 1e-12)), low, high)
    c1, c2 = terms["distance_terms"]
    ads = np.clip(np.asarray(ads, dtype=float), 0.0, None)
    return (
        residual_scale(pred, scale)
        * (ads + 1.0) ** terms["ads_power"]
        * np.exp(c1 * u + c2 * u * u)
    )


class Ranges:
    """A bundle's calibrated range: its calibration record and, for a plan-aware one, the
    training points. ``features`` are the plans' model inputs (a table, or an array in the
    points' column order)."""

    def __init__(self, calibration: Mapping, points: TrainingPoints | None = None) -> None:
        self.calibration = calibration
        self.points = points
        if self.plan_aware and points is None:
            raise ValueError(f"a plan-aware range needs the training points ({POINTS_FILE})")

    @property
    def plan_aware(self) -> bool:
        """Whether the range depends on the plan beyond its prediction."""
        return is_plan_aware(self.calibration)

    def distance(self, features: object) -> np.ndarray:
        """Each plan's mean distance to its nearest training campaigns."""
        if self.points is None:
            raise ValueError("a by-size range has no training points to measure distance to")
        return self.points.distance(features, int(self.calibration["difficulty"]["neighbours"]))

    def scale(
        self, pred: np.ndarray, features: object = None, distance: np.ndarray | None = None
    ) -> np.ndarray:
        """``s(x)`` for each plan; ``distance``, when given, is :meth:`distance` of ``features``
        computed beforehand (e.g. while the model was loading)."""
        if not self.plan_aware:
            return residual_scale(pred, self.calibration["scale"])
        assert self.points is not None
        values = self.points.values_of(features)
        ads = values[:, self.points.columns.index(self.calibration["difficulty"]["ads_column"])]
        if distance is None:
            distance = self.distance(values)
        elif np.shape(distance) != (len(values),):
            raise ValueError("distance needs one value per plan")
        return plan_scale(pred, distance, ads, self.calibration)

    def bounds(
        self,
        pred: np.ndarray,
        features: object,
        level: float,
        distance: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Whole-number bounds at ``level`` (see :func:`interval_bounds` and :meth:`scale`)."""
        p = np.asarray(pred, dtype=float)
        s = self.scale(p, features, distance)
        return bounds_from_half(p, quantile_for(self.calibration, level) * s)

    def all_bounds(
        self, pred: np.ndarray, features: object, distance: np.ndarray | None = None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Bounds at every calibrated level, keyed by :func:`level_key`; the scale computed once."""
        p = np.asarray(pred, dtype=float)
        s = self.scale(p, features, distance)
        return {
            key: bounds_from_half(p, float(q) * s)
            for key, q in sorted(self.calibration["quantiles"].items(), key=lambda kv: float(kv[0]))
        }
