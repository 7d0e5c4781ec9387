"""Candidate models as scikit-learn pipelines, and the served model's builder."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor, VotingRegressor
from sklearn.feature_selection import SelectKBest, f_regression, mutual_info_regression
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from predictor.contract.features import FEATURE_COLUMNS

SERVED_NAME = "ridge_selectkbest"
# The nonlinear candidates the alternative bundle is chosen from (by cross-validated RMSE).
ALTERNATIVE_CANDIDATES: tuple[str, ...] = ("gradient_boosting", "voting")
DISPLAY_NAMES: dict[str, str] = {
    SERVED_NAME: "Ridge + SelectKBest",
    "gradient_boosting": "Gradient boosting",
    "voting": "Voting ensemble (Ridge, gradient boosting, random forest)",
}

# Spend, duration and counts act multiplicatively on purchases; their logs enter the linear model.
LOG_COLUMNS: tuple[str, ...] = ("total_budget", "duration_days", "num_ads", "num_unique_interests")


LOG_INDEX: list[int] = [FEATURE_COLUMNS.index(c) for c in LOG_COLUMNS]


def log_features() -> Pipeline:
    """Check the 19 columns (names and order), then replace budget, duration and counts by ``log1p``.

    The check turns the table into an array once; the steps after it select by position, which
    keeps a one-row prediction fast.
    """
    return Pipeline(
        [
            ("check", FunctionTransformer(np.asarray, validate=True)),
            (
                "log",
                ColumnTransformer(
                    [("log1p", FunctionTransformer(np.log1p), LOG_INDEX)], remainder="passthrough"
                ),
            ),
        ]
    )


def log_feature_names() -> list[str]:
    """Names of the columns :func:`log_features` produces, in order."""
    return [f"log1p({c})" for c in LOG_COLUMNS] + [
        c for c in FEATURE_COLUMNS if c not in LOG_COLUMNS
    ]


def log_target(regressor: RegressorMixin) -> TransformedTargetRegressor:
    """Fit ``regressor`` on ``log1p(purchases)`` and answer on the purchase scale."""
    return TransformedTargetRegressor(regressor, func=np.log1p, inverse_func=np.expm1)


MutualInfo = Callable[..., np.ndarray]


def memoized_mutual_info(max_entries: int = 512) -> MutualInfo:
    """``mutual_info_regression`` remembering its scores per data set, in its own cache.

    A grid over k and alpha then scores each fold once. The cache lives in the returned function
    (a closure): cloning a pipeline copies parameters deeply, but a function is copied as itself,
    so every clone of one tuning run shares it, and nothing outlives the run.
    """
    cache: dict[tuple[str, str, int], np.ndarray] = {}

    def score(X: np.ndarray, y: np.ndarray, random_state: int = 0) -> np.ndarray:
        key = (
            hashlib.sha1(np.ascontiguousarray(X, dtype=float).tobytes()).hexdigest(),
            hashlib.sha1(np.ascontiguousarray(y, dtype=float).tobytes()).hexdigest(),
            random_state,
        )
        if key not in cache:
            if len(cache) >= max_entries:
                cache.clear()
            cache[key] = mutual_info_regression(X, y, random_state=random_state)
        return cache[key]

    return score


def served_model(
    k: int | str = "all", alpha: float = 1.0, seed: int = 0, mutual_info: MutualInfo | None = None
) -> TransformedTargetRegressor:
    """Ridge on standardized log features, after SelectKBest(mutual information).

    ``mutual_info`` replaces scikit-learn's scorer while tuning (a :func:`memoized_mutual_info`);
    the exported model uses the plain scikit-learn function, which gives the same scores.
    """
    score = functools.partial(mutual_info or mutual_info_regression, random_state=seed)
    return log_target(
        Pipeline(
            [
                ("features", log_features()),
                ("scale", StandardScaler()),
                ("select", SelectKBest(score, k=k)),
                ("ridge", Ridge(alpha=alpha)),
            ]
        )
    )


def candidates(
    seed: int, served: TransformedTargetRegressor, quick: bool = False
) -> dict[str, RegressorMixin]:
    """All compared models by name; ``served`` is the tuned served model.

    ``quick`` uses fewer trees in the ensembles, for the fast run the tests use.
    """
    trees = 60 if quick else 200
    models: dict[str, RegressorMixin] = {}
    for k in (5, 10, 15):
        models[f"linreg_k{k}"] = make_pipeline(
            StandardScaler(), SelectKBest(f_regression, k=k), LinearRegression()
        )
    models["linreg_log_all"] = log_target(make_pipeline(log_features(), LinearRegression()))
    models["ridge"] = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    models["lasso"] = make_pipeline(StandardScaler(), Lasso(alpha=0.5, max_iter=20_000))
    models["lasso_log"] = log_target(
        make_pipeline(log_features(), StandardScaler(), Lasso(alpha=0.002, max_iter=20_000))
    )
    models[SERVED_NAME] = served
    models["random_forest"] = RandomForestRegressor(
        n_estimators=trees, min_samples_leaf=3, random_state=seed, n_jobs=1
    )
    models["gradient_boosting"] = GradientBoostingRegressor(
        n_estimators=trees, max_depth=3, learning_rate=0.05, subsample=0.8, random_state=seed
    )
    models["xgboost"] = _xgboost(seed, int(trees * 1.5))
    models["knn"] = make_pipeline(
        StandardScaler(), KNeighborsRegressor(n_neighbors=10, weights="distance")
    )
    for activation in ("relu", "tanh", "logistic"):
        # A standardized target lets the network train in a few hundred quick epochs.
        models[f"mlp_{activation}"] = TransformedTargetRegressor(
            make_pipeline(
                StandardScaler(),
                MLPRegressor(
                    hidden_layer_sizes=(32, 16),
                    activation=activation,
                    alpha=1e-3,
                    learning_rate_init=0.01,
                    max_iter=500,
                    early_stopping=True,
                    n_iter_no_change=10,
                    random_state=seed,
                ),
            ),
            transformer=StandardScaler(),
        )
    models["voting"] = VotingRegressor(
        [
            ("ridge", served),
            (
                "gbr",
                GradientBoostingRegressor(
                    n_estimators=trees // 2, max_depth=3, learning_rate=0.05, random_state=seed
                ),
            ),
            (
                "rf",
                RandomForestRegressor(
                    n_estimators=trees // 2, min_samples_leaf=3, random_state=seed, n_jobs=1
                ),
            ),
        ]
    )
    return models


def _xgboost(seed: int, trees: int) -> RegressorMixin:
    from xgboost import XGBRegressor

    return XGBRegressor(
        n_estimators=trees,
        max_depth=3,
        learning_rate=0.05,
        subsample=0.8,
        colsample_bytree=0.8,
        random_state=seed,
        n_jobs=1,
        tree_method="hist",
    )


def selected_features(model: TransformedTargetRegressor) -> list[tuple[str, float]]:
    """(feature, coefficient on the standardized log scale) for the features SelectKBest kept."""
    pipe = model.regressor_
    names = np.array(log_feature_names())
    mask = pipe.named_steps["select"].get_support()
    return [
        (str(name), float(coef))
        for name, coef in zip(names[mask], pipe.named_steps["ridge"].coef_, strict=True)
    ]
