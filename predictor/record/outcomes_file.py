"""Outcomes from a CSV file: one result a row, checked row by row; the good rows are kept.

A row names a saved scenario (``scenario_name``, looked up in the scenario log), or gives the
plan in full (the columns of batch scoring), or both; ``actual_purchases`` is required, ``spend``
optional. The answer shown at the time comes from the row itself when it carries the batch
scoring columns ``prediction``, ``lower``, ``upper``, ``level`` (with ``model`` and
``model_version``), else from the scenario log, else the plan is predicted now and that answer
is kept. Line numbers count the header as line 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from predictor.contract.plan import PLAN_FIELDS, REQUIRED_FIELDS, CampaignPlan, PlanError
from predictor.planning.batch_scoring import (
    BatchError,
    parse_plans,
    plan_errors,
    read_plans,
    score_plans,
)
from predictor.record.outcome_rows import (
    OutcomeError,
    Shown,
    check_purchases,
    check_spend,
    clean_name,
    outcome_row,
)
from predictor.record.outcomes import Numbered, OutcomeStore, Receipt, Refusal

if TYPE_CHECKING:
    from predictor.serving.predictor import Predictor

ACTUAL = "actual_purchases"
SHOWN_COLUMNS: tuple[str, ...] = ("prediction", "lower", "upper", "level")
FIRST_LINE = 2  # the header is line 1


class OutcomeFileError(BatchError):
    """The file as a whole cannot be read as outcomes; the message says what to change."""


@dataclass(frozen=True)
class Models:
    """The predictors by model name (the first is the default) and the level for new answers."""

    predictors: Mapping[str, Predictor]
    level: float = 0.9

    @property
    def default(self) -> str:
        return next(iter(self.predictors))


def read_outcomes(source: str | Path | IO[str] | IO[bytes]) -> pd.DataFrame:
    """The CSV's rows (plan columns parsed where every cell is a number, others text); raises
    :class:`OutcomeFileError` if it has no ``actual_purchases`` column, or neither a
    ``scenario_name`` column nor the plan's columns."""
    try:
        frame = read_plans(source)
    except BatchError as exc:
        raise OutcomeFileError(str(exc)) from None
    if ACTUAL not in frame:
        raise OutcomeFileError(
            f"the CSV has no {ACTUAL} column; add it (the purchases each campaign brought)"
        )
    missing = [f for f in REQUIRED_FIELDS if f not in frame]
    if missing and "scenario_name" not in frame:
        raise OutcomeFileError(
            "the CSV names no plan: add a scenario_name column (a saved scenario) or the plan's "
            f"columns (missing: {', '.join(missing)})"
        )
    return frame


