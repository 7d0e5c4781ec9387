"""Command line: ``python -m training [options] | generate | aggregate | evaluate | publish-*``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from training import config

# Fewer campaigns cannot fill 5 cross-validation folds and calibrate a 95% interval.
MIN_CAMPAIGNS = 20


def _train_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="train on the CSV files in DIR (default: generate synthetic data)",
    )
    parser.add_argument(
        "--campaigns",
        type=int,
        help=f"synthetic campaigns to generate (default {config.DEFAULT_CAMPAIGNS}; --quick {config.QUICK_CAMPAIGNS})",
    )
    parser.add_argument(
        "--seed", type=int, default=config.SEED, help="random seed (default %(default)s)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small, fast run (fewer campaigns, one CV repeat)"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=config.MODEL_DIR,
        help="where to write the bundle (default %(default)s)",
    )
    parser.add_argument(
        "--reports-dir",
        type=Path,
        default=config.REPORTS_DIR,
        help="comparison table and plots (default %(default)s)",
    )
    parser.add_argument(
        "--synthetic-dir",
        type=Path,
        default=config.SYNTHETIC_DIR,
        help="where generated data goes (default %(default)s)",
    )
    _engine_arg(parser)
    parser.add_argument(
        "--no-evaluate",
        action="store_true",
        help="skip measuring the bars on fresh synthetic campaigns",
    )


def _engine_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("pandas", "spark"),
        default="pandas",
        help="aggregate the event log on this machine (pandas, streamed) or with Spark "
        "(the active session, else local[2]; needs Java) (default %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m training`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Generate or load ad logs, compare models in MLflow, and export the served bundle.",
    )
    _train_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gen = sub.add_parser("generate", help="only generate synthetic data in the dataset's schema")
    gen.add_argument(
        "--out", type=Path, default=config.SYNTHETIC_DIR, help="output folder (default %(default)s)"
    )
    gen.add_argument(
        "--campaigns",
        type=int,
        default=config.DEFAULT_CAMPAIGNS,
        help="number of campaigns (default %(default)s)",
    )
    gen.add_argument(
        "--seed", type=int, default=config.SEED, help="random seed (default %(default)s)"
    )
    gen.set_defaults(func=cmd_generate)

    agg = sub.add_parser("aggregate", help="write the one-row-per-campaign table")
    agg.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="folder with the campaigns, ads and ad_events tables (CSV, Parquet or Delta)",
    )
    agg.add_argument("--out", type=Path, required=True, help="output CSV file")
    _engine_arg(agg)
    agg.set_defaults(func=cmd_aggregate)

    ev = sub.add_parser(
        "evaluate", help="measure the accuracy, coverage and width bars of a bundle"
    )
    ev.add_argument("--model-dir", type=Path, default=config.MODEL_DIR)
    ev.add_argument(
        "--seed",
        type=int,
        default=config.EVAL_SEED,
        help="seed of the fresh campaigns (default %(default)s)",
    )
    ev.add_argument(
        "--campaigns",
        type=int,
        default=config.EVAL_CAMPAIGNS,
        help="number of fresh campaigns (default %(default)s)",
    )
    ev.set_defaults(func=cmd_evaluate)

    from training.publish import add_subcommands

    add_subcommands(sub)
    return parser


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate synthetic CSV files."""
    from training.generate import generate, write_dataset

    _positive(args.campaigns, "--campaigns")
    start = time.perf_counter()
    out = write_dataset(generate(args.campaigns, args.seed), args.out)
    print(
        f"wrote {args.campaigns} campaigns (seed {args.seed}) to {out}/ in {time.perf_counter() - start:.1f} s"
    )
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    """Aggregate the tables of a data folder to the campaign table."""
    from training.aggregate import aggregate_dir, write_table

    table = aggregate_dir(args.data_dir, engine=args.engine)
    path = write_table(table, args.out)
    print(f"wrote {len(table)} campaigns to {path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a saved bundle on fresh synthetic campaigns."""
    import os

    import mlflow.pyfunc
    from mlflow.models import Model

    from predictor.bundle import verify_manifest
    from training.evaluate import bars_met, evaluate

    _positive(args.campaigns, "--campaigns")
    verify_manifest(args.model_dir)
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # the manifest just verified it
    model = mlflow.pyfunc.load_model(str(args.model_dir))
    metadata = Model.load(str(args.model_dir / "MLmodel")).metadata
    ev = evaluate(model.predict, metadata["interval"], args.seed, args.campaigns)
    _print_evaluation(ev)
    return 0 if all(bars_met(ev).values()) else 1


def _print_evaluation(ev: dict) -> None:
    from training.evaluate import bars_met

    print(json.dumps(ev, indent=2))
    for bar, ok in bars_met(ev).items():
        print(f"{'PASS' if ok else 'FAIL'}  {bar}")


def cmd_train(args: argparse.Namespace) -> int:
    """The default run: data, aggregate, compare, calibrate, export, evaluate."""
    import pandas as pd
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from training.aggregate import aggregate_dir, write_table
    from training.card import model_card
    from training.evaluate import evaluate
    from training.export import build_metadata, save_bundle
    from training.generate import generate, write_dataset
    from training.train import train

    console = Console(stderr=True)
    start = time.perf_counter()
    ground_truth = None
    if args.data_dir is None:
        n = args.campaigns or (config.QUICK_CAMPAIGNS if args.quick else config.DEFAULT_CAMPAIGNS)
        if n < MIN_CAMPAIGNS:
            raise SystemExit(
                f"error: --campaigns {n} is too few to compare models; give at least {MIN_CAMPAIGNS}"
            )
        with console.status(f"generating {n} synthetic campaigns (seed {args.seed})"):
            tables = generate(n, args.seed)
            data_dir = write_dataset(tables, args.synthetic_dir)
        ground_truth = tables["ground_truth"]
        console.log(
            f"generated {n} campaigns, {len(tables['ad_events']):,} events into {data_dir}/"
        )
    else:
        data_dir = args.data_dir
        gt_path = data_dir / "ground_truth.csv"
        if gt_path.exists():
            ground_truth = pd.read_csv(gt_path)
    with console.status(f"loading and aggregating {data_dir}/"):
        table = aggregate_dir(data_dir, engine=args.engine)
    args.reports_dir.mkdir(parents=True, exist_ok=True)
    write_table(table, args.reports_dir / "campaigns.csv")
    console.log(
        f"aggregated {len(table)} campaigns, {int(table['num_purchases'].sum()):,} purchases"
    )
    if len(table) < MIN_CAMPAIGNS:
        raise SystemExit(
            f"error: {len(table)} campaigns are too few to compare models; give at least {MIN_CAMPAIGNS}"
        )

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        result = train(
            table,
            seed=args.seed,
            quick=args.quick,
            ground_truth=ground_truth,
            progress=progress,
            reports_dir=args.reports_dir,
        )
    console.print(result.comparison.round(3).to_string(index=False))

    evaluation = None
    # The bars compare against the generator's oracle, so they apply to synthetic training data only.
    if not args.no_evaluate and args.data_dir is None:
        with console.status("measuring the bars on fresh synthetic campaigns"):
            n_eval = config.EVAL_CAMPAIGNS // (3 if args.quick else 1)
            evaluation = evaluate(
                result.model.predict, result.calibration, config.EVAL_SEED, n_eval
            )
    metadata = build_metadata(result, args.seed, evaluation)
    command = (
        "python -m training"
        + (" --quick" if args.quick else "")
        + (f" --seed {args.seed}" if args.seed != config.SEED else "")
    )
    card = model_card(result, metadata, evaluation, command, synthetic=args.data_dir is None)
    path = save_bundle(result.model, table, metadata, args.model_dir, card)
    if evaluation:
        _print_evaluation(evaluation)
    console.log(
        f"bundle written to {path}/ (MLflow run {result.metrics['mlflow_run_id']}); reports in {args.reports_dir}/"
    )
    console.log(f"total time {time.perf_counter() - start:.1f} s")
    return 0


def _positive(n: int, flag: str) -> None:
    if n is None or n < 1:
        raise SystemExit(f"error: {flag} must be a whole number of at least 1 (got {n})")


def main(argv: list[str] | None = None) -> int:
    """Entry point; data errors are reported as one clear line, not a traceback."""
    from predictor.bundle import BundleError
    from training.data import DataError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) if args.command else cmd_train(args)
    except (DataError, BundleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
