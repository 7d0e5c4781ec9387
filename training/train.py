"""Model comparison with repeated K-fold CV and a held-out split, every candidate an MLflow run."""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RepeatedKFold,
    cross_val_predict,
    train_test_split,
)

from predictor.contract.features import FEATURE_COLUMNS, TARGET_COLUMN
from predictor.serving.model_code.interval import TrainingPoints
from training import config
from training.calibration import NEIGHBOURS, PlanDifficulty, calibrate
from training.models import (
    ALTERNATIVE_CANDIDATES,
    LOG_COLUMNS,
    SERVED_NAME,
    candidates,
    memoized_mutual_info,
    served_model,
)

SCORING = {"rmse": "neg_root_mean_squared_error", "mae": "neg_mean_absolute_error", "r2": "r2"}
# Everything runs in one process: each fit takes a fraction of a second, and worker processes
# cost more than they save (measured).


@dataclass
class Alternative:
    """The second exported model: the best nonlinear candidate, refit, with its own calibration."""

    candidate: str
    model: object
    calibration: dict
    metrics: dict[str, float]
    by_size: dict | None = None  # the earlier, by-size calibration, for comparison


@dataclass
class TrainResult:
    """What a training run produced: the served Ridge model and the alternative."""

    model: object
    comparison: pd.DataFrame
    best_params: dict
    calibration: dict
    metrics: dict
    fingerprint: str
    training_range: dict[str, list[float]]
    alternative: Alternative | None = None
    points: TrainingPoints | None = None  # the campaigns the plan-aware range measures against
    by_size: dict | None = None  # the earlier, by-size calibration, for comparison


def fingerprint(table: pd.DataFrame) -> str:
    """SHA-256 of the campaign table as CSV: the same data gives the same fingerprint."""
    return hashlib.sha256(table.to_csv(index=False, lineterminator="\n").encode()).hexdigest()


def feature_range(X: pd.DataFrame) -> dict[str, list[float]]:
    """``[min, max]`` of every feature column: the range the model was trained on."""
    return {c: [float(X[c].min()), float(X[c].max())] for c in FEATURE_COLUMNS}


def experiment_name(tracking_uri: str) -> str:
    """The experiment to log to: a workspace path on Databricks, a plain name elsewhere."""
    if tracking_uri.startswith("databricks"):
        return config.DATABRICKS_EXPERIMENT_NAME
    return config.EXPERIMENT_NAME


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of ``pred`` against ``y``."""
    return {
        "rmse": float(root_mean_squared_error(y, pred)),
        "mae": float(mean_absolute_error(y, pred)),
        "r2": float(r2_score(y, pred)),
    }


def _cv_scores(model, X: pd.DataFrame, y: np.ndarray, cv) -> dict[str, float]:
    """Mean and sd over folds of RMSE, MAE and R², computed fold by fold."""
    from sklearn.model_selection import cross_validate

    res = cross_validate(model, X, y, cv=cv, scoring=SCORING)
    out = {}
    for name in SCORING:
        vals = res[f"test_{name}"] * (-1 if name != "r2" else 1)
        out[f"cv_{name}_mean"] = float(np.mean(vals))
        out[f"cv_{name}_sd"] = float(np.std(vals, ddof=1)) if vals.size > 1 else 0.0
    return out


def _scalar_params(model) -> dict[str, str]:
    """Loggable hyper-parameters: scalars only, names shortened to MLflow's limits."""
    params = {}
    for key, value in model.get_params(deep=True).items():
        if isinstance(value, (int, float, str, bool)) or value is None:
            params[key[-250:]] = str(value)[:250]
    return dict(sorted(params.items())[:100])


@dataclass
class _Split:
    """The campaigns as features and target, split into a training and a held-out part."""

    table: pd.DataFrame
    X: pd.DataFrame
    y: np.ndarray
    idx_test: np.ndarray
    X_tr: pd.DataFrame
    X_te: pd.DataFrame
    y_tr: np.ndarray
    y_te: np.ndarray
    repeats: int
    cv: RepeatedKFold


