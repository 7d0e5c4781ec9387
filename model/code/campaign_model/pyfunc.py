"""The bundle's MLflow ``python_function``: each prediction with its interval bounds.

``predict`` answers a DataFrame with ``prediction`` (expected purchases) and, for each calibrated
level, ``lower_<pct>`` and ``upper_<pct>`` (whole numbers), so a model server gives the same
range as the local predictor. This module and ``interval.py`` are copied into every bundle
(``code/campaign_model/``), so they import nothing else from this project; the import below is
relative so that it works in both places.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .interval import Ranges, TrainingPoints, load_points

PREDICTION_COLUMN = "prediction"


def bound_columns(level: float) -> tuple[str, str]:
    """Names of the bound columns for ``level``: ``0.9`` -> ``("lower_90", "upper_90")``."""
    percent = f"{round(float(level) * 100, 6):g}".replace(".", "_")
    return f"lower_{percent}", f"upper_{percent}"


def interval_frame(
    pred: np.ndarray,
    calibration: dict[str, Any],
    features: Any = None,
    points: TrainingPoints | None = None,
) -> pd.DataFrame:
    """``prediction`` and the bounds at every level of ``calibration``, one row per prediction;
    a plan-aware calibration needs the plans' ``features`` and the training ``points``."""
    values = np.asarray(pred, dtype=float).reshape(-1)
    columns: dict[str, np.ndarray] = {PREDICTION_COLUMN: values}
    for key, (lower, upper) in Ranges(calibration, points).all_bounds(values, features).items():
        low_name, high_name = bound_columns(float(key))
        columns[low_name], columns[high_name] = lower, upper
    return pd.DataFrame(columns)


class IntervalModel:
    """A fitted scikit-learn regressor and its calibration, answering :func:`interval_frame`."""

    def __init__(
        self, pipeline: Any, calibration: dict[str, Any], points: TrainingPoints | None = None
    ) -> None:
        self.pipeline = pipeline
        self.calibration = calibration
        self.points = points

    def predict(self, data: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Predictions with bounds for the rows of ``data``."""
        return interval_frame(self.pipeline.predict(data), self.calibration, data, self.points)

    def get_raw_model(self) -> Any:
        """The scikit-learn pipeline itself (point predictions only)."""
        return self.pipeline


def _load_pyfunc(path: str) -> IntervalModel:
    """MLflow's entry point: ``path`` is the bundle's model file (or the bundle folder)."""
    import mlflow.sklearn
    from mlflow.models import Model

    model_dir = Path(path) if Path(path).is_dir() else Path(path).parent
    calibration = Model.load(str(model_dir / "MLmodel")).metadata["interval"]
    points = load_points(model_dir, calibration)
    return IntervalModel(mlflow.sklearn.load_model(str(model_dir)), calibration, points)
