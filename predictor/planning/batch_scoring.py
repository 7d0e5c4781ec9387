"""Score a table of plans: one plan a row, the plan's field names as columns.

Missing mix columns (and empty mix cells) count as 0. Every input row comes back with all its
columns and the results ``prediction``, ``lower``, ``upper``, ``level``, ``extrapolated``,
``unreliable``, ``warnings``, ``error``, and the ``model`` and ``model_version`` that answered; a
bad row gets its reason in ``error`` and is never dropped. Checks are vectorized, and the good rows are scored in one ``predict_frame`` call.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
import pandas as pd

from predictor.contract.csv_export import write_csv
from predictor.contract.csv_text import header_names, repeated_column, scan_bytes
from predictor.contract.features import FEATURE_COLUMNS, end_months
from predictor.contract.plan import (
    COLUMN_FIELDS,
    COLUMN_LABELS,
    MIX_FIELDS,
    MIXES,
    PLAN_FIELDS,
    REQUIRED_FIELDS,
    CampaignPlan,
    PlanError,
    mix_warning,
    valid_values,
)
from predictor.serving.extrapolation import TrainingBounds, absurd_message, absurd_rows
from predictor.serving.model_code.interval import DEFAULT_LEVEL, level_key

if TYPE_CHECKING:
    from predictor.serving.predictor import Predictor

RESULT_COLUMNS: tuple[str, ...] = (
    "prediction",
    "lower",
    "upper",
    "level",
    "extrapolated",
    "unreliable",
    "warnings",
    "error",
    "model",
    "model_version",
)
Progress = Callable[[int], None]


class BatchError(ValueError):
    """The table as a whole cannot be scored (for example a required column is missing)."""


def read_plans(source: str | Path | IO[str] | IO[bytes]) -> pd.DataFrame:
    """A CSV of plans; other columns stay text exactly as written, headers are trimmed.

    The plan's columns are parsed by the CSV reader itself where every cell is a number (fast);
    a plan column with any text or empty cell stays text, and :func:`parse_plans` reads it.
    """
    data = source.read() if hasattr(source, "read") else Path(source).read_bytes()
    data = data.encode() if isinstance(data, str) else data
    _check_text(data)
    raw = io.BytesIO(data)
    try:
        header = pd.read_csv(raw, nrows=0).columns
        raw.seek(0)
        text = {c: str for c in header if str(c).strip() not in PLAN_FIELDS}
        frame = pd.read_csv(raw, dtype=text, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise BatchError("the CSV is empty; give a header row with the plan's fields") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BatchError(f"the file is not a readable CSV ({str(exc)[:160]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _check_text(data: bytes) -> None:
    """Refuse bytes that are not UTF-8, a quote that does not close on its line (rows would
    merge) and a column named twice (readers would rename it), naming the line or column."""
    problem = scan_bytes(data)
    if problem is not None:
        raise BatchError(f"the file cannot be read as it is: {problem}")
    first = data.split(b"\n", 1)[0].decode().removeprefix("\ufeff")
    repeated = repeated_column(header_names(first))
    if repeated is not None:
        name, first_at, again_at = repeated
        raise BatchError(
            f"the header names the column {name!r} twice (columns {first_at} and {again_at}); "
            "remove or rename one"
        )


def _cells(frame: pd.DataFrame, field: str) -> pd.Series:
    if field in frame:
        return frame[field].astype(str).str.strip()
    return pd.Series("", index=frame.index, dtype=str)


# "50,000" as spreadsheets export it: groups of three digits after the first one to three. A
# comma anywhere else ("1,5") stays unread, so a decimal comma is never misread as thousands.
_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"


def _without_thousands_commas(cells: pd.Series) -> pd.Series:
    """``cells`` with the thousands separators of numbers like ``50,000`` taken out."""
    grouped = cells.str.fullmatch(_THOUSANDS)
    if not grouped.any():
        return cells
    return cells.where(~grouped, cells.str.replace(",", "", regex=False))


def parse_plans(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The plan fields of ``frame`` as numbers, and a mask of the rows CampaignPlan accepts.

    Missing or empty mix cells are 0. Raises :class:`BatchError` if a required column is missing.
    """
    missing = [f for f in REQUIRED_FIELDS if f not in frame]
    if missing:
        raise BatchError(
            f"the CSV lacks the column(s) {', '.join(missing)}; add them (one plan a row, the "
            f"plan's fields as columns: {', '.join(PLAN_FIELDS)})"
        )
    numbers = {}
    ok = np.ones(len(frame), dtype=bool)
    for field in PLAN_FIELDS:
        column = frame.get(field)
        if column is None:
            value = np.zeros(len(frame))
        elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            value = column.to_numpy(dtype=float)
        else:
            cells = _without_thousands_commas(_cells(frame, field))
            value = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=float)
            if field in MIX_FIELDS:
                value = np.where(cells.to_numpy(dtype=object) == "", 0.0, value)
        ok &= valid_values(field, value)
        numbers[field] = value
    return pd.DataFrame(numbers, index=frame.index), ok


