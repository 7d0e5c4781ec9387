"""The model's input table: the 19 ``FEATURE_COLUMNS`` as finite, non-negative floats."""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.plan import PlanError


def feature_matrix(features: pd.DataFrame) -> pd.DataFrame:
    """The 19 ``FEATURE_COLUMNS`` of ``features`` as finite, non-negative floats, in order.

    Extra columns are ignored. Raises :class:`PlanError` naming the first bad column.
    """
    if not isinstance(features, pd.DataFrame):
        raise PlanError("features", "features must be a pandas DataFrame with the 19 model columns")
    missing = [c for c in FEATURE_COLUMNS if c not in features.columns]
    if missing:
        raise PlanError(missing[0], f"features lack the column(s) {', '.join(missing)}; add them")
    duplicated = features.columns[features.columns.duplicated()]
    twice = [c for c in FEATURE_COLUMNS if c in duplicated]
    if twice:
        raise PlanError(twice[0], f"column {twice[0]} appears more than once; keep one")
    if list(features.columns) == FEATURE_COLUMNS and (features.dtypes == np.float64).all():
        frame = features  # already in model form: no copy
    else:
        frame = features.loc[:, FEATURE_COLUMNS]
        for column in FEATURE_COLUMNS:
            series = frame[column]
            if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
                numeric = pd.to_numeric(series, errors="coerce")
                bad = numeric.isna() | series.map(lambda v: isinstance(v, bool | np.bool_))
                if bad.any():
                    raise PlanError(
                        column,
                        f"column {column} holds a non-number in row {bad.idxmax()!r}; "
                        "enter numbers only",
                    )
                frame = frame.assign(**{column: numeric})
        frame = pd.DataFrame(
            frame.to_numpy(dtype=float), index=frame.index, columns=FEATURE_COLUMNS, copy=False
        )
    if len(frame):
        values = frame.to_numpy()
        # min/max propagate NaN and expose infinities and negatives in two passes.
        if not (np.isfinite(values.max(axis=0)).all() and (values.min(axis=0) >= 0).all()):
            for problem, mask in (
                ("is missing or not finite", ~np.isfinite(values)),
                ("is negative", values < 0),
            ):
                if mask.any():
                    row, col = np.argwhere(mask)[0]
                    column = FEATURE_COLUMNS[col]
                    raise PlanError(
                        column,
                        f"column {column} {problem} in row {frame.index[row]!r}; "
                        "enter a finite number, 0 or more",
                    )
    return frame
