"""The model cards (``README.md`` of each bundle), written from what a training run measured."""

from __future__ import annotations

import pandas as pd

from predictor.serving.bundle import BundleMetadata
from predictor.serving.model_choice import model_dir
from training import config
from training.models import ALTERNATIVE_CANDIDATES, DISPLAY_NAMES, SERVED_NAME, selected_features


def _row(comparison: pd.DataFrame, name: str) -> str:
    r = comparison.set_index("model").loc[name]
    cv = "–" if pd.isna(r["cv_rmse_mean"]) else f"{r['cv_rmse_mean']:.2f} ± {r['cv_rmse_sd']:.2f}"
    return f"| {name} | {cv} | {r['test_rmse']:.2f} | {r['test_mae']:.2f} | {r['test_r2']:.3f} |"


def _ridge_model(result) -> list[str]:
    coefs = [
        f"| {name} | {coef:+.4f} |"
        for name, coef in sorted(selected_features(result.model), key=lambda t: -abs(t[1]))
    ]
    return [
        "Ridge regression on `log1p(purchases)`, after standardization and SelectKBest",
        "(mutual information). Budget, duration, number of ads and number of interests enter as",
        f"`log1p` of their values. Cross-validation chose k = {result.best_params['k']} and "
        f"alpha = {result.best_params['alpha']}. The served model is refit on all "
        f"{result.metrics['n_campaigns']} campaigns.",
        "",
        "## Coefficients of the selected features (standardized, log-purchase scale)",
        "",
        "| feature | coefficient |",
        "|---|---|",
        *coefs,
        "",
    ]


def _alternative_model(result, metadata: BundleMetadata) -> list[str]:
    params = result.alternative.model.get_params()
    if metadata.candidate == "voting":
        members = ", ".join(
            f"{name} ({type(est).__name__}"
            + (f", {est.n_estimators} trees" if hasattr(est, "n_estimators") else "")
            + ")"
            for name, est in params["estimators"]
        )
        what = (
            "The average of three regressors (scikit-learn `VotingRegressor`): the Ridge +",
            "SelectKBest pipeline of the main bundle (`model/`), gradient boosting and a random",
            f"forest, each on the 19 features: {members}.",
        )
    else:
        what = (
            "Gradient-boosted regression trees (scikit-learn `GradientBoostingRegressor`):",
            f"{params['n_estimators']} trees of depth {params['max_depth']}, learning rate "
            f"{params['learning_rate']}, subsample {params['subsample']}.",
        )
    return [
        *what,
        "It is the nonlinear candidate ("
        + " or ".join(f"`{c}`" for c in ALTERNATIVE_CANDIDATES)
        + ") with the lowest cross-validated RMSE,",
        f"refit on all {result.metrics['n_campaigns']} campaigns. The served default is the Ridge",
        "model in `model/`; this bundle is the alternative a planner may choose instead.",
        "",
    ]