def plan_errors(frame: pd.DataFrame, plans: pd.DataFrame, positions: np.ndarray) -> list[str]:
    """CampaignPlan's message for each row at ``positions`` (rows :func:`parse_plans` refused).

    ``plans`` is :func:`parse_plans`' numbers; text that is no number is passed on as text, so the
    message says what is wrong with it.
    """
    texts = {f: _cells(frame.iloc[positions], f).tolist() for f in PLAN_FIELDS}
    numbers = {f: plans[f].to_numpy()[positions].tolist() for f in PLAN_FIELDS}
    out = []
    for i in range(len(positions)):
        values: dict[str, object] = {}
        for field in PLAN_FIELDS:
            text, number = texts[field][i], numbers[field][i]
            if text == "" and field not in MIX_FIELDS:
                values[field] = None
            elif number != number and text.lower() != "nan":  # NaN: not a number
                values[field] = text
            else:
                values[field] = number
        try:
            CampaignPlan(**values)
        except PlanError as exc:
            out.append(str(exc))
        else:  # not reached: parse_plans mirrors CampaignPlan's checks
            out.append("the plan is invalid")
    return out


def feature_values(plans: pd.DataFrame) -> np.ndarray:
    """The model's ``(n, 19)`` input from valid parsed plans (see :func:`parse_plans`)."""
    values = np.empty((len(plans), len(FEATURE_COLUMNS)))
    for i, column in enumerate(FEATURE_COLUMNS):
        if column == "end_month":
            values[:, i] = end_months(plans["start_month"], plans["duration_days"])
        else:
            values[:, i] = plans[COLUMN_FIELDS[column]].to_numpy()
    return values


_ADS_BITS = 21  # MAX_COUNT < 2**21


def _extrapolates(key: int) -> str:
    labels = [COLUMN_LABELS[c] for i, c in enumerate(FEATURE_COLUMNS) if key >> i & 1]
    if not labels:
        return ""
    return f"Outside the training data's range: {', '.join(labels)}; the prediction extrapolates."


def _warning_keys(values: np.ndarray, bounds: TrainingBounds) -> list[np.ndarray]:
    """Per row, one whole-number key per warning source: each mix's (count, total ads), then
    the inputs outside the training range as bits."""
    ads = values[:, FEATURE_COLUMNS.index("num_ads")].astype(np.int64)
    keys = []
    for mix in MIXES.values():
        positions = [FEATURE_COLUMNS.index(c) for c, f in COLUMN_FIELDS.items() if f in mix]
        keys.append(values[:, positions].sum(axis=1).astype(np.int64) << _ADS_BITS | ads)
    outside = (values < bounds.low) | (values > bounds.high)
    keys.append(outside.astype(np.int64) @ (1 << np.arange(len(FEATURE_COLUMNS), dtype=np.int64)))
    return keys


def _warning_text(keys: tuple[int, ...]) -> str:
    """The warnings of a row with ``keys`` (see :func:`_warning_keys`), joined by spaces."""
    *mixes, outside = keys
    parts = [
        mix_warning(name, key >> _ADS_BITS, key & (2**_ADS_BITS - 1)) or ""
        for name, key in zip(MIXES, mixes, strict=True)
    ]
    return " ".join(p for p in [*parts, _extrapolates(outside)] if p)


