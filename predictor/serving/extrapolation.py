"""Honest answers beyond the training data: ranges that widen, flags, and refusal of absurd inputs.

- A row is *extrapolated* when any input lies outside the training data's ``[min, max]``.
- Outside the range the interval grows relative to the number, the further the plan lies
  from the data. The edge of a row is the same row with every input clipped into the range,
  scored in the same call by whichever backend answers. The half-width of an extrapolated row
  is at least its edge's half-width per (purchases + 1), times its own (purchases + 1), times
  ``1 + d``: ``d`` is the row's distance beyond the range, the largest log-ratio of an input to
  the range's end it passes (``ln 10`` for ten times the largest budget). The model's evidence
  ends at the edge, so the doubt grows with each doubling past it. Inside the range nothing
  changes.
- An input more than :data:`ABSURD_FACTOR` times the training maximum is refused.
- A row whose platform, format, gender or age counts add up to more than its total ads is
  *unreliable*: it is scored and flagged, not refused (the model never saw such a campaign, but
  the number still says something about the plan's budget and size).

All functions take feature values as an ``(n, 19)`` array in ``FEATURE_COLUMNS`` order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from predictor.contract.features import AD_CATEGORIES, FEATURE_COLUMNS
from predictor.contract.formatting import fmt_feature
from predictor.contract.notices import Notice, NoticeCode
from predictor.contract.plan import COLUMN_FIELDS, COLUMN_LABELS, PlanError
from predictor.serving.model_code.interval import bounds_from_half
from predictor.serving.scored import Scored

ABSURD_FACTOR = 100.0

_NUM_ADS = FEATURE_COLUMNS.index("num_ads")


def _mix_slice(column: str, categories: tuple[str, ...]) -> slice:
    start = FEATURE_COLUMNS.index(f"{column}_{categories[0]}")
    return slice(start, start + len(categories))


# Each mix's columns, which FEATURE_COLUMNS keeps side by side, as slices (views, no copies).
_MIX_SLICES: tuple[slice, ...] = tuple(_mix_slice(c, cats) for c, cats in AD_CATEGORIES.items())


@dataclass(frozen=True)
class TrainingBounds:
    """Per-column ``[low, high]`` of the training data; ``-inf``/``inf`` where unknown."""

    low: np.ndarray
    high: np.ndarray

    @classmethod
    def from_metadata(cls, training_range: Mapping[str, object] | None) -> TrainingBounds:
        """Bounds from the bundle's ``training_range`` (column -> ``[min, max]``)."""
        low = np.full(len(FEATURE_COLUMNS), -np.inf)
        high = np.full(len(FEATURE_COLUMNS), np.inf)
        for i, column in enumerate(FEATURE_COLUMNS):
            pair = (training_range or {}).get(column)
            if isinstance(pair, list | tuple) and len(pair) == 2:
                low[i], high[i] = float(pair[0]), float(pair[1])
        return cls(low, high)


def outside_rows(values: np.ndarray, bounds: TrainingBounds) -> np.ndarray:
    """Rows with any input outside the training range."""
    # Column extremes first: the common all-inside table needs no per-row mask.
    if not len(values) or (
        (values.min(axis=0) >= bounds.low).all() and (values.max(axis=0) <= bounds.high).all()
    ):
        return np.zeros(len(values), dtype=bool)
    return ((values < bounds.low) | (values > bounds.high)).any(axis=1)


def edge_rows(values: np.ndarray, bounds: TrainingBounds) -> np.ndarray:
    """``values`` with every input clipped into the training range."""
    return np.clip(values, bounds.low, bounds.high)


def _absurd_cells(values: np.ndarray, bounds: TrainingBounds, factor: float) -> np.ndarray:
    limit = np.where(bounds.high > 0, factor * bounds.high, np.inf)
    return values > limit


def absurd_rows(
    values: np.ndarray, bounds: TrainingBounds, factor: float = ABSURD_FACTOR
) -> np.ndarray:
    """Rows with an input more than ``factor`` times the training maximum."""
    limit = np.where(bounds.high > 0, factor * bounds.high, np.inf)
    if not len(values) or (values.max(axis=0) <= limit).all():
        return np.zeros(len(values), dtype=bool)
    return _absurd_cells(values, bounds, factor).any(axis=1)


def absurd_message(
    values: np.ndarray, row: int, bounds: TrainingBounds, factor: float = ABSURD_FACTOR
) -> tuple[str, str]:
    """``(plan field, message)`` for the first absurd input of ``values[row]``."""
    col = int(np.argmax(_absurd_cells(values[row : row + 1], bounds, factor)[0]))
    column = FEATURE_COLUMNS[col]
    low, high = bounds.low[col], bounds.high[col]
    label = COLUMN_LABELS.get(column, column)
    message = (
        f"{label.capitalize()} {fmt_feature(column, values[row, col])} is more than {factor:g} "
        f"times the largest in the training data (which ranges from {fmt_feature(column, low)} "
        f"to {fmt_feature(column, high)}); enter at most {fmt_feature(column, factor * high)}"
    )
    return COLUMN_FIELDS.get(column, column), message


