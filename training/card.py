"""The model card (model/README.md), written from what a training run measured."""

from __future__ import annotations

import pandas as pd

from predictor.bundle import BundleMetadata
from training import config
from training.models import SERVED_NAME, selected_features


def _row(comparison: pd.DataFrame, name: str) -> str:
    r = comparison.set_index("model").loc[name]
    cv = "–" if pd.isna(r["cv_rmse_mean"]) else f"{r['cv_rmse_mean']:.2f} ± {r['cv_rmse_sd']:.2f}"
    return f"| {name} | {cv} | {r['test_rmse']:.2f} | {r['test_mae']:.2f} | {r['test_r2']:.3f} |"


def model_card(
    result, metadata: BundleMetadata, evaluation: dict | None, command: str, synthetic: bool = True
) -> str:
    """Markdown model card: metrics, coefficients, measured interval coverage, limitations."""
    comp = result.comparison
    best = result.metrics["best_candidate"]
    names = [SERVED_NAME] + ([best] if best != SERVED_NAME else []) + ["mean_baseline"]
    if "oracle" in set(comp["model"]):
        names.append("oracle")
    coefs = "\n".join(
        f"| {name} | {coef:+.4f} |"
        for name, coef in sorted(selected_features(result.model), key=lambda t: -abs(t[1]))
    )
    cal = result.calibration
    lines = [
        "# Model card: campaign purchases",
        "",
        f"Version {metadata.model_version}, created {metadata.created_at}, seed {metadata.seed}, "
        f"training data fingerprint `{metadata.data_fingerprint[:16]}…`. Built by `{command}`.",
        "",
        "## What it predicts",
        "",
        "The number of purchases a social media ad campaign brings, from its planned set-up: the 19",
        "campaign features of `predictor.features.FEATURE_COLUMNS` (duration, budget, start and end",
        "month, number of ads and of unique interests, and ad counts per platform, format, target",
        "gender and target age group). Each answer comes with a prediction interval.",
        "",
        "## Model",
        "",
        "Ridge regression on `log1p(purchases)`, after standardization and SelectKBest",
        "(mutual information). Budget, duration, number of ads and number of interests enter as",
        f"`log1p` of their values. Cross-validation chose k = {result.best_params['k']} and "
        f"alpha = {result.best_params['alpha']}. The served model is refit on all "
        f"{result.metrics['n_campaigns']} campaigns.",
        "",
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
        "## Coefficients of the selected features (standardized, log-purchase scale)",
        "",
        "| feature | coefficient |",
        "|---|---|",
        coefs,
        "",
        "## Prediction interval",
        "",
        "Normalized split-conformal: the spread of residuals at a predicted count p is modelled as",
        f"`(p + {cal['scale']['offset']:g}) ^ {cal['scale']['power']:.3f}` (the power that covers small and large campaigns alike), and the quantiles of",
        f"the scaled residuals are calibrated on the out-of-fold residuals of {cal['n_calibration']} campaigns",
        f"({cal['oof_repeats']} repeats of {config.CV_SPLITS}-fold), with the finite-sample correction. Levels: "
        + ", ".join(f"{float(k):.0%} (q = {v:.3f})" for k, v in cal["quantiles"].items())
        + ". Bounds are whole numbers and never below 0.",
        "",
    ]
    if evaluation:
        ev = evaluation
        lines += [
            f"### Measured on {ev['n_campaigns']} new campaigns (seed {ev['seed']}, not used in training)",
            "",
            "Measured by `python -m training evaluate`.",
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
            + ", ".join(f"{c:.1%}" for c in ev["coverage_90_by_third"])
            + " | each 85–95% |",
            "| mean 90% width by third | "
            + ", ".join(f"{w:.1f}" for w in ev["mean_width_90_by_third"])
            + " | grows with size |",
            f"| mean 90% width, served model | {ev['mean_width_90']:.2f} | |",
            f"| mean 90% width, oracle (same method) | {ev['oracle_mean_width_90']:.2f} | |",
            f"| width ratio | {ev['width_ratio']:.3f} | ≤ 1.3 |",
            "",
        ]
    lines += [
        "The interval promises coverage on average over campaigns like the training data: about 9 in",
        "10 campaigns land inside a 90% range. It does not promise it for any one campaign, nor for",
        "plans outside the training range, and it does not account for changes the data never saw.",
        "",
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
        "- Associations, not causes: the coefficients describe the data, not what a change would cause.",
        "- No seasonality shocks, competitors or platform changes beyond the start-month pattern.",
        "- Limited size: a few hundred campaigns. Best for campaigns similar to the training data;",
        "  the app warns when a plan is outside the training range.",
        "- An educational planning tool, not a forecast to commit budget on.",
        "",
    ]
    return "\n".join(lines)