def _split(table: pd.DataFrame, seed: int, quick: bool) -> _Split:
    """Hold out ``config.TEST_SIZE`` of the campaigns; repeated K-fold on the rest."""
    X = table[FEATURE_COLUMNS].astype(float)
    y = table[TARGET_COLUMN].to_numpy(dtype=float)
    idx_train, idx_test = train_test_split(
        np.arange(len(table)), test_size=config.TEST_SIZE, random_state=seed
    )
    repeats = config.QUICK_CV_REPEATS if quick else config.CV_REPEATS
    return _Split(
        table=table,
        X=X,
        y=y,
        idx_test=idx_test,
        X_tr=X.iloc[idx_train],
        X_te=X.iloc[idx_test],
        y_tr=y[idx_train],
        y_te=y[idx_test],
        repeats=repeats,
        cv=RepeatedKFold(n_splits=config.CV_SPLITS, n_repeats=repeats, random_state=seed),
    )


def _tune(data: _Split, seed: int, mutual_info, progress) -> dict:
    """Grid-search the served model's k and alpha by cross-validated RMSE."""
    task = progress.add_task("tuning served model", total=None) if progress else None
    search = GridSearchCV(
        served_model(seed=seed, mutual_info=mutual_info),
        {
            "regressor__select__k": list(config.SERVED_K_GRID),
            "regressor__ridge__alpha": list(config.SERVED_ALPHA_GRID),
        },
        scoring="neg_root_mean_squared_error",
        cv=data.cv,
    )
    search.fit(data.X_tr, data.y_tr)
    best = {
        "k": search.best_params_["regressor__select__k"],
        "alpha": search.best_params_["regressor__ridge__alpha"],
    }
    if progress:
        progress.update(
            task,
            total=1,
            completed=1,
            description=f"served model: k={best['k']}, alpha={best['alpha']}",
        )
    return best


def _score_candidate(name: str, model, data: _Split) -> tuple[dict, np.ndarray]:
    """One candidate's CV and held-out figures, logged as a nested MLflow run; its predictions."""
    import mlflow

    start = time.perf_counter()
    scores = _cv_scores(model, data.X_tr, data.y_tr, data.cv)
    fitted = clone(model).fit(data.X_tr, data.y_tr)
    pred = np.asarray(fitted.predict(data.X_te), dtype=float)
    test = {f"test_{k}": v for k, v in regression_metrics(data.y_te, pred).items()}
    seconds = time.perf_counter() - start
    with mlflow.start_run(run_name=name, nested=True):
        mlflow.set_tag("candidate", name)
        mlflow.log_params(_scalar_params(model))
        mlflow.log_metrics({**scores, **test, "fit_seconds": seconds})
    return {"model": name, **scores, **test, "seconds": seconds}, pred


def _reference_predictions(
    data: _Split, ground_truth: pd.DataFrame | None
) -> dict[str, np.ndarray]:
    """Held-out predictions of the references: the training mean, and the oracle if known."""
    refs = {"mean_baseline": np.full_like(data.y_te, data.y_tr.mean())}
    if ground_truth is not None:
        gt = (
            ground_truth.set_index("campaign_id")
            .loc[data.table["campaign_id"], "expected_purchases"]
            .to_numpy()
        )
        refs["oracle"] = gt[data.idx_test]
    return refs