def refuse_absurd(
    values: np.ndarray,
    bounds: TrainingBounds,
    index: Sequence[object] | None = None,
    factor: float = ABSURD_FACTOR,
) -> None:
    """Raise :class:`PlanError` for the first row with an absurd input; ``index`` names rows."""
    bad = absurd_rows(values, bounds, factor)
    if not bad.any():
        return
    row = int(np.argmax(bad))
    field, message = absurd_message(values, row, bounds, factor)
    if index is not None and len(values) > 1:
        message += f" (row {index[row]!r})"
    raise PlanError(field, message)


def mix_over_total(values: np.ndarray) -> np.ndarray:
    """Rows where any mix's counts add up to more than the total ads (flag: unreliable)."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    total = values[:, _NUM_ADS]
    over = np.zeros(len(values), dtype=bool)
    for columns in _MIX_SLICES:
        over |= values[:, columns].sum(axis=1) > total
    return over


def distance_beyond(values: np.ndarray, bounds: TrainingBounds) -> np.ndarray:
    """How far each row lies outside the training range: over its inputs, the largest
    ``ln((v + 1) / (high + 1))`` above the range or ``ln((low + 1) / (v + 1))`` below it;
    0 inside. Inputs are counts and money, never negative."""
    v = np.log1p(np.clip(values, 0.0, None))
    high = np.where(np.isfinite(bounds.high), np.log1p(np.clip(bounds.high, 0.0, None)), np.inf)
    low = np.where(np.isfinite(bounds.low), np.log1p(np.clip(bounds.low, 0.0, None)), -np.inf)
    beyond = np.maximum(v - high, low - v)
    return np.clip(beyond, 0.0, None).max(axis=1, initial=0.0)


def widen_bounds(
    pred: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    outside: np.ndarray,
    edge: tuple[np.ndarray, np.ndarray, np.ndarray],
    distance: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``outside`` rows widened to at least their edge's width per (purchases + 1),
    times ``1 + distance`` (:func:`distance_beyond`; 0 when not given).

    ``edge`` and ``distance`` hold one entry per ``True`` in ``outside``; rows inside the range
    keep their bounds. Works on any backend's whole bounds.
    """
    lower, upper = np.array(lower, dtype=np.int64), np.array(upper, dtype=np.int64)
    if outside.any():
        edge_pred, edge_lower, edge_upper = (np.asarray(a, dtype=float) for a in edge)
        relative = (edge_upper - edge_lower) / 2 / (np.clip(edge_pred, 0.0, None) + 1.0)
        if distance is not None:
            relative = relative * (1.0 + np.asarray(distance, dtype=float))
        p = np.asarray(pred, dtype=float)[outside]
        low, high = bounds_from_half(p, relative * (np.clip(p, 0.0, None) + 1.0))
        lower[outside] = np.minimum(lower[outside], low)
        upper[outside] = np.maximum(upper[outside], high)
    return lower, upper


def range_notice(
    matrix: pd.DataFrame, columns: Sequence[str], training_range: Mapping[str, object] | None
) -> tuple[str, ...]:
    """One notice counting rows of ``matrix`` outside the training range in ``columns``."""
    ranges = training_range or {}
    usable = [
        c
        for c in columns
        if isinstance(ranges.get(c), list | tuple) and len(ranges[c]) == 2 and c in matrix
    ]
    if not usable or not len(matrix):
        return ()
    values = matrix.to_numpy(dtype=float)  # a view for an all-float matrix: no copy
    positions = [matrix.columns.get_loc(c) for c in usable]
    low = np.array([float(ranges[c][0]) for c in usable])
    high = np.array([float(ranges[c][1]) for c in usable])
    # Column-wise extremes first: the common in-range case needs no per-row mask.
    out_cols = (values.min(axis=0)[positions] < low) | (values.max(axis=0)[positions] > high)
    if not out_cols.any():
        return ()
    hit = np.zeros(len(matrix), dtype=bool)
    for position, lo, hi in zip(
        np.array(positions)[out_cols], low[out_cols], high[out_cols], strict=True
    ):
        column = values[:, position]
        hit |= (column < lo) | (column > hi)
    count = int(hit.sum())
    names = [COLUMN_LABELS.get(c, c) for c, out in zip(usable, out_cols, strict=True) if out]
    rows = "1 row is" if count == 1 else f"{count:,} rows are"
    return (
        Notice(
            NoticeCode.EXTRAPOLATION,
            f"{rows} outside the training data's range ({', '.join(names)}); "
            "those predictions extrapolate.",
        ),
    )


# Scores valid feature rows.
Scorer = Callable[[pd.DataFrame], Scored]


def score_with_edges(
    score: Scorer, rows: pd.DataFrame, outside: np.ndarray, bounds: TrainingBounds
) -> Scored:
    """``score(rows)``, with the range edges of the ``outside`` rows scored in the same call and
    their bounds widened by :func:`widen_bounds` for their distance from the range."""
    if not outside.any():
        return score(rows)
    n = len(rows)
    values = rows.to_numpy(dtype=float)
    beyond = values[outside]
    both = score(
        pd.DataFrame(np.concatenate([values, edge_rows(beyond, bounds)]), columns=FEATURE_COLUMNS)
    )
    edge = (both.raw[n:], both.lower[n:], both.upper[n:])
    distance = distance_beyond(beyond, bounds)
    lower, upper = widen_bounds(
        both.raw[:n], both.lower[:n], both.upper[:n], outside, edge, distance
    )
    return replace(both.head(n), lower=lower, upper=upper)
