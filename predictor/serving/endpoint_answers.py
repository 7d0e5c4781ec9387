"""Reading a served model's answer: expected purchases, and the range when the model sends one.

A bundle exported by this project answers a DataFrame with ``prediction`` and the bounds of
every calibrated level (see :mod:`predictor.serving.model_code.pyfunc`); an older model answers numbers only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.contract.notices import Notice, NoticeCode
from predictor.serving.endpoint_client import BadResponseError
from predictor.serving.model_code.pyfunc import PREDICTION_COLUMN, bound_columns

Bounds = tuple[np.ndarray, np.ndarray]


def notice_local_range(level: float) -> Notice:
    """Notice for an endpoint answer without a range at ``level``."""
    return Notice(
        NoticeCode.LOCAL_RANGE,
        f"The endpoint answered without a {level:.0%} range (an older model); "
        "the range comes from the local model's calibration.",
    )


def endpoint_answer(answer: object, rows: int, level: float) -> tuple[np.ndarray, Bounds | None]:
    """Point predictions and, if the answer holds them, the whole-number bounds at ``level``.

    ``answer`` is a 1-D array of numbers or a DataFrame with ``prediction`` and bound columns.
    Raises :class:`BadResponseError` for a wrong row count, non-finite points or invalid bounds.
    """
    bounds: Bounds | None = None
    if isinstance(answer, pd.DataFrame):
        if PREDICTION_COLUMN not in answer.columns:
            raise BadResponseError(f"the endpoint's answer has no '{PREDICTION_COLUMN}' column")
        raw = _numbers(answer[PREDICTION_COLUMN])
        columns = bound_columns(level)
        if all(c in answer.columns for c in columns):
            lower, upper = (_numbers(answer[c]) for c in columns)
            valid = np.isfinite(lower) & np.isfinite(upper) & (lower >= 0) & (lower <= upper)
            whole = (lower == np.rint(lower)) & (upper == np.rint(upper))
            if not (valid & whole).all():
                raise BadResponseError(
                    f"the endpoint's {level:.0%} range is not whole numbers 0 <= lower <= upper"
                )
            bounds = lower.astype(np.int64), upper.astype(np.int64)
    else:
        raw = _numbers(answer).reshape(-1)
    if raw.shape[0] != rows or not np.isfinite(raw).all():
        raise BadResponseError(
            f"the endpoint returned {raw.shape[0]} predictions for {rows} rows, or non-finite ones"
        )
    return raw, bounds


def _numbers(values: object) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise BadResponseError("the endpoint's predictions are not numbers") from None