def _text(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame:
        return [""] * len(frame)
    return ["" if pd.isna(v) else str(v).strip() for v in frame[column].tolist()]


def _shown_in_row(cells: dict[str, str], models: Models) -> Shown | None:
    """The answer the row carries (batch scoring's columns), None if it carries none."""
    if not all(cells[c] for c in SHOWN_COLUMNS):
        if any(cells[c] for c in SHOWN_COLUMNS):
            raise OutcomeError(
                "give all of prediction, lower, upper and level, or none of them (then the "
                "plan is predicted now)"
            )
        return None
    try:
        level = float(cells["level"])
    except ValueError:
        raise OutcomeError(f"level is {cells['level'][:20]!r}; give 0.8, 0.9 or 0.95") from None
    return Shown(
        predicted=check_purchases(cells["prediction"], "prediction"),
        lower=check_purchases(cells["lower"], "lower"),
        upper=check_purchases(cells["upper"], "upper"),
        level=level,
        model=cells["model"] or models.default,
        model_version=cells["model_version"],
        backend="file",
    )


def _same_plan(logged: Mapping[str, Any], plan: CampaignPlan) -> bool:
    return all(float(logged[f]) == float(getattr(plan, f)) for f in PLAN_FIELDS)


@dataclass
class _Pending:
    """A good row waiting for a prediction made now."""

    line: int
    position: int
    plan: CampaignPlan
    actual: int
    spend: float | None
    name: str | None
    model: str


def _plans(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame | None, list[str]]:
    """Which rows give a plan, the parsed plans, and each row's plan error ('' when fine)."""
    present = [f for f in REQUIRED_FIELDS if f in frame]
    given = np.zeros(len(frame), dtype=bool)
    for f in present:
        given |= np.array([c != "" for c in _text(frame, f)])
    errors = [""] * len(frame)
    if len(present) < len(REQUIRED_FIELDS):
        for i in np.flatnonzero(given):
            missing = ", ".join(f for f in REQUIRED_FIELDS if f not in frame)
            errors[i] = f"the plan lacks {missing}; give every plan column, or only scenario_name"
        return given, None, errors
    plans, ok = parse_plans(frame)
    bad = np.flatnonzero(given & ~ok)
    for i, message in zip(bad, plan_errors(frame, plans, bad), strict=True):
        errors[i] = message
    return given, plans, errors


def check_rows(
    frame: pd.DataFrame, store: OutcomeStore | None, models: Models
) -> tuple[list[Numbered], list[Refusal]]:
    """The rows ready to store and the refused ones, each with its line number."""
    given, plans, plan_error = _plans(frame)
    cells = {c: _text(frame, c) for c in (*SHOWN_COLUMNS, "model", "model_version", "spend")}
    names = _text(frame, "scenario_name")
    actuals = _text(frame, ACTUAL)
    ready: list[Numbered] = []
    refused: list[Refusal] = []
    pending: list[_Pending] = []
    logged: dict[str, dict[str, Any] | None] = {}
    for i in range(len(frame)):
        line = FIRST_LINE + i
        try:
            name = clean_name(names[i])
            actual = check_purchases(actuals[i])
            spend = check_spend(cells["spend"][i])
            if plan_error[i]:
                raise OutcomeError(plan_error[i])
            shown = _shown_in_row({c: v[i] for c, v in cells.items()}, models)
            if name and name not in logged and (shown is None or not given[i]):
                logged[name] = store.saved_scenario(name) if store is not None else None
            saved = logged.get(name) if name else None
            if given[i]:
                plan = CampaignPlan(**plans.iloc[i].to_dict())  # type: ignore[union-attr]
                if shown is None and saved is not None and _same_plan(saved, plan):
                    shown = Shown.of(saved)
            elif saved is not None:
                plan = CampaignPlan(**{f: saved[f] for f in PLAN_FIELDS})
                shown = shown or Shown.of(saved)
            elif name:
                raise OutcomeError(
                    f"no saved scenario is named {name!r} in the scenario log; give the plan's "
                    "columns instead"
                )
            else:
                raise OutcomeError("the row gives neither a scenario_name nor a plan")
            if shown is None:
                model = cells["model"][i] or models.default
                if model not in models.predictors:
                    offered = ", ".join(models.predictors)
                    raise OutcomeError(f"model {model!r} is not offered; use one of {offered}")
                pending.append(_Pending(line, i, plan, actual, spend, name, model))
                continue
            ready.append((line, outcome_row(plan, actual, shown, spend=spend, scenario_name=name)))
        except (OutcomeError, PlanError) as exc:
            refused.append(Refusal(line, str(exc)))
    done, more = _predict_now(frame, pending, models)
    return sorted([*ready, *done], key=lambda r: r[0] or 0), [*refused, *more]


def _predict_now(
    frame: pd.DataFrame, pending: list[_Pending], models: Models
) -> tuple[list[Numbered], list[Refusal]]:
    """Rows without a shown answer, predicted now (one call per model), with that answer kept."""
    ready: list[Numbered] = []
    refused: list[Refusal] = []
    now = datetime.now(UTC)
    for model in dict.fromkeys(p.model for p in pending):
        group = [p for p in pending if p.model == model]
        predictor = models.predictors[model]
        rows = pd.DataFrame([{f: getattr(p.plan, f) for f in PLAN_FIELDS} for p in group])
        scored = score_plans(predictor, rows, models.level)
        backend = str(scored.attrs.get("backend") or "local")
        for p, (_, answer) in zip(group, scored.iterrows(), strict=True):
            if answer["error"]:
                refused.append(Refusal(p.line, str(answer["error"])))
                continue
            shown = Shown(
                predicted=int(answer["prediction"]),
                lower=int(answer["lower"]),
                upper=int(answer["upper"]),
                level=float(answer["level"]),
                model=model,
                model_version=str(answer["model_version"]),
                backend=backend,
                predicted_at=now.replace(tzinfo=None),
            )
            row = outcome_row(p.plan, p.actual, shown, spend=p.spend, scenario_name=p.name, at=now)
            ready.append((p.line, row))
    return ready, refused


def record_file(
    source: str | Path | IO[str] | IO[bytes],
    store: OutcomeStore,
    models: Models,
    replace: bool = False,
) -> Receipt:
    """Read, check and store a CSV of outcomes; the receipt lists every refused line and why.

    Raises :class:`OutcomeFileError` for a file that cannot be read as outcomes, and
    :class:`predictor.record.outcomes.OutcomeStoreError` if the store cannot be written.
    """
    frame = read_outcomes(source)
    ready, refused = check_rows(frame, store, models)
    return store.add(ready, replace=replace).merged(refused)
