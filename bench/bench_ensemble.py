"""What the voting ensemble's trees buy: accuracy against scoring time. Prints; asserts nothing.

    python -m bench.bench_ensemble [--rows 100000] [--seed 2026] [--campaigns 3000]

The alternative bundle averages Ridge, gradient boosting and a random forest. Without retraining,
smaller forests are read off the shipped one (the mean of its first ``k`` trees is a forest of
``k`` trees), and fewer boosting stages off the shipped boosting (its first ``k`` stages; a model
trained for ``k`` stages would pick a larger learning rate, so that row only bounds the loss).
Each variant is measured on the same fresh campaigns as ``python -m training evaluate``: RMSE
against the oracle's, and 90% coverage with the shipped calibration; and on ``--rows`` plans:
CPU time of the model's own ``predict``, with the random forest's ``n_jobs`` at 1 (as shipped)
and at the machine's CPU count (wall time).
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS, TARGET_COLUMN
from predictor.serving.bundle import ALTERNATIVES_DIR, BOOSTING, load_bundle
from predictor.serving.model_code.interval import interval_bounds
from tests.support.common import MODEL_DIR
from training.evaluate import coverage, fresh_campaigns


def variant(model: object, rf_trees: int | None = None, gbr_stages: int | None = None) -> object:
    """A copy of the voting ensemble with the first ``rf_trees`` trees of its forest and the
    first ``gbr_stages`` stages of its boosting (the shipped model's fitted parts, shared)."""
    ridge, gbr, rf = model.estimators_
    if rf_trees:
        rf = copy.copy(rf)
        rf.estimators_ = rf.estimators_[:rf_trees]
        rf.n_estimators = rf_trees
    if gbr_stages:
        gbr = copy.copy(gbr)
        gbr.estimators_ = gbr.estimators_[:gbr_stages]
        gbr.train_score_ = gbr.train_score_[:gbr_stages]
        gbr.n_estimators = gbr.n_estimators_ = gbr_stages
    out = copy.copy(model)
    out.estimators_ = [ridge, gbr, rf]
    return out


def cpu_seconds(fn: Callable[[], object]) -> tuple[float, float]:
    """CPU and wall seconds of one run of ``fn`` (best of three)."""
    runs = []
    for _ in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        fn()
        runs.append((time.process_time() - cpu, time.perf_counter() - wall))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--campaigns", type=int, default=3000)
    args = parser.parse_args()
    bundle = load_bundle(MODEL_DIR / ALTERNATIVES_DIR / BOOSTING)
    ridge = load_bundle(MODEL_DIR)
    model = bundle.predict_points.__self__
    table, oracle = fresh_campaigns(args.seed, args.campaigns)
    X = table[FEATURE_COLUMNS].astype(float)
    y = table[TARGET_COLUMN].to_numpy(dtype=float)
    oracle_rmse = float(np.sqrt(np.mean((oracle - y) ** 2)))
    rng = np.random.default_rng(0)
    rows = pd.DataFrame(X.to_numpy()[rng.integers(0, len(X), args.rows)], columns=FEATURE_COLUMNS)
    print(
        f"{len(y):,} fresh campaigns (seed {args.seed}); {args.rows:,} rows timed; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print("| variant | RMSE / oracle | 90% coverage | predict CPU | vs Ridge |")
    print("|---|---|---|---|---|")
    ridge_cpu = cpu_seconds(lambda: ridge.predict_points(rows))[0]
    variants = {
        "shipped: 100 boosting stages, 100 forest trees": model,
        "100 stages, 50 trees": variant(model, rf_trees=50),
        "100 stages, 25 trees": variant(model, rf_trees=25),
        "50 stages (first half), 50 trees": variant(model, rf_trees=50, gbr_stages=50),
    }
    for name, m in variants.items():
        pred = m.predict(X)
        rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
        lo, hi = interval_bounds(pred, bundle.metadata.interval, 0.9)
        cpu = cpu_seconds(lambda m=m: m.predict(rows))[0]
        print(
            f"| {name} | {rmse / oracle_rmse:.3f} | {coverage(y, lo, hi):.1%} | "
            f"{cpu:.2f} s | {cpu / ridge_cpu:.1f}x |"
        )
    print(f"| Ridge bundle | | | {ridge_cpu:.2f} s | 1.0x |")
    forest = model.estimators_[2]
    for jobs in (1, os.cpu_count() or 1):
        forest.set_params(n_jobs=jobs)
        cpu, wall = cpu_seconds(lambda: forest.predict(rows))
        print(f"forest alone, n_jobs={jobs}: {cpu:.2f} s CPU, {wall:.2f} s wall")
    forest.set_params(n_jobs=1)


if __name__ == "__main__":
    main()
