"""Point predictions of a fitted scikit-learn model without its per-call checks, when provably equal.

Scoring one plan through a scikit-learn pipeline spends most of its time checking the input again
at every step (names, types, finiteness, fitted state): about 2 ms for the Ridge pipeline and
10 ms for the voting ensemble, against tens of microseconds of arithmetic. The predictor has
checked the plan and built the table from ``FEATURE_COLUMNS`` already. :func:`fast_points` turns
the steps this project's bundles use (log target, pipelines, ``asarray``/ufunc transformers,
column transformers, scaling, feature selection, linear models, voting, gradient boosting and
random forests) into the same NumPy operations in the same order, and keeps them only if they
give the model's own numbers on sample rows. Any other model, or a table with other columns,
goes through the model's own ``predict``, checks and all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

Steps = Callable[[np.ndarray], np.ndarray]
# Relative and absolute tolerance of the comparison with the model's own predict.
TOLERANCE = 1e-9
SAMPLE_ROWS = 64
# Rows computed at a time: every step works row by row, and blocks this size stay in the cache.
CHUNK_ROWS = 8192


def _identity(X: np.ndarray) -> np.ndarray:
    return X


def _function(transformer: Any) -> Steps | None:
    """A FunctionTransformer that applies ``np.asarray`` or a NumPy ufunc without arguments."""
    func = transformer.func
    if transformer.kw_args:
        return None
    if func is None or func is np.asarray:
        return _identity
    return func if isinstance(func, np.ufunc) else None


def _pipeline(model: Any, final: str) -> Steps | None:
    """The pipeline's transforms, then its last step's ``final`` (``predict`` or ``transform``)."""
    parts = []
    for i, (_, step) in enumerate(model.steps):
        last = i == len(model.steps) - 1
        part = _compile(step, final if last else "transform")
        if part is None:
            return None
        parts.append(part)

    def run(X: np.ndarray) -> np.ndarray:
        for part in parts:
            X = part(X)
        return X

    return run


def _columns(model: Any) -> Steps | None:
    """A ColumnTransformer on positions whose parts are ufuncs or passthrough, stacked densely."""
    if getattr(model, "sparse_output_", False):
        return None
    parts: list[tuple[Steps, list[int]]] = []
    for _, transformer, columns in model.transformers_:
        if isinstance(columns, slice) or not all(isinstance(c, int | np.integer) for c in columns):
            return None
        if (isinstance(transformer, str) and transformer == "drop") or not len(columns):
            continue
        step = _compile(transformer, "transform")
        if step is None:
            return None
        parts.append((step, list(columns)))
    return lambda X: np.hstack([step(X[:, columns]) for step, columns in parts])


def _target(model: Any) -> Steps | None:
    """A TransformedTargetRegressor whose target transform is a pair of ufuncs."""
    inner = _compile(model.regressor_, "predict")
    inverse = model.transformer_
    if (
        inner is None
        or _compile(inverse, "transform") is None
        or not isinstance(inverse.inverse_func, np.ufunc)
        or inverse.inv_kw_args
        or model._training_dim != 1
    ):
        return None
    return lambda X: inverse.inverse_func(inner(X).reshape(-1, 1)).reshape(-1)


def _voting(model: Any) -> Steps | None:
    """A VotingRegressor: the (weighted) mean of its members."""
    members = [_compile(est, "predict") for est in model.estimators_]
    if any(m is None for m in members):
        return None
    weights = model._weights_not_none
    return lambda X: np.average(np.asarray([m(X) for m in members]).T, axis=1, weights=weights)


def _forest(model: Any) -> Steps | None:
    """A one-output random forest: the mean of its trees, summed in order as scikit-learn does."""
    if model.n_outputs_ != 1:
        return None
    trees = [est.tree_ for est in model.estimators_]

    def run(X: np.ndarray) -> np.ndarray:
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        total = np.zeros(X.shape[0])
        for tree in trees:
            total += tree.predict(X32)[:, 0]
        return total / len(trees)

    return run


def _linear(model: Any) -> Steps | None:
    if np.ndim(model.coef_) != 1:
        return None
    coef, intercept = model.coef_, model.intercept_
    return lambda X: X @ coef + intercept


def _scaler(model: Any) -> Steps:
    mean = model.mean_ if model.with_mean else None
    scale = model.scale_ if model.with_std else None

    def run(X: np.ndarray) -> np.ndarray:
        if mean is not None:
            X = X - mean
        return X / scale if scale is not None else X

    return run


def _compile(model: Any, final: str) -> Steps | None:
    """NumPy steps for ``model``'s ``final`` method, or ``None`` for a model not covered here."""
    if model is None or (isinstance(model, str) and model == "passthrough"):
        return _identity
    if not type(model).__module__.startswith("sklearn."):
        return None
    kind = type(model).__name__
    if kind == "Pipeline":
        return _pipeline(model, final)
    if final == "transform":
        if kind == "FunctionTransformer":
            return _function(model)
        if kind == "ColumnTransformer":
            return _columns(model)
        if kind == "StandardScaler":
            return _scaler(model)
        if kind in ("SelectKBest", "SelectPercentile"):
            mask = model.get_support()
            return lambda X: X[:, mask]
        return None
    if kind == "TransformedTargetRegressor":
        return _target(model)
    if kind == "VotingRegressor":
        return _voting(model)
    if kind in ("Ridge", "LinearRegression", "Lasso", "ElasticNet"):
        return _linear(model)
    if kind == "GradientBoostingRegressor":
        return lambda X: model._raw_predict(np.ascontiguousarray(X, dtype=np.float32)).ravel()
    if kind == "RandomForestRegressor":
        return _forest(model)
    return None