def _compare(
    models: dict, data: _Split, ground_truth: pd.DataFrame | None, progress, task
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Score every candidate and the references: the ranked comparison, held-out predictions."""
    rows, test_preds = [], {}
    for name, model in models.items():
        if progress:
            progress.update(task, description=f"comparing candidates: {name}")
        row, test_preds[name] = _score_candidate(name, model, data)
        rows.append(row)
        if progress:
            progress.advance(task)
    for name, pred in _reference_predictions(data, ground_truth).items():
        test_preds[name] = pred
        rows.append(
            {
                "model": name,
                **{f"test_{k}": v for k, v in regression_metrics(data.y_te, pred).items()},
            }
        )
    # Ranked by cross-validated RMSE, steadier than one held-out split; references last.
    comparison = (
        pd.DataFrame(rows)
        .sort_values(["cv_rmse_mean", "test_rmse"], kind="stable", na_position="last")
        .reset_index(drop=True)
    )
    return comparison, test_preds


def _ranked(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison's candidates, best first, without the references."""
    return comparison[~comparison["model"].isin(["mean_baseline", "oracle"])]


def _calibrate(model, data: _Split, seed: int, difficulty: PlanDifficulty) -> tuple[dict, dict]:
    """Interval calibrations on the out-of-fold residuals of ``model`` over all campaigns: the
    plan-aware one (served) and the earlier by-size one (for comparison)."""
    oof = out_of_fold(model, data.X, data.y, seed, data.repeats)
    return calibrate(data.y, oof, difficulty=difficulty), calibrate(data.y, oof)


def _pick_alternative(
    comparison: pd.DataFrame,
    models: dict,
    plain,
    data: _Split,
    seed: int,
    quick: bool,
    difficulty: PlanDifficulty,
    progress,
    task,
) -> Alternative:
    """The best nonlinear candidate, refit on all campaigns, with its own calibration."""
    ranked = _ranked(comparison)
    alt_name = ranked[ranked["model"].isin(ALTERNATIVE_CANDIDATES)].iloc[0]["model"]
    if progress:
        progress.update(task, description=f"calibrating the alternative: {alt_name}")
    calibration, by_size = _calibrate(models[alt_name], data, seed, difficulty)
    return Alternative(
        candidate=alt_name,
        model=candidates(seed, plain, quick=quick)[alt_name].fit(data.X, data.y),
        calibration=calibration,
        metrics=_row_metrics(comparison, alt_name),
        by_size=by_size,
    )


def _summary_metrics(comparison: pd.DataFrame, n_campaigns: int) -> dict:
    """The served model's figures, the best candidate, and the references' held-out RMSE."""
    by_model = comparison.set_index("model")
    metrics = {
        "served": _row_metrics(comparison, SERVED_NAME),
        "best_candidate": _ranked(comparison).iloc[0]["model"],
        "baseline_test_rmse": float(by_model.loc["mean_baseline", "test_rmse"]),
        "n_campaigns": n_campaigns,
    }
    if "oracle" in by_model.index:
        metrics["oracle_test_rmse"] = float(by_model.loc["oracle", "test_rmse"])
    return metrics


def _log_reports(
    comparison: pd.DataFrame,
    data: _Split,
    test_preds: dict[str, np.ndarray],
    best_candidate: str,
    reports_dir: Path | None,
) -> None:
    """Write the reports (served and best candidate on the held-out split) and log them."""
    import mlflow

    test_frame = pd.DataFrame(
        {"campaign_id": data.table["campaign_id"].to_numpy()[data.idx_test], "actual": data.y_te}
    )
    for name in (SERVED_NAME, best_candidate):
        test_frame[name] = test_preds[name]
    with tempfile.TemporaryDirectory() as tmp:
        for path in write_reports(comparison, test_frame, Path(reports_dir or tmp)):
            mlflow.log_artifact(str(path))


def train(
    table: pd.DataFrame,
    seed: int = config.SEED,
    quick: bool = False,
    ground_truth: pd.DataFrame | None = None,
    progress=None,
    reports_dir: Path | None = None,
) -> TrainResult:
    """Tune the served model, compare all candidates in MLflow, and calibrate the interval.

    ``table`` is the campaign table; ``ground_truth`` (optional) holds ``expected_purchases``
    to report the oracle on the held-out split. ``progress`` is a rich Progress or None.
    Reports go to ``reports_dir`` (a temporary folder if None) and to the parent MLflow run.
    """
    import mlflow

    data = _split(table, seed, quick)
    mutual_info = memoized_mutual_info()
    best = _tune(data, seed, mutual_info, progress)
    tuned = served_model(k=best["k"], alpha=best["alpha"], seed=seed, mutual_info=mutual_info)

    models = candidates(seed, tuned, quick=quick)
    mlflow.set_experiment(experiment_name(mlflow.get_tracking_uri()))
    task = progress.add_task("comparing candidates", total=len(models)) if progress else None
    with mlflow.start_run(run_name=f"compare-seed{seed}{'-quick' if quick else ''}") as parent:
        mlflow.log_params(
            {
                "seed": seed,
                "quick": quick,
                "n_campaigns": len(table),
                "cv": f"RepeatedKFold({config.CV_SPLITS}x{data.repeats})",
                "served_k": best["k"],
                "served_alpha": best["alpha"],
            }
        )
        comparison, test_preds = _compare(models, data, ground_truth, progress, task)
        # Interval: out-of-fold residuals of the served configuration over all campaigns.
        points, difficulty = training_points(data.X)
        calibration, by_size = _calibrate(tuned, data, seed, difficulty)
        # Exported models use scikit-learn's own mutual-information scorer (same scores).
        plain = served_model(k=best["k"], alpha=best["alpha"], seed=seed)
        final = clone(plain).fit(data.X, data.y)
        alternative = _pick_alternative(
            comparison, models, plain, data, seed, quick, difficulty, progress, task
        )
        metrics = _summary_metrics(comparison, len(table))
        mlflow.log_metrics({f"served_{k}": v for k, v in metrics["served"].items()})
        _log_reports(comparison, data, test_preds, metrics["best_candidate"], reports_dir)
        metrics["mlflow_run_id"] = parent.info.run_id
    if progress:
        progress.update(task, description="comparing candidates: done")

    return TrainResult(
        model=final,
        best_params=best,
        calibration=calibration,
        fingerprint=fingerprint(table),
        training_range=feature_range(data.X),
        comparison=comparison,
        metrics=metrics,
        alternative=alternative,
        points=points,
        by_size=by_size,
    )


def training_points(X: pd.DataFrame) -> tuple[TrainingPoints, PlanDifficulty]:
    """The training campaigns' inputs, as the plan-aware range measures distances to them, and
    each campaign's own difficulty (its distance to the others: it is not its own neighbour)."""
    points = TrainingPoints(FEATURE_COLUMNS, LOG_COLUMNS, X[FEATURE_COLUMNS].to_numpy(dtype=float))
    distance = points.distance(X, NEIGHBOURS, skip_self=True)
    return points, PlanDifficulty(distance, X["num_ads"].to_numpy(dtype=float))


def out_of_fold(model, X: pd.DataFrame, y: np.ndarray, seed: int, repeats: int) -> np.ndarray:
    """Out-of-fold predictions of ``model`` for every campaign, ``repeats`` times: (repeats, n)."""
    return np.stack(
        [
            cross_val_predict(
                model, X, y, cv=KFold(config.CV_SPLITS, shuffle=True, random_state=seed + r)
            )
            for r in range(repeats)
        ]
    )


def _row_metrics(comparison: pd.DataFrame, name: str) -> dict[str, float]:
    """The comparison's figures for candidate ``name`` (CV and held-out), without timings."""
    row = comparison.set_index("model").loc[name]
    return {k: float(row[k]) for k in row.index if k != "seconds" and pd.notna(row[k])}


def comparison_markdown(comparison: pd.DataFrame) -> str:
    """The comparison as a markdown table with mean ± sd cells."""
    lines = [
        "| model | CV RMSE | CV MAE | CV R² | test RMSE | test MAE | test R² |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in comparison.itertuples(index=False):
        cells = []
        for m in ("rmse", "mae", "r2"):
            mean, sd = getattr(row, f"cv_{m}_mean", np.nan), getattr(row, f"cv_{m}_sd", np.nan)
            cells.append("–" if pd.isna(mean) else f"{mean:.3f} ± {sd:.3f}")
        cells += [f"{getattr(row, f'test_{m}'):.3f}" for m in ("rmse", "mae", "r2")]
        lines.append(f"| {row.model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_reports(comparison: pd.DataFrame, test_frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Comparison table (markdown, CSV) and predicted-vs-actual and residual plots (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "comparison.md"
    md.write_text(comparison_markdown(comparison), encoding="utf-8")
    csv = out_dir / "comparison.csv"
    comparison.to_csv(csv, index=False, float_format="%.6g", lineterminator="\n")
    model_cols = [c for c in test_frame.columns if c not in ("campaign_id", "actual")]
    actual = test_frame["actual"].to_numpy()

    fig, axes = plt.subplots(1, len(model_cols), figsize=(5.5 * len(model_cols), 5), squeeze=False)
    hi = max(actual.max(), max(test_frame[c].max() for c in model_cols)) * 1.05
    for ax, col in zip(axes[0], model_cols, strict=True):
        ax.scatter(actual, test_frame[col], s=12, alpha=0.6)
        ax.plot([0, hi], [0, hi], color="grey", lw=1, ls="--")
        ax.set(
            title=f"{col}: predicted vs actual",
            xlabel="actual purchases",
            ylabel="predicted purchases",
        )
    fig.tight_layout()
    pva = out_dir / "pred_vs_actual.png"
    fig.savefig(pva, dpi=110, metadata={"Software": None})
    plt.close(fig)

    fig, axes = plt.subplots(
        1, len(model_cols), figsize=(5.5 * len(model_cols), 4.5), squeeze=False
    )
    for ax, col in zip(axes[0], model_cols, strict=True):
        pred = test_frame[col].to_numpy()
        ax.scatter(pred, actual - pred, s=12, alpha=0.6)
        ax.axhline(0, color="grey", lw=1, ls="--")
        ax.set(title=f"{col}: residuals", xlabel="predicted purchases", ylabel="actual − predicted")
    fig.tight_layout()
    res = out_dir / "residuals.png"
    fig.savefig(res, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return [md, csv, pva, res]
