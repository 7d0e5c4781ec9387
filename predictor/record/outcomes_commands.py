"""The work behind ``python -m predictor outcomes add|report``: record a file, print the record."""

from __future__ import annotations

import os
from pathlib import Path

from predictor.record.outcomes import OutcomeStore, Receipt
from predictor.record.outcomes_file import Models, record_file
from predictor.serving.settings import ConfigError

# How many refused lines a summary lists before it says how many more there are.
SHOWN_REFUSALS = 50


def open_store(url: str | None) -> OutcomeStore:
    """The store at ``url``, else the one the ``SCENARIO_LOG*`` settings name."""
    if url:
        return OutcomeStore(url)
    store = OutcomeStore.from_env(os.environ)
    if store is None:
        raise ConfigError(
            "the scenario log is off (SCENARIO_LOG=off), and results go to its store; turn it "
            "on, or name a store with --store URL"
        )
    return store


def models_of(model_dir: Path, level: float) -> Models:
    """The predictors of every bundle under ``model_dir`` (as the app offers them)."""
    from predictor.serving.bundle import DEFAULT_MODEL
    from predictor.serving.model_choice import available_models
    from predictor.serving.predictor import Predictor

    folders = available_models(model_dir) or {DEFAULT_MODEL: model_dir}
    return Models({n: Predictor.from_env(f, model=n) for n, f in folders.items()}, level)


def receipt_text(receipt: Receipt, replace_hint: str = "--replace") -> str:
    """What was recorded and, line by line, what was refused and why."""
    total = receipt.added + len(receipt.refused)
    lines = [f"Recorded {receipt.added:,} of {total:,} result{'' if total == 1 else 's'}"]
    if receipt.replaced:
        lines[0] += f" ({receipt.replaced:,} replaced an earlier result)"
    lines[0] += "."
    if receipt.refused:
        lines.append(f"{len(receipt.refused):,} refused:")
        lines += [f"  {r}" for r in receipt.refused[:SHOWN_REFUSALS]]
        if len(receipt.refused) > SHOWN_REFUSALS:
            lines.append(f"  … and {len(receipt.refused) - SHOWN_REFUSALS:,} more")
        if any(r.duplicate for r in receipt.refused):
            lines.append(f"To replace earlier results, record again with {replace_hint}.")
    return "\n".join(lines)


def add(
    results: Path, store_url: str | None, model_dir: Path, level: float, replace: bool
) -> tuple[str, bool]:
    """Record the results file; the summary, and whether every row was recorded."""
    store = open_store(store_url)
    try:
        receipt = record_file(results, store, models_of(model_dir, level), replace=replace)
    finally:
        store.close()
    return receipt_text(receipt), not receipt.refused


def report(store_url: str | None, points_csv: Path | None, svg: Path | None) -> str:
    """The track record as text; with ``points_csv`` or ``svg`` also its points or its chart."""
    from predictor.record.outcomes_chart import scatter_svg
    from predictor.record.outcomes_report import points, report_text, track_record

    store = open_store(store_url)
    try:
        frame = store.read_frame()
    finally:
        store.close()
    text = report_text(track_record(frame))
    if points_csv is not None:
        points(frame).to_csv(points_csv, index=False)
        text += f"\nPoints written to {points_csv}."
    if svg is not None:
        svg.write_text(scatter_svg(points(frame)), encoding="utf-8")
        text += f"\nChart written to {svg}."
    return text
