"""A training run from data to bundle: generate or load, aggregate, compare, calibrate, export, evaluate."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from predictor.serving.bundle import DEFAULT_MODEL_DIR, load_bundle
from predictor.serving.model_choice import model_dir
from predictor.serving.model_code.interval import Ranges
from training import config

if TYPE_CHECKING:
    from training.train import TrainResult

# Fewer campaigns cannot fill 5 cross-validation folds and calibrate a 95% interval.
MIN_CAMPAIGNS = 20


class PipelineError(ValueError):
    """A training run cannot go on; the message says what to change."""


@dataclass(frozen=True)
class TrainOptions:
    """What a training run does. ``data_dir=None`` means synthetic data from ``seed``."""

    seed: int = config.SEED
    data_dir: Path | None = None
    campaigns: int | None = None
    quick: bool = False
    model_dir: Path = DEFAULT_MODEL_DIR
    reports_dir: Path = config.REPORTS_DIR
    synthetic_dir: Path = config.SYNTHETIC_DIR
    evaluate: bool = True
    engine: str = "pandas"

    @property
    def n_campaigns(self) -> int:
        """Synthetic campaigns to generate."""
        if self.campaigns is not None:
            return self.campaigns
        return config.QUICK_CAMPAIGNS if self.quick else config.DEFAULT_CAMPAIGNS

    @property
    def command(self) -> str:
        """The command line that reproduces this run (for the model card)."""
        return (
            "python -m training train"
            + (" --quick" if self.quick else "")
            + (f" --seed {self.seed}" if self.seed != config.SEED else "")
        )


@dataclass(frozen=True)
class TrainOutcome:
    """Where a run's bundles went, and the bars measured on each (None if not measured)."""

    model_dir: Path
    evaluation: dict | None
    run_id: str
    alternative_dir: Path
    alternative_evaluation: dict | None


def generate_data(campaigns: int, seed: int, out: Path) -> Path:
    """Write ``campaigns`` synthetic campaigns (the dataset's CSV files) to ``out``."""
    from training.generate import generate, write_dataset

    return write_dataset(generate(campaigns, seed), out)


def check_table_path(data_dir: Path, out: Path) -> None:
    """Refuse an ``out`` that cannot take the campaign table, before any work: a folder, or
    a file of the data it is built from."""
    if out.is_dir():
        raise PipelineError(
            f"--out {out} is a folder; give a file name, such as {out / 'campaigns.csv'}"
        )
    if out.exists() and data_dir.is_dir():
        inputs = [p for p in data_dir.rglob("*") if p.is_file()]
        if any(os.path.samefile(out, p) for p in inputs):
            raise PipelineError(
                f"--out {out} is one of the data files in {data_dir}; write the table elsewhere"
            )


def aggregate_data(data_dir: Path, out: Path, engine: str = "pandas") -> tuple[int, Path]:
    """Write the one-row-per-campaign table of ``data_dir`` to ``out``; return its size and path."""
    from training.aggregate import aggregate_dir, write_table

    check_table_path(data_dir, out)
    table = aggregate_dir(data_dir, engine=engine)
    return len(table), write_table(table, out)


def evaluate_bundle(
    model_dir: Path, seed: int, campaigns: int, trust_unpinned: bool = False
) -> dict:
    """Measure the bars of the bundle in ``model_dir`` on ``campaigns`` fresh campaigns.

    A bundle other than the shipped ones needs ``trust_unpinned`` (``PREDICTOR_TRUST_BUNDLE``).
    """
    from training.evaluate import evaluate

    bundle = load_bundle(model_dir, trust_unpinned)
    return evaluate(bundle.predict_points, bundle.ranges, seed, campaigns)


def _campaign_data(options: TrainOptions, console) -> tuple[Path, pd.DataFrame | None]:
    """The data folder to train on, and the oracle's expected purchases when known."""
    from training.generate import generate, write_dataset

    if options.data_dir is not None:
        gt_path = options.data_dir / "ground_truth.csv"
        return options.data_dir, pd.read_csv(gt_path) if gt_path.exists() else None
    n = options.n_campaigns
    with console.status(f"generating {n} synthetic campaigns (seed {options.seed})"):
        tables = generate(n, options.seed)
        data_dir = write_dataset(tables, options.synthetic_dir)
    console.log(f"generated {n} campaigns, {len(tables['ad_events']):,} events into {data_dir}/")
    return data_dir, tables["ground_truth"]


