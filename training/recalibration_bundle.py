"""``python -m training recalibrate``: read the outcomes, recalibrate, write a standard bundle.

The outcomes come from a CSV (the plan's columns and ``actual_purchases``, as ``python -m
predictor outcomes add`` reads them) or from the outcome store's SQLAlchemy URL. The new bundle is
written by :func:`training.export.save_bundle`, like any trained bundle: the same fitted model
(its ``model.skops`` byte for byte when there is no level correction), a new calibration and
version in ``MLmodel``, its own manifest and model card. It goes to
``model/alternatives/<name>/``, where the app's model selector finds it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.plan import PLAN_FIELDS
from predictor.planning.batch_scoring import feature_values, parse_plans, plan_errors
from predictor.record.log_rows import masked_url
from predictor.record.outcome_rows import OutcomeError, check_purchases
from predictor.record.outcomes import OutcomeStore
from predictor.record.outcomes_file import ACTUAL, FIRST_LINE, read_outcomes
from predictor.serving.bundle import ALTERNATIVES_DIR, BundleMetadata, LoadedBundle, load_bundle
from predictor.serving.model_choice import model_dir as bundle_dir
from training.export import (
    SKOPS_TRUSTED_TYPES,
    TREE_TRUSTED_TYPES,
    is_shipped_folder,
    pin_bundles,
    save_bundle,
)
from training.recalibrate import (
    Options,
    Outcomes,
    RecalibrationError,
    Result,
    Spread,
    base_coverage,
    check_enough,
    corrected_model,
    coverage_spread,
    cross_validated,
    fingerprint,
    fit,
)
from training.recalibration_card import recalibration_card


def _from_plans(plans: pd.DataFrame, actual: np.ndarray, source: str, **kw) -> Outcomes:
    features = pd.DataFrame(feature_values(plans), columns=FEATURE_COLUMNS)
    return Outcomes(features, np.asarray(actual, float), source, **kw)


def outcomes_from_csv(path: Path) -> Outcomes:
    """Outcomes from a CSV; rows without a valid plan or purchases are skipped, with the line."""
    frame = read_outcomes(path)
    missing = [f for f in ("duration_days", "total_budget", "total_ads") if f not in frame]
    if missing:
        raise RecalibrationError(
            f"{path} lacks the plan's columns ({', '.join(missing)}); recalibrate from the "
            "outcome store's URL to use scenarios recorded by name"
        )
    plans, ok = parse_plans(frame)
    skipped: list[str] = []
    errors = dict(
        zip(np.flatnonzero(~ok), plan_errors(frame, plans, np.flatnonzero(~ok)), strict=True)
    )
    actual = np.zeros(len(frame))
    for i, cell in enumerate(frame[ACTUAL].astype(str).tolist()):
        try:
            if i in errors:
                raise OutcomeError(errors[i])
            actual[i] = check_purchases(cell)
        except OutcomeError as exc:
            ok[i] = False
            skipped.append(f"line {FIRST_LINE + i}: {exc}")
    return _from_plans(plans.loc[ok], actual[ok], path.name, skipped=tuple(skipped))


def outcomes_from_store(url: str) -> Outcomes:
    """Every outcome in the store at ``url`` (the scenario log's store)."""
    store = OutcomeStore(url)
    try:
        frame = store.read_frame()
    finally:
        store.close()
    if frame.empty:
        return _from_plans(pd.DataFrame(columns=list(PLAN_FIELDS)), np.array([]), masked_url(url))
    plans = frame[list(PLAN_FIELDS)].astype(float)
    times = frame["recorded_at"]
    period = (times.min().strftime("%Y-%m-%d"), times.max().strftime("%Y-%m-%d"))
    return _from_plans(plans, frame["actual_purchases"].to_numpy(), masked_url(url), period=period)


def load_outcomes(source: str) -> Outcomes:
    """Outcomes from a CSV path, or from a store's URL (anything with ``://``)."""
    if "://" in source:
        return outcomes_from_store(source)
    path = Path(source)
    if not path.is_file():
        raise RecalibrationError(f"{source}: no such file (give a CSV of outcomes or a store URL)")
    return outcomes_from_csv(path)


def trusted_types(base: Path) -> list[str]:
    """The skops trusted types the base bundle was saved with, as one of the lists fixed in
    :mod:`training.export` (a bundle that needs others is refused)."""
    mlmodel = yaml.safe_load((base / "MLmodel").read_text(encoding="utf-8")) or {}
    recorded = set(
        (mlmodel.get("flavors", {}).get("sklearn") or {}).get("skops_trusted_types") or []
    )
    for known in (SKOPS_TRUSTED_TYPES, TREE_TRUSTED_TYPES):
        if recorded <= set(known):
            return list(known)
    raise RecalibrationError(
        f"the bundle in {base} trusts types that training/export.py does not list; retrain it"
    )


def _models_root(base: Path) -> Path:
    return base.parent.parent if base.parent.name == ALTERNATIVES_DIR else base


def _version(base: BundleMetadata, fp: str, options: Options) -> str:
    what = json.dumps([fp, sorted(options.levels), options.correct_level])
    return f"{base.model_version}+recal.{hashlib.sha256(what.encode()).hexdigest()[:10]}"


def base_spread(base: LoadedBundle, features: pd.DataFrame) -> Spread:
    """The base bundle's range scale for the outcomes' plans (plan-aware when the bundle's is)."""
    points = base.ranges.points
    columns = points.columns if points is not None else list(features.columns)
    return Spread(dict(base.metadata.interval), features[columns].to_numpy(dtype=float), points)


def recalibrate_bundle(options: Options, command: Sequence[str] = ()) -> Result:
    """Recalibrate the bundle in ``options.model_dir`` on ``options.outcomes``; write the new one."""
    outcomes = load_outcomes(options.outcomes)
    check_enough(len(outcomes.actual), options.levels)
    base = load_bundle(options.model_dir)
    model = getattr(base.predict_points, "__self__", None)
    if model is None:
        raise RecalibrationError(f"the bundle in {options.model_dir} holds no scikit-learn model")
    meta = base.metadata
    predicted = np.asarray(base.predict_points(outcomes.features), dtype=float)
    spread = base_spread(base, outcomes.features)
    args = (outcomes.actual, predicted, spread, options.levels, options.correct_level)
    result_fit = fit(*args)
    held = cross_validated(*args, folds=options.folds, seed=options.seed)
    before = base_coverage(outcomes.actual, predicted, meta.interval, options.levels, spread)
    fp = fingerprint(outcomes.features, outcomes.actual)
    name = options.name or f"{meta.name}-recalibrated"
    version = _version(meta, fp, options)
    out = options.out or bundle_dir(name, _models_root(options.model_dir))
    metrics = {
        "base": {"name": meta.name, "model_version": meta.model_version},
        "recalibration": {
            "outcomes": len(outcomes.actual),
            "source": outcomes.source,
            "outcomes_fingerprint": fp,
            "level_factor": result_fit.factor,
            "held_out_coverage": {
                f"{lv:g}": None if h is None else [h.inside, h.n] for lv, h in held.items()
            },
            "base_coverage": {f"{lv:g}": [h.inside, h.n] for lv, h in before.items()},
        },
    }
    new_meta = replace(
        meta,
        interval=result_fit.calibration,
        model_version=version,
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        metrics=metrics,
        name=name,
        display_name=f"{meta.display_name}, recalibrated on {len(outcomes.actual)} outcomes",
    )
    result = Result(
        out, name, version, len(outcomes.actual), result_fit, held, before, outcomes.skipped
    )
    base_card = (options.model_dir / "README.md").read_text(encoding="utf-8")
    card = recalibration_card(
        result, meta, new_meta, outcomes, options, " ".join(command), base_card
    )
    example = pd.read_json(options.model_dir / "input_example.json", orient="split")
    save_bundle(
        corrected_model(model, result_fit.factor),
        example,
        new_meta,
        out,
        card,
        trusted_types=trusted_types(options.model_dir),
        points=base.ranges.points,
    )
    root = _models_root(options.model_dir)
    if is_shipped_folder(root) and out.resolve().is_relative_to(root.resolve()):
        # Recalibrating the shipped models on purpose: the app serves the new bundle pinned.
        pin_bundles(root)
    return result


def summary(result: Result) -> str:
    """What the command did, in a few lines: the bundle, the factor, the held-out coverage."""
    lines = [
        f"wrote {result.path}/ ({result.name}, version {result.version}), recalibrated on "
        f"{result.n} outcomes"
    ]
    if result.fit.factor != 1.0:
        lines.append(f"level factor: {result.fit.factor:.3f}")
    for level, held in result.held_out.items():
        before = result.before.get(level)
        was = f"base range {before.inside}/{before.n} ({before.share:.0%}); " if before else ""
        now = (
            f"recalibrated, held out: {held.inside}/{held.n} ({held.share:.0%})"
            if held
            else "recalibrated: too few outcomes per fold to measure held out"
        )
        low, high = coverage_spread(result.n, level)
        spread = f"; on new campaigns like these {low * 100:.0f}–{high:.0%} (5th–95th pct)"
        lines.append(f"{level:.0%} range: {was}{now}{spread}")
    lines += [f"skipped {s}" for s in result.skipped]
    return "\n".join(lines)
