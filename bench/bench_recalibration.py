"""Recalibration on a simulated marketer whose campaigns differ from the training data.

    python -m bench.bench_recalibration [--campaigns 2000] [--outcomes 50] [--repeats 200]
                                        [--model-dir model] [--seed 11]

For each marketer (40% more purchases at the same plan; twice the creative-quality noise; and,
as a control, one like the training data), ``--campaigns`` campaigns are generated. Before: the
base bundle's 90% coverage on all of them (none was used to fit it). After: ``--repeats`` times,
``--outcomes`` campaigns are drawn as the recorded outcomes, the range is recalibrated on them
(training.recalibrate.fit, the code behind ``python -m training recalibrate``), with and without
the level correction, and the 90% coverage and width are measured on the other campaigns. Prints
numbers only; the bar (coverage within 0.85–0.95) is reported, not asserted.

Then the whole path once per marketer: the first ``--outcomes`` campaigns written to a CSV,
``python -m training recalibrate``'s code writes the bundle, and that bundle, loaded as the app
loads it, is measured on the other campaigns.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS
from predictor.planning.batch_scoring import feature_values
from predictor.serving.bundle import load_bundle
from predictor.serving.model_code.interval import bounds_from_half, quantile_for
from training.marketer import marketer_outcomes
from training.recalibrate import corrected, fit
from training.recalibration_bundle import base_spread

MARKETERS = {
    "40% more purchases": {"more": 1.4},
    "twice the noise": {"noise": 2.0},
    "like the training data": {},
}
LEVEL = 0.9


def measure(args: argparse.Namespace) -> list[tuple[str, ...]]:
    """One row per marketer: before, and after (plain and level-corrected) on the others."""
    bundle = load_bundle(args.model_dir)
    rows = []
    for i, (label, change) in enumerate(MARKETERS.items()):
        outcomes = marketer_outcomes(args.campaigns, args.seed + i, **change)
        plans = outcomes.drop(columns="actual_purchases").astype(float)
        features = np.asarray(feature_values(plans))
        pred = np.asarray(bundle.predict_points(pd.DataFrame(features, columns=FEATURE_COLUMNS)))
        y = outcomes["actual_purchases"].to_numpy(dtype=float)
        frame = pd.DataFrame(features, columns=FEATURE_COLUMNS)
        spread = base_spread(bundle, frame)
        lo, hi = bundle.ranges.bounds(pred, frame, LEVEL)
        before = float(np.mean((y >= lo) & (y <= hi)))
        base_width = float(np.mean(hi - lo))
        rng = np.random.default_rng(args.seed)
        after: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(args.repeats):
            drawn = np.zeros(len(y), dtype=bool)
            drawn[rng.choice(len(y), args.outcomes, replace=False)] = True
            held = np.flatnonzero(~drawn)
            for correct in (False, True):
                one = fit(y[drawn], pred[drawn], spread, [LEVEL], correct, np.flatnonzero(drawn))
                points = corrected(pred[~drawn], one.factor) if correct else pred[~drawn]
                half = quantile_for(one.calibration, LEVEL) * spread.at(points, held)
                lo, hi = bounds_from_half(points, half)
                others = y[~drawn]
                after[correct].append(
                    (float(np.mean((others >= lo) & (others <= hi))), float(np.mean(hi - lo)))
                )
        for correct in (False, True):
            cov = np.array([c for c, _ in after[correct]])
            width = statistics.median(w for _, w in after[correct])
            rows.append(
                (
                    label,
                    "with level factor" if correct else "range only",
                    f"{before:.1%}",
                    f"{np.median(cov):.1%} ({np.percentile(cov, 5):.1%}–{np.percentile(cov, 95):.1%})",
                    f"{np.mean((cov >= 0.85) & (cov <= 0.95)):.0%}",
                    f"{base_width:.1f} -> {width:.1f}",
                )
            )
    return rows


def whole_path(args: argparse.Namespace) -> list[tuple[str, ...]]:
    """Per marketer: recalibrate a written bundle on the first outcomes, serve it, measure it."""
    import tempfile

    from predictor.serving.predictor import Predictor
    from predictor.serving.settings import PredictorConfig
    from training.recalibrate import Options
    from training.recalibration_bundle import recalibrate_bundle

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, change) in enumerate(MARKETERS.items()):
            outcomes = marketer_outcomes(args.campaigns, args.seed + i, **change)
            first, others = outcomes.iloc[: args.outcomes], outcomes.iloc[args.outcomes :]
            path = Path(tmp) / f"outcomes-{i}.csv"
            first.to_csv(path, index=False)
            for correct in (False, True):
                out = Path(tmp) / f"bundle-{i}-{correct}"
                options = Options(str(path), args.model_dir, out=out, correct_level=correct)
                result = recalibrate_bundle(options)
                served = Predictor(PredictorConfig(trust_bundle=True), model_dir=out)
                plans = others.drop(columns="actual_purchases").astype(float)
                features = pd.DataFrame(feature_values(plans), columns=FEATURE_COLUMNS)
                scored = served.predict_frame(features, LEVEL)
                y = others["actual_purchases"].to_numpy()
                inside = (y >= scored["lower"].to_numpy()) & (y <= scored["upper"].to_numpy())
                held = result.held_out[LEVEL]
                rows.append(
                    (
                        label,
                        "with level factor" if correct else "range only",
                        f"{held.inside} of {held.n} ({held.share:.0%})",
                        f"{inside.mean():.1%} of {len(y):,}",
                    )
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--campaigns", type=int, default=2000)
    parser.add_argument("--outcomes", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"90% coverage: base range, then recalibrated on {args.outcomes} outcomes "
        f"({args.repeats} draws; {args.campaigns} campaigns per marketer)"
    )
    for column in (
        "marketer",
        "recalibration",
        "before, all campaigns",
        "after, other campaigns: median (5–95th pct)",
        "draws in 0.85–0.95",
        "mean 90% width before -> after",
    ):
        table.add_column(column)
    for row in measure(args):
        table.add_row(*row)
    console = Console(width=200)
    console.print(table)
    path_table = Table(
        title=f"The whole path, one draw: recalibrate on the first {args.outcomes}, serve, measure"
    )
    for column in (
        "marketer",
        "recalibration",
        "held-out (10-fold) in the card",
        "served 90% coverage, others",
    ):
        path_table.add_column(column)
    for row in whole_path(args):
        path_table.add_row(*row)
    console.print(path_table)


if __name__ == "__main__":
    main()
