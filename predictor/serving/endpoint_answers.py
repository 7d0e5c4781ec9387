"""Reading a served model's answer: its JSON parsed, expected purchases, and the range when sent.

A bundle exported by this project answers a DataFrame with ``prediction`` and the bounds of
every calibrated level (see :mod:`predictor.serving.model_code.pyfunc`); an older model answers numbers only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from predictor.contract.notices import Notice, NoticeCode
from predictor.serving.endpoint_errors import BadResponseError
from predictor.serving.model_code.pyfunc import PREDICTION_COLUMN, bound_columns

Bounds = tuple[np.ndarray, np.ndarray]
_BOUND = re.compile(r"(lower|upper)_([1-9][0-9]?)")


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


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadResponseError(f"{where} from the endpoint is not a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise BadResponseError(f"{where} from the endpoint is not a finite number")
    return number


def _scalar(item: object, i: int) -> float:
    """One prediction: a number, a one-key object ``{"name": x}`` or a one-item list ``[x]``."""
    if isinstance(item, dict):
        if len(item) != 1:
            raise BadResponseError(
                f"prediction {i} from the endpoint is an object of {len(item)} fields "
                f"without '{PREDICTION_COLUMN}'"
            )
        item = next(iter(item.values()))
    elif isinstance(item, list):
        if len(item) != 1:
            raise BadResponseError(
                f"prediction {i} from the endpoint is a list of {len(item)} values; expected one"
            )
        item = item[0]
    return _number(item, f"prediction {i}")


def _column_names(keys: Iterable[str]) -> list[str]:
    """``prediction`` then ``lower_XX``/``upper_XX`` pairs by level; refuses unpaired bounds."""
    bounds: dict[str, set[str]] = {}
    for key in keys:
        match = _BOUND.fullmatch(key)
        if match:
            bounds.setdefault(match.group(2), set()).add(match.group(1))
    for level, sides in bounds.items():
        if sides != {"lower", "upper"}:
            missing = ({"lower", "upper"} - sides).pop()
            raise BadResponseError(
                f"the endpoint returned a {level}% range without its {missing}_{level} bound"
            )
    names = [PREDICTION_COLUMN]
    for level in sorted(bounds, key=int):
        names += [f"lower_{level}", f"upper_{level}"]
    return names


def _frame(columns: Mapping[str, list[object]], expected: int) -> pd.DataFrame:
    """A validated frame of ``prediction`` and range columns, one row per requested row."""
    names = _column_names(columns)
    data = {}
    for name in names:
        values = columns[name]
        if len(values) != expected:
            raise BadResponseError(
                f"the endpoint returned {len(values)} values of {name} for {expected} rows"
            )
        data[name] = [_number(v, f"{name} of row {i}") for i, v in enumerate(values)]
    frame = pd.DataFrame(data, columns=names, dtype=float)
    for lower, upper in zip(names[1::2], names[2::2], strict=True):
        bad = frame[lower] > frame[upper]
        if bad.any():
            raise BadResponseError(
                f"row {int(np.argmax(bad.to_numpy()))} from the endpoint has {lower} above {upper}"
            )
    return frame


def _records(items: list[object], expected: int) -> pd.DataFrame:
    keys = items[0].keys() if isinstance(items[0], dict) else ()
    if not all(isinstance(item, dict) and item.keys() == keys for item in items):
        raise BadResponseError("the endpoint's prediction records do not all have the same fields")
    return _frame({key: [item[key] for item in items] for key in keys}, expected)


def parse_predictions(payload: object, expected: int) -> np.ndarray | pd.DataFrame:
    """Predictions from a scoring server's answer.

    Numbers come back as a 1-D float array; the accepted shapes are ``{"predictions": [x, ...]}``,
    ``[{"name": x}, ...]``, ``[[x], ...]`` and ``{"predictions": {"name": [x, ...]}}``. Records
    (or columns) holding ``prediction`` with ``lower_XX``/``upper_XX`` ranges come back as a
    DataFrame of those columns (other fields are dropped), checked to be finite and ordered.
    Anything else raises :class:`BadResponseError`.
    """
    items = payload.get("predictions") if isinstance(payload, dict) else None
    if isinstance(items, dict):  # columns: {"predictions": {"prediction": [...], ...}}
        if not items or not all(isinstance(v, list) for v in items.values()):
            raise BadResponseError(
                "the endpoint's 'predictions' object does not hold one list per column"
            )
        if len(items) == 1:
            items = next(iter(items.values()))
        elif PREDICTION_COLUMN in items:
            return _frame(items, expected)
        else:
            raise BadResponseError(
                f"the endpoint returned columns {', '.join(sorted(items))[:100]} without "
                f"'{PREDICTION_COLUMN}'"
            )
    if not isinstance(items, list):
        raise BadResponseError("the endpoint's answer has no 'predictions' list")
    if len(items) != expected:
        raise BadResponseError(
            f"the endpoint returned {len(items)} predictions for {expected} rows"
        )
    if items and isinstance(items[0], dict) and PREDICTION_COLUMN in items[0] and len(items[0]) > 1:
        return _records(items, expected)
    values = np.empty(expected, dtype=float)
    for i, item in enumerate(items):
        values[i] = _scalar(item, i)
    return values