def row_warnings(values: np.ndarray, bounds: TrainingBounds) -> np.ndarray:
    """Each row's warnings as one text: mixes that do not add up, inputs outside training.

    Rows share few combinations of warnings: each combination's text is written once.
    """
    if not len(values):
        return np.full(0, "", dtype=object)
    keys = _warning_keys(values, bounds)
    combined = np.zeros(len(values), dtype=np.int64)
    for key in keys:
        codes, uniques = pd.factorize(key)
        combined = pd.factorize(combined * len(uniques) + codes)[0]
    first = np.unique(combined, return_index=True)[1]
    texts = [_warning_text(tuple(int(k[i]) for k in keys)) for i in first]
    return np.array(texts, dtype=object)[combined]


def score_plans(
    predictor: Predictor,
    frame: pd.DataFrame,
    level: float = DEFAULT_LEVEL,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """``frame`` (text or numbers, one plan a row) with the result columns appended.

    ``progress`` is called with the number of rows finished at each step. Input columns named
    like a result column are replaced.
    """
    plans, ok = parse_plans(frame)
    n = len(frame)
    error = np.full(n, "", dtype=object)
    bad = np.flatnonzero(~ok)
    error[bad] = plan_errors(frame, plans, bad)
    values = feature_values(plans.loc[ok])
    metadata = predictor.metadata
    bounds = TrainingBounds.from_metadata(metadata.training_range)
    absurd = absurd_rows(values, bounds)
    ok_rows = np.flatnonzero(ok)
    for i in np.flatnonzero(absurd):
        error[ok_rows[i]] = absurd_message(values, i, bounds)[1]
    if progress:
        progress(n // 2)
    good, values = ok_rows[~absurd], values[~absurd]
    scored = predictor.predict_frame(pd.DataFrame(values, columns=FEATURE_COLUMNS), level)
    level = float(level_key(level))  # checked by predict_frame
    scored_rows = np.zeros(n, dtype=bool)
    scored_rows[good] = True

    def column(values: np.ndarray, dtype: type) -> np.ndarray:
        full = np.zeros(n, dtype=dtype)
        full[good] = values
        return full

    prediction = np.rint(scored["prediction"].to_numpy()).astype(np.int64)
    missing = ~scored_rows
    result = pd.DataFrame(
        {
            "prediction": pd.arrays.IntegerArray(column(prediction, np.int64), missing),
            "lower": pd.arrays.IntegerArray(column(scored["lower"].to_numpy(), np.int64), missing),
            "upper": pd.arrays.IntegerArray(column(scored["upper"].to_numpy(), np.int64), missing),
            "level": np.where(scored_rows, level, np.nan),
            "extrapolated": pd.arrays.BooleanArray(
                column(scored["extrapolated"].to_numpy(), bool), missing
            ),
            "unreliable": pd.arrays.BooleanArray(
                column(scored["unreliable"].to_numpy(), bool), missing
            ),
            "warnings": np.where(scored_rows, column(row_warnings(values, bounds), object), ""),
            "error": error,
            # Which model answered, so that a scored file with actual purchases added can be
            # recorded as outcomes (python -m predictor outcomes add) with what was shown.
            "model": np.where(scored_rows, metadata.name, ""),
            "model_version": np.where(scored_rows, metadata.model_version, ""),
        },
        index=frame.index,
    )
    out = pd.concat([frame.drop(columns=[c for c in RESULT_COLUMNS if c in frame]), result], axis=1)
    out.attrs["notices"] = tuple(scored.attrs.get("notices", ()))
    out.attrs["backend"] = scored.attrs.get("backend")
    if progress:
        progress(n - n // 2)
    return out


def write_scored(
    frame: pd.DataFrame, target: str | Path | IO[str], progress: Progress | None = None
) -> None:
    """Write scored rows as spreadsheet-safe CSV (a path atomically), reporting ``progress``."""
    write_csv(frame, target, progress)
