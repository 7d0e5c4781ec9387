"""The Ridge bundle's model as plain numbers, so that the first answers need no scikit-learn.

The served model is linear on the log scale: ``log1p(purchases) = intercept + Σ w · z``, where
``z`` is each input (``log1p`` of the counts, budget and duration, the rest as they are)
standardized by the training campaigns' mean and spread. Training writes these numbers into the
bundle as :data:`LINEAR_FILE` (plain JSON, listed in the manifest like every file), checked
against the model's own ``predict``. Importing scikit-learn and skops and loading the model costs
seconds of CPU; with this file the app answers its first requests from NumPy while the model
loads in the background, and the predictor checks the two agree once it has loaded.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

LINEAR_FILE = "linear.json"
# How closely the numbers must give the model's own answers (relative and absolute).
TOLERANCE = 1e-9


@functools.lru_cache(maxsize=64)
def column_positions(wanted: tuple[str, ...], present: tuple[str, ...]) -> list[int]:
    """Where each of ``wanted`` is among ``present`` (a missing one is a ``KeyError``)."""
    where = {name: i for i, name in enumerate(present)}
    try:
        return [where[name] for name in wanted]
    except KeyError as exc:
        raise KeyError(f"the table has no column {exc}") from None


class LinearFileError(ValueError):
    """The linear file is not a valid record of a linear model."""


@dataclass(frozen=True)
class LinearPoints:
    """Expected purchases from the linear model's numbers: ``expm1(intercept + Σ w · z(x))``.

    ``columns`` are the model inputs in the model's order, ``logged`` says which enter as
    ``log1p``; ``mean`` and ``scale`` standardize them; ``weights`` are 0 for inputs the
    model's feature selection dropped.
    """

    columns: tuple[str, ...]
    logged: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    intercept: float

    @classmethod
    def from_record(cls, record: object) -> LinearPoints:
        """The points of a :data:`LINEAR_FILE` record; :class:`LinearFileError` if invalid."""
        if not isinstance(record, Mapping):
            raise LinearFileError("the linear model record is not an object")
        try:
            columns = tuple(str(c) for c in record["columns"])
            arrays = [np.asarray(record[k], dtype=float) for k in ("mean", "scale", "weights")]
            logged = np.asarray([bool(v) for v in record["logged"]])
            intercept = float(record["intercept"])
        except (KeyError, TypeError, ValueError) as exc:
            raise LinearFileError(f"the linear model record is incomplete ({exc})") from None
        n = len(columns)
        if n == 0 or any(a.shape != (n,) for a in arrays) or logged.shape != (n,):
            raise LinearFileError("the linear model record's arrays do not match its columns")
        if not all(np.isfinite(a).all() for a in arrays) or not math.isfinite(intercept):
            raise LinearFileError("the linear model record holds numbers that are not finite")
        if (arrays[1] <= 0).any():
            raise LinearFileError("the linear model record's scales must be above 0")
        return cls(columns, logged, *arrays, intercept)

    def record(self) -> dict[str, Any]:
        """The plain, JSON-ready record."""
        return {
            "columns": list(self.columns),
            "logged": [bool(v) for v in self.logged],
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
            "weights": [float(v) for v in self.weights],
            "intercept": self.intercept,
        }

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        """Expected purchases for each row of ``frame`` (a table with :attr:`columns`)."""
        # Fancy indexing copies (the values are changed in place) without pandas' reindexing.
        values = frame.to_numpy(dtype=float)[
            :, column_positions(self.columns, tuple(frame.columns))
        ]
        return self.on_values(values)

    def on_values(self, values: np.ndarray) -> np.ndarray:
        """Expected purchases for rows of :attr:`columns`' values, in that order; ``values`` is
        a copy of the caller's, changed in place."""
        values[:, self.logged] = np.log1p(values[:, self.logged])
        return np.expm1((values - self.mean) / self.scale @ self.weights + self.intercept)

    def agrees_with(self, predict: Any, rows: pd.DataFrame) -> bool:
        """Whether these numbers give ``predict``'s answers on ``rows``."""
        ours = self(rows)
        theirs = np.asarray(predict(rows), dtype=float).reshape(-1)
        return ours.shape == theirs.shape and bool(
            np.allclose(ours, theirs, rtol=TOLERANCE, atol=TOLERANCE)
        )