def in_blocks(steps: Steps, values: np.ndarray) -> np.ndarray:
    """``steps(values)``, computed in blocks of :data:`CHUNK_ROWS` rows on every core for a
    large table (``steps`` works row by row)."""
    if len(values) <= CHUNK_ROWS:
        return steps(values)
    blocks = [values[i : i + CHUNK_ROWS] for i in range(0, len(values), CHUNK_ROWS)]
    # Trees and NumPy let go of the interpreter lock, so blocks run on all cores at once.
    workers = min(len(blocks), os.cpu_count() or 1)
    with ThreadPoolExecutor(workers, thread_name_prefix="points") as pool:
        return np.concatenate(list(pool.map(steps, blocks)))


def sample_rows(low: np.ndarray, high: np.ndarray, n: int = SAMPLE_ROWS) -> np.ndarray:
    """``n`` fixed rows spread over ``[low, high]`` per column (1 where a bound is unknown),
    both ends included."""
    low = np.where(np.isfinite(low), low, 1.0)
    high = np.where(np.isfinite(high), high, low)
    share = np.random.default_rng(0).random((n, len(low)))
    share[0], share[1] = 0.0, 1.0
    return low + share * (high - low)


class FastPoints:
    """``predict`` of a scikit-learn model as NumPy steps, for tables with its columns.

    Called like the model's ``predict`` on a table; ``__self__`` is the model, as on the bound
    method it stands for.
    """

    def __init__(self, predict: Callable[[Any], np.ndarray], steps: Steps, columns: Any) -> None:
        self.predict = predict
        self.__self__ = predict.__self__  # type: ignore[attr-defined]
        self.steps = steps
        self.columns = pd.Index(columns)

    def __call__(self, frame: Any) -> np.ndarray:
        if not (isinstance(frame, pd.DataFrame) and frame.columns.equals(self.columns)):
            return self.predict(frame)
        return in_blocks(self.steps, frame.to_numpy(dtype=float))


def fast_points(
    predict: Callable[[Any], np.ndarray], low: np.ndarray, high: np.ndarray
) -> Callable[[Any], np.ndarray]:
    """``predict`` (a fitted model's bound ``predict``) as :class:`FastPoints` when the model is
    covered and gives the same numbers on :func:`sample_rows` within ``[low, high]``; else
    ``predict`` itself."""
    model = getattr(predict, "__self__", None)
    columns = getattr(model, "feature_names_in_", None)
    if model is None or columns is None or getattr(predict, "__name__", "") != "predict":
        return predict
    try:
        steps = _compile(model, "predict")
        if steps is None:
            return predict
        sample = pd.DataFrame(sample_rows(low, high), columns=pd.Index(columns))
        fast = steps(sample.to_numpy(dtype=float))
        slow = np.asarray(predict(sample), dtype=float)
    except Exception as exc:  # a model this module misreads keeps its own predict
        log.warning("the model's fast path is off (%s: %s)", type(exc).__name__, exc)
        return predict
    if fast.shape != slow.shape or not np.allclose(fast, slow, rtol=TOLERANCE, atol=TOLERANCE):
        log.warning("the model's fast path is off: it disagrees with the model's predict")
        return predict
    return FastPoints(predict, steps, columns)
