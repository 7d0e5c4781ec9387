"""What the outcome tests share: a results CSV builder and a saved scenario in a log."""

from __future__ import annotations

import io
from dataclasses import dataclass

from predictor.contract.plan import PLAN_FIELDS
from predictor.record.scenario_log import ScenarioLog
from tests.support.scenario import PLAN, Answer

PLAN_ROW = {f: getattr(PLAN, f) for f in PLAN_FIELDS}


@dataclass(frozen=True)
class VersionedAnswer(Answer):
    """An answer as :class:`predictor.Prediction` gives it, with the bundle's version."""

    model_version: str = "0.9.0-earlier"


def csv(header: list[str], *rows: list[object]) -> io.StringIO:
    """A CSV file in memory: ``header`` then ``rows`` (None writes an empty cell)."""
    lines = [",".join(header)]
    lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
    return io.StringIO("\n".join(lines) + "\n")


def plan_csv(*rows: dict[str, object]) -> io.StringIO:
    """Rows of the plan's columns (PLAN's values unless a row changes them) plus the row's own."""
    extra = list(dict.fromkeys(k for r in rows for k in r if k not in PLAN_FIELDS))
    header = [*PLAN_FIELDS, *extra]
    return csv(header, *([{**PLAN_ROW, **r}.get(c) for c in header] for r in rows))


def save_scenario(log: ScenarioLog, name: str, answer: Answer | None = None) -> None:
    """Log PLAN as saved under ``name`` with ``answer`` (what was shown), and wait for it."""
    log.record(PLAN, answer or VersionedAnswer(), model="ridge", scenario_name=name)
    assert log.flush(30)
