"""Command line: ``python -m training COMMAND``; every command is named, none is implied.

Commands: ``train``, ``generate``, ``aggregate``, ``evaluate``, ``pin``, ``recalibrate``,
``publish-databricks``, ``publish-space``. Parsing only: the work is in :mod:`training.pipeline`,
:mod:`training.export` and :mod:`training.publish`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from predictor.serving.bundle import DEFAULT_MODEL_DIR
from training import config
from training.arguments import add_command, from_args


def _option(*flags: str, **kwargs) -> argparse.ArgumentParser:
    """A parent parser holding one option, so that commands share its definition."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(*flags, **kwargs)
    return parent


def _sample(
    seed: int, seed_help: str, campaigns: int | None, campaigns_help: str
) -> argparse.ArgumentParser:
    """A parent parser with ``--seed`` and ``--campaigns``: the synthetic campaigns a command draws."""
    parent = _option("--seed", type=int, default=seed, help=f"{seed_help} (default %(default)s)")
    parent.add_argument("--campaigns", type=int, default=campaigns, help=campaigns_help)
    return parent


MODEL_DIR = _option(
    "--model-dir",
    type=Path,
    default=DEFAULT_MODEL_DIR,
    help="the bundle folder (default %(default)s)",
)
ENGINE = _option(
    "--engine",
    choices=("pandas", "spark"),
    default="pandas",
    help="aggregate the event log on this machine (pandas, streamed) or with Spark (the active "
    "session, else local[2]; needs Java) (default %(default)s)",
)
DATA_DIR_HELP = "folder with the campaigns, ads and ad_events tables (CSV, Parquet or Delta)"


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m training`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Generate or load ad logs, compare models in MLflow, export and publish bundles.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    _add_train(sub)

    generated = _sample(
        config.SEED,
        "random seed",
        config.DEFAULT_CAMPAIGNS,
        "number of campaigns (default %(default)s)",
    )
    gen = add_command(
        sub,
        "generate",
        "only generate synthetic data in the dataset's schema",
        cmd_generate,
        generated,
    )
    gen.add_argument(
        "--out", type=Path, default=config.SYNTHETIC_DIR, help="output folder (default %(default)s)"
    )

    agg = add_command(
        sub, "aggregate", "write the one-row-per-campaign table", cmd_aggregate, ENGINE
    )
    agg.add_argument("--data-dir", type=Path, required=True, help=DATA_DIR_HELP)
    agg.add_argument("--out", type=Path, required=True, help="output CSV file")

    fresh = _sample(
        config.EVAL_SEED,
        "seed of the fresh campaigns",
        config.EVAL_CAMPAIGNS,
        "number of fresh campaigns (default %(default)s)",
    )
    help_text = "measure the accuracy, coverage and width bars of a bundle"
    add_command(sub, "evaluate", help_text, cmd_evaluate, fresh, MODEL_DIR)
    pin_help = (
        "pin the bundles under --model-dir as the ones the app serves (after retraining them on "
        "purpose; train does it itself when it writes model/)"
    )
    add_command(sub, "pin", pin_help, cmd_pin, MODEL_DIR)
    _recalibrate_parser(sub)

    from training.publish import add_subcommands

    add_subcommands(sub)
    return parser


def _add_train(sub: Any) -> None:
    """The ``train`` command and its options."""
    train = add_command(
        sub,
        "train",
        "generate (or load) data, compare models, calibrate, export and evaluate the bundle",
        cmd_train,
        _sample(
            config.SEED,
            "random seed of the data, the folds and the models",
            None,
            f"synthetic campaigns to generate (default {config.DEFAULT_CAMPAIGNS}; "
            f"--quick {config.QUICK_CAMPAIGNS})",
        ),
        MODEL_DIR,
        ENGINE,
    )
    train.add_argument(
        "--data-dir", type=Path, help=f"train on real data: {DATA_DIR_HELP} (default: synthetic)"
    )
    train.add_argument(
        "--quick", action="store_true", help="a small, fast run (fewer campaigns, one CV repeat)"
    )
    train.add_argument(
        "--reports-dir",
        type=Path,
        default=config.REPORTS_DIR,
        help="comparison table and plots (default %(default)s)",
    )
    train.add_argument(
        "--synthetic-dir",
        type=Path,
        default=config.SYNTHETIC_DIR,
        help="where generated data goes (default %(default)s)",
    )
    train.add_argument(
        "--no-evaluate", action="store_true", help="skip measuring the bars on fresh campaigns"
    )


def _levels(text: str) -> tuple[float, ...]:
    try:
        levels = tuple(sorted({float(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 0.8,0.9,0.95") from None
    if not levels or not all(0 < lv < 1 for lv in levels):
        raise argparse.ArgumentTypeError("levels are shares between 0 and 1, like 0.8,0.9,0.95")
    return levels


def _recalibrate_parser(sub: argparse._SubParsersAction) -> None:
    rec = sub.add_parser(
        "recalibrate",
        parents=[MODEL_DIR],
        help="recalibrate a bundle's range on your own outcomes; write it as a new bundle",
        description=(
            "The same fitted model with its range recalibrated (same conformal method) on "
            "outcomes: campaigns that ran, with their actual purchases. Writes a new bundle "
            "(new version, manifest, model card) to MODEL_DIR's alternatives/NAME/, where the "
            "app offers it, and reports coverage on outcomes held out from the fit."
        ),
    )
    rec.add_argument(
        "--outcomes",
        required=True,
        help="a CSV of outcomes (the plan's columns and actual_purchases) or the outcome "
        "store's SQLAlchemy URL (e.g. sqlite:///.scenario_log/scenario_log.sqlite)",
    )
    rec.add_argument("--name", help="the new bundle's name (default: BASE-recalibrated)")
    rec.add_argument("--out", type=Path, help="the new bundle's folder (default: by its name)")
    rec.add_argument(
        "--levels",
        type=_levels,
        default=(0.8, 0.9, 0.95),
        help="range levels to calibrate (default 0.8,0.9,0.95; 95%% needs 19 outcomes)",
    )
    rec.add_argument(
        "--correct-level",
        action="store_true",
        help="also fit one multiplicative factor on the answers (the median actual/predicted)",
    )
    rec.add_argument("--folds", type=int, default=10, help="cross-validation folds (default 10)")
    rec.add_argument("--seed", type=int, default=0, help="seed of the folds (default 0)")
    rec.set_defaults(func=cmd_recalibrate)


def cmd_recalibrate(args: argparse.Namespace) -> int:
    """Recalibrate a bundle on outcomes and write the new bundle."""
    from predictor.record.log_rows import masked_url
    from training.recalibrate import Options
    from training.recalibration_bundle import recalibrate_bundle, summary

    options = Options(
        outcomes=args.outcomes,
        model_dir=args.model_dir,
        out=args.out,
        name=args.name,
        levels=args.levels,
        correct_level=args.correct_level,
        folds=_positive(args.folds, "--folds"),
        seed=args.seed,
    )
    # The card says how the bundle was built; a store URL's password stays out of it.
    shown = [
        a.replace(args.outcomes, masked_url(args.outcomes)) if "://" in args.outcomes else a
        for a in sys.argv[1:]
    ]
    print(summary(recalibrate_bundle(options, ["python -m training", *shown])))
    return 0


def _positive(n: int | None, flag: str) -> int:
    if n is None or n < 1:
        raise SystemExit(f"error: {flag} must be a whole number of at least 1 (got {n})")
    return n


def cmd_train(args: argparse.Namespace) -> int:
    """Generate or load data, compare, calibrate, export, evaluate."""
    from training.pipeline import TrainOptions, run_training

    outcome = run_training(from_args(TrainOptions, args, evaluate=not args.no_evaluate))
    for path, evaluation in (
        (outcome.model_dir, outcome.evaluation),
        (outcome.alternative_dir, outcome.alternative_evaluation),
    ):
        if evaluation:
            print(f"{path}:")
            _print_evaluation(evaluation)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate synthetic CSV files."""
    from training.pipeline import generate_data

    out = generate_data(_positive(args.campaigns, "--campaigns"), args.seed, args.out)
    print(f"wrote {args.campaigns} campaigns (seed {args.seed}) to {out}/")
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    """Aggregate CSV files to the campaign table."""
    from training.pipeline import aggregate_data

    n, path = aggregate_data(args.data_dir, args.out, engine=args.engine)
    print(f"wrote {n} campaigns to {path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a saved bundle on fresh synthetic campaigns."""
    from predictor.serving.settings import trust_bundle_from_env
    from training.evaluate import bars_met
    from training.pipeline import evaluate_bundle

    campaigns = _positive(args.campaigns, "--campaigns")
    ev = evaluate_bundle(args.model_dir, args.seed, campaigns, trust_bundle_from_env())
    _print_evaluation(ev)
    return 0 if all(bars_met(ev).values()) else 1


def cmd_pin(args: argparse.Namespace) -> int:
    """Pin the bundles under ``--model-dir`` in predictor/serving/bundle_pins.py."""
    from predictor.serving.bundle_trust import PIN_FILE
    from training.export import pin_bundles

    for name, digest in pin_bundles(args.model_dir).items():
        print(f"pinned {name}: manifest SHA-256 {digest}")
    print(f"wrote {PIN_FILE}")
    return 0


def _print_evaluation(ev: dict) -> None:
    from training.evaluate import bars_met

    print(json.dumps(ev, indent=2))
    for bar, ok in bars_met(ev).items():
        print(f"{'PASS' if ok else 'FAIL'}  {bar}")


def main(argv: list[str] | None = None) -> int:
    """Entry point; data and bundle errors are reported as one clear line, not a traceback."""
    from predictor.planning.batch_scoring import BatchError
    from predictor.record.outcomes import OutcomeStoreError
    from predictor.serving.bundle import BundleError
    from predictor.serving.settings import ConfigError
    from training.data import DataError
    from training.pipeline import PipelineError
    from training.recalibrate import RecalibrationError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (
        DataError,
        BundleError,
        PipelineError,
        ConfigError,
        RecalibrationError,
        BatchError,
        OutcomeStoreError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