def _campaign_table(data_dir: Path, options: TrainOptions, console) -> pd.DataFrame:
    """Aggregate ``data_dir`` to one row per campaign; the table also goes to the reports."""
    from training.aggregate import aggregate_dir, write_table

    with console.status(f"loading and aggregating {data_dir}/"):
        table = aggregate_dir(data_dir, engine=options.engine)
    options.reports_dir.mkdir(parents=True, exist_ok=True)
    write_table(table, options.reports_dir / "campaigns.csv")
    console.log(
        f"aggregated {len(table)} campaigns, {int(table['num_purchases'].sum()):,} purchases"
    )
    if len(table) < MIN_CAMPAIGNS:
        raise PipelineError(
            f"{len(table)} campaigns are too few to compare models; give at least {MIN_CAMPAIGNS}"
        )
    return table


def _compare_models(
    table: pd.DataFrame, ground_truth: pd.DataFrame | None, options: TrainOptions, console
) -> TrainResult:
    """Compare, tune and calibrate (see :func:`training.train.train`) with a progress display."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from training.train import train

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
            seed=options.seed,
            quick=options.quick,
            ground_truth=ground_truth,
            progress=progress,
            reports_dir=options.reports_dir,
        )
    console.print(result.comparison.round(3).to_string(index=False))
    return result


def _measure_bars(
    result: TrainResult, options: TrainOptions, console
) -> tuple[dict | None, dict | None]:
    """The bars of the served model and of the alternative on fresh campaigns, if measured."""
    from training.evaluate import evaluate_on, fresh_campaigns

    # The bars compare against the generator's oracle, so they apply to synthetic training data only.
    if not (options.evaluate and options.data_dir is None):
        return None, None
    with console.status("measuring the bars of both models on fresh synthetic campaigns"):
        n_eval = config.EVAL_CAMPAIGNS // (3 if options.quick else 1)
        fresh, oracle = fresh_campaigns(config.EVAL_SEED, n_eval)
        evaluation, alt_evaluation = (
            evaluate_on(
                fresh,
                oracle,
                model.predict,
                Ranges(calibration, result.points),
                config.EVAL_SEED,
                by_size,
            )
            for model, calibration, by_size in (
                (result.model, result.calibration, result.by_size),
                (
                    result.alternative.model,
                    result.alternative.calibration,
                    result.alternative.by_size,
                ),
            )
        )
    return evaluation, alt_evaluation


def _save_bundles(
    result: TrainResult,
    table: pd.DataFrame,
    options: TrainOptions,
    evaluation: dict | None,
    alt_evaluation: dict | None,
) -> tuple[Path, Path]:
    """Write the served bundle and the alternative's, each with its model card."""
    from training.card import comparison_section, model_card
    from training.export import (
        TREE_TRUSTED_TYPES,
        build_metadata,
        is_shipped_folder,
        pin_bundles,
        save_bundle,
    )

    alternative = result.alternative
    metadata = build_metadata(result, options.seed, evaluation)
    alt_metadata = build_metadata(result, options.seed, alt_evaluation, alternative)
    comparison = (
        comparison_section([(metadata, evaluation), (alt_metadata, alt_evaluation)])
        if evaluation and alt_evaluation
        else None
    )
    synthetic = options.data_dir is None
    path = save_bundle(
        result.model,
        table,
        metadata,
        options.model_dir,
        model_card(result, metadata, evaluation, options.command, synthetic, comparison),
        points=result.points,
    )
    alt_path = save_bundle(
        alternative.model,
        table,
        alt_metadata,
        model_dir(alt_metadata.name, options.model_dir),
        model_card(result, alt_metadata, alt_evaluation, options.command, synthetic, comparison),
        trusted_types=TREE_TRUSTED_TYPES,
        points=result.points,
    )
    if is_shipped_folder(options.model_dir):
        pin_bundles(options.model_dir)
    return path, alt_path


def run_training(options: TrainOptions, console=None) -> TrainOutcome:
    """The whole run; progress goes to ``console`` (a rich Console; stderr by default)."""
    from rich.console import Console

    console = console or Console(stderr=True)
    if options.data_dir is None and options.n_campaigns < MIN_CAMPAIGNS:
        raise PipelineError(
            f"--campaigns {options.n_campaigns} is too few to compare models; "
            f"give at least {MIN_CAMPAIGNS}"
        )
    start = time.perf_counter()
    data_dir, ground_truth = _campaign_data(options, console)
    table = _campaign_table(data_dir, options, console)
    result = _compare_models(table, ground_truth, options, console)
    evaluation, alt_evaluation = _measure_bars(result, options, console)
    path, alt_path = _save_bundles(result, table, options, evaluation, alt_evaluation)
    run_id = result.metrics["mlflow_run_id"]
    console.log(f"bundles written to {path}/ and {alt_path}/ (MLflow run {run_id})")
    from training.export import is_shipped_folder

    if is_shipped_folder(options.model_dir):
        console.log("the app serves the new bundles: their digests are pinned in predictor/")
    console.log(
        f"reports in {options.reports_dir}/; total time {time.perf_counter() - start:.1f} s"
    )
    return TrainOutcome(path, evaluation, run_id, alt_path, alt_evaluation)