def comparison_section(entries: list[tuple[BundleMetadata, dict]]) -> list[str]:
    """Both served models measured on the same new campaigns, side by side."""
    ev0 = entries[0][1]
    rows = [
        f"| {meta.display_name} | `{model_dir(meta.name).as_posix()}/` | {ev['rmse']:.2f} | "
        f"{ev['rmse_ratio']:.3f} | {ev['coverage']['0.9']:.1%} | "
        + ", ".join(f"{c:.1%}" for c in ev["coverage_90_by_third"])
        + f" | {_pcts(ev.get('coverage_90_by_distance_fifth', [])) or '–'}"
        + f" | {ev['mean_width_90']:.1f} |"
        for meta, ev in entries
    ]
    return [
        "## The served models compared",
        "",
        f"On the same {ev0['n_campaigns']} new campaigns (seed {ev0['seed']}, not used in training);",
        f"the oracle's RMSE on them is {ev0['oracle_rmse']:.2f}. Each row is measured by",
        "`python -m training evaluate --model-dir BUNDLE`.",
        "",
        "| model | bundle | RMSE | RMSE ÷ oracle (≤ 1.15) | 90% coverage (88–92%) | "
        "by third of predicted size (each 85–95%) | by fifth of distance to the training "
        "campaigns (each 88–92%) | mean 90% width |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _introduction(metadata: BundleMetadata, command: str, ridge: bool) -> list[str]:
    """Title, version and provenance, and what the model predicts."""
    return [
        "# Model card: campaign purchases"
        + ("" if ridge else f", {DISPLAY_NAMES[metadata.candidate]}"),
        "",
        f"Version {metadata.model_version}, created {metadata.created_at}, seed {metadata.seed}, "
        f"training data fingerprint `{metadata.data_fingerprint[:16]}…`. Built by `{command}`.",
        "",
        "## What it predicts",
        "",
        "The number of purchases a social media ad campaign brings, from its planned set-up: the 19",
        "campaign features of `predictor.contract.features.FEATURE_COLUMNS` (duration, budget, start and end",
        "month, number of ads and of unique interests, and ad counts per platform, format, target",
        "gender and target age group). Each answer comes with a prediction interval: served as an",
        "MLflow pyfunc (`mlflow models serve -m BUNDLE`), the bundle answers",
        '`{"predictions": [{"prediction": 44.5, "lower_80": 28, "upper_80": 61, "lower_90": 22, ...}]}`,',
        "one record per campaign, with the whole-number bounds of every calibrated level.",
        "",
    ]


def _metrics_section(result, metadata: BundleMetadata) -> list[str]:
    """This model, the served one, the best candidate and the references, CV and held-out."""
    comp = result.comparison
    names = list(dict.fromkeys([metadata.candidate, SERVED_NAME, result.metrics["best_candidate"]]))
    names.append("mean_baseline")
    if "oracle" in set(comp["model"]):
        names.append("oracle")
    return [
        "## Metrics",
        "",
        "Repeated K-fold cross-validation on 80% of the campaigns (RMSE mean ± sd over folds), and",
        "the held-out 20%. The best candidate is the one with the lowest cross-validated RMSE.",
        "",
        "| model | CV RMSE | test RMSE | test MAE | test R² |",
        "|---|---|---|---|---|",
        *[_row(comp, n) for n in names],
        "",
        "`oracle` is the generator's `expected_purchases`: the best any model of the planner's",
        "inputs can do. The full comparison of all candidates (repeated K-fold mean ± sd) is in",
        "`reports/comparison.md` after a run, and in the MLflow parent run's artifacts.",
        "",
    ]


def _interval_section(cal: dict) -> list[str]:
    """How the range is built, with the calibrated numbers."""
    levels = ", ".join(f"{float(k):.0%} (q = {v:.3f})" for k, v in cal["quantiles"].items())
    fitted = (
        f"calibrated on the out-of-fold residuals of {cal['n_calibration']} campaigns "
        f"({cal['oof_repeats']} repeats of {config.CV_SPLITS}-fold), with the finite-sample "
        f"correction. Levels: {levels}. Bounds are whole numbers and never below 0."
    )
    scale = cal["scale"]
    if "difficulty" not in cal:
        return [
            "## Prediction interval",
            "",
            "Normalized split-conformal: the spread of residuals at a predicted count p is "
            f"modelled as `(p + {scale['offset']:g}) ^ {scale['power']:.3f}` (the power that covers "
            f"small and large campaigns alike), and the quantiles of the scaled residuals are {fitted}",
            "",
        ]
    terms = cal["difficulty"]
    c1, c2 = terms["distance_terms"]
    low, high = terms["distance_clip"]
    return [
        "## Prediction interval",
        "",
        "Plan-aware normalized split-conformal: the range of a plan x is `p ± q · s(x)` with",
        f"`s(x) = (p + 1) ^ {scale['power']:.3f} · (ads + 1) ^ {terms['ads_power']:.3f} · "
        f"exp({c1:.3f} · u + {c2:.3f} · u²)`, where p is the prediction and u the log of the",
        f"plan's mean distance to its {terms['neighbours']} nearest training campaigns (inputs as",
        "the model sees them: budget, duration, ads and interests in log1p, then standardized),",
        f"held within [{low:.3f}, {high:.3f}] so that a more unusual plan never gets a narrower",
        "range. The scale is a linear quantile regression (the 90% quantile of",
        "log(|residual| + 0.5)) on those terms; each calibration campaign's distance is to the",
        "other training campaigns. A plan with few ads (whose creative quality does not average",
        "out) or far from the training campaigns gets a wider range than its size alone says.",
        f"The quantiles of the scaled residuals are {fitted} The training campaigns' inputs",
        "travel with the bundle in `difficulty.json` (plain JSON: plan inputs, no purchases).",
        "",
    ]


def _evaluation_section(ev: dict, metadata: BundleMetadata, ridge: bool) -> list[str]:
    """The bars measured on new campaigns, and the by-size range of the same model beside."""
    lines = [
        f"### Measured on {ev['n_campaigns']} new campaigns (seed {ev['seed']}, not used in training)",
        "",
        "Measured by `python -m training evaluate"
        + ("" if ridge else f" --model-dir {model_dir(metadata.name).as_posix()}")
        + "`.",
        "",
        "| figure | value | bar |",
        "|---|---|---|",
        f"| RMSE, served model | {ev['rmse']:.2f} | |",
        f"| RMSE, oracle | {ev['oracle_rmse']:.2f} | |",
        f"| RMSE ratio | {ev['rmse_ratio']:.3f} | ≤ 1.15 |",
        *[
            f"| coverage of the {float(k):.0%} interval | {v:.1%} | {'88–92%' if k == '0.9' else ''} |"
            for k, v in ev["coverage"].items()
        ],
        "| 90% coverage by third of predicted size (small, middle, large) | "
        + _pcts(ev["coverage_90_by_third"])
        + " | each 85–95% |",
    ]
    if "coverage_90_by_distance_fifth" in ev:
        lines += [
            "| 90% coverage by fifth of distance to the training campaigns (most common to most "
            "unusual) | " + _pcts(ev["coverage_90_by_distance_fifth"]) + " | each 88–92% |",
            "| mean distance by fifth | "
            + ", ".join(f"{d:.2f}" for d in ev["mean_distance_by_fifth"])
            + " | |",
            "| mean 90% width by fifth of distance | "
            + ", ".join(f"{w:.1f}" for w in ev["mean_width_90_by_distance_fifth"])
            + " | |",
        ]
    lines += [
        "| mean 90% width by third | "
        + ", ".join(f"{w:.1f}" for w in ev["mean_width_90_by_third"])
        + " | grows with size |",
        f"| mean 90% width, served model | {ev['mean_width_90']:.2f} | |",
        f"| mean 90% width, oracle (same method) | {ev['oracle_mean_width_90']:.2f} | |",
        f"| width ratio | {ev['width_ratio']:.3f} | ≤ 1.3 |",
        "",
    ]
    if "by_size" in ev and "coverage_90_by_distance_fifth" in ev:
        size = ev["by_size"]
        lines += [
            "The same model with the earlier range by size alone (`(p + 1) ^ g`, calibrated on",
            "the same residuals), on the same campaigns:",
            "",
            "| range | 90% coverage | by third of size | by fifth of distance | mean 90% width |",
            "|---|---|---|---|---|",
            f"| plan-aware (served) | {ev['coverage']['0.9']:.1%} | "
            f"{_pcts(ev['coverage_90_by_third'])} | "
            f"{_pcts(ev['coverage_90_by_distance_fifth'])} | {ev['mean_width_90_all']:.1f} |",
            f"| by size (earlier) | {size['coverage_90']:.1%} | "
            f"{_pcts(size['coverage_90_by_third'])} | "
            f"{_pcts(size['coverage_90_by_distance_fifth'])} | {size['mean_width_90_all']:.1f} |",
            "",
        ]
    return lines


def _pcts(values: list[float]) -> str:
    return ", ".join(f"{c:.1%}" for c in values)


def _limitations(result, synthetic: bool) -> list[str]:
    """What the model does not know, and what it is not for."""
    return [
        "## Limitations",
        "",
        (
            "- Trained on synthetic data of one fictional company, in the schema of the public\n"
            '  "Social Media Advertisement Performance" dataset; real campaigns differ.'
            if synthetic
            else f"- Trained on the {result.metrics['n_campaigns']} campaigns of one data set; other"
            " companies' campaigns may differ."
        ),
        "- The model sees neither product, price nor creative quality; creative quality moves",
        "  purchases a lot, and it is part of the noise here.",
        "- Associations, not causes: the model describes the data, not what a change would cause.",
        "- No seasonality shocks, competitors or platform changes beyond the start-month pattern.",
        "- Limited size: a few hundred campaigns. Best for campaigns similar to the training data;",
        "  the app warns when a plan is outside the training range.",
        "- An educational planning tool, not a forecast to commit budget on.",
        "",
    ]


def model_card(
    result,
    metadata: BundleMetadata,
    evaluation: dict | None,
    command: str,
    synthetic: bool = True,
    comparison: list[str] | None = None,
) -> str:
    """Markdown model card of the Ridge bundle or of the alternative (``metadata.candidate``).

    Metrics, the model (coefficients for Ridge), measured interval coverage, ``comparison`` (see
    :func:`comparison_section`) and limitations.
    """
    ridge = metadata.candidate == SERVED_NAME
    lines = [
        *_introduction(metadata, command, ridge),
        "## Model",
        "",
        *(_ridge_model(result) if ridge else _alternative_model(result, metadata)),
        *_metrics_section(result, metadata),
        *_interval_section(metadata.interval),
        *(_evaluation_section(evaluation, metadata, ridge) if evaluation else []),
        "The interval promises coverage on average over campaigns like the training data: about 9 in",
        "10 campaigns land inside a 90% range. It does not promise it for any one campaign, nor for",
        "plans outside the training range, and it does not account for changes the data never saw.",
        "",
        *(comparison or []),
        *_limitations(result, synthetic),
    ]
    return "\n".join(lines)
