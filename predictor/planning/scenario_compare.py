"""Scenarios: named plans with their answers, compared side by side and exported as CSV.

A scenario is plain data (a dict, as the API returns it), so a list of them can live in a web
session. Functions here return new lists and never change the one they are given.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from predictor.contract.formatting import (
    fmt_count,
    fmt_level,
    fmt_money,
    month_name,
    range_text,
    signed,
)
from predictor.contract.plan import MIXES, PLAN_FIELDS, CampaignPlan
from predictor.planning.economics import (
    Economics,
    answer_economics_of,
    scenario_columns,
    scenario_rows,
)
from predictor.serving.predictor import Prediction

MAX_SCENARIOS = 12
MAX_NAME_LENGTH = 40
# The comparison table's first column; a scenario cannot take its name.
SETTING = "Setting"


class ScenarioError(ValueError):
    """A scenario cannot be saved or removed; the message says what to change."""

    field = "scenario"


def answer_record(
    prediction: Prediction, plan: CampaignPlan, model: str | None = None
) -> dict[str, Any]:
    """The prediction as plain data: what the API returns and what scenarios store."""
    return {
        "model": model,
        "model_version": prediction.model_version,
        "purchases": prediction.purchases,
        "lower": prediction.lower,
        "upper": prediction.upper,
        "level": prediction.level,
        "range": range_text(prediction.level, prediction.lower, prediction.upper),
        "backend": prediction.backend,
        "raw": prediction.raw,
        "notices": list(prediction.notices),
        "plan": {f: getattr(plan, f) for f in PLAN_FIELDS},
        "end_month": plan.end_month,
        "features": dict(prediction.features),
        "extrapolated": prediction.extrapolated,
        "unreliable": prediction.unreliable,
    }


def next_name(scenarios: Sequence[Mapping[str, Any]]) -> str:
    """The first letter (A, B, C…) that no saved scenario is named."""
    taken = {s["name"] for s in scenarios}
    # MAX_SCENARIOS < 26, so a letter is always free.
    return next(letter for letter in string.ascii_uppercase if letter not in taken)


def check_name(scenarios: Sequence[Mapping[str, Any]], name: object) -> str:
    """The name a new scenario gets (the next letter when empty); :class:`ScenarioError` if
    the list is full or the name is too long or taken."""
    if len(scenarios) >= MAX_SCENARIOS:
        raise ScenarioError(
            f"{MAX_SCENARIOS} scenarios are saved, the most the table holds; remove one first."
        )
    if name is not None and not isinstance(name, str):
        raise ScenarioError("Scenario name must be text.")
    name = (name or "").strip() or next_name(scenarios)
    if len(name) > MAX_NAME_LENGTH:
        raise ScenarioError(
            f"Scenario name is {len(name)} characters long; use at most {MAX_NAME_LENGTH}."
        )
    if name == SETTING or any(s["name"] == name for s in scenarios):
        raise ScenarioError(
            f"A scenario named {name!r} exists; choose another name or remove it first."
        )
    return name


def add(
    scenarios: Sequence[Mapping[str, Any]], name: str, record: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``scenarios`` with ``record`` appended as ``name`` (checked by :func:`check_name`)."""
    return [*map(dict, scenarios), {"name": check_name(scenarios, name), **record}]


def remove(scenarios: Sequence[Mapping[str, Any]], name: object) -> list[dict[str, Any]]:
    """``scenarios`` without the one called ``name``."""
    names = [s["name"] for s in scenarios]
    if not scenarios:
        raise ScenarioError("There are no saved scenarios to remove; save one first.")
    if name not in names:
        raise ScenarioError(f"No scenario is named {name!r}; choose one of {', '.join(names)}.")
    return [dict(s) for s in scenarios if s["name"] != name]


COMPARISON_ROWS: tuple[tuple[str, str], ...] = (
    ("Duration (days)", "duration_days"),
    ("Total budget", "total_budget"),
    ("Months", "months"),
    ("Unique interests", "num_unique_interests"),
    ("Total ads", "total_ads"),
    ("Facebook / Instagram", "Platform"),
    ("Image / Video / Carousel / Stories", "Format"),
    ("Male / Female / All genders", "Target gender"),
    ("18-24 / 25-34 / 35-44 / All ages", "Target age group"),
    ("Predicted purchases", "purchases"),
    ("Range", "range"),
    ("Purchases vs first", "diff"),
    ("Answered by", "backend"),
    ("Model", "model"),
)
_NUMBERS = ("duration_days", "num_unique_interests", "total_ads", "total_budget")


def diff_text(purchases: int, base: int) -> str:
    """``purchases`` against ``base``: ``+12 (+30%)``."""
    diff = purchases - base
    if base == 0:
        return signed(diff)
    return f"{signed(diff)} ({diff / base:+.0%})"


def _cell(s: Mapping[str, Any], first: Mapping[str, Any], key: str) -> str:
    plan, base = s["plan"], first["plan"]
    if key in _NUMBERS:
        money = key == "total_budget"
        text = fmt_money(plan[key]) if money else fmt_count(plan[key])
        if s is not first and plan[key] != base[key]:
            text += f" ({signed(plan[key] - base[key], money)})"
        return text
    if key == "months":
        return f"{month_name(plan['start_month'])[:3]}–{month_name(s['end_month'])[:3]}"
    if key in MIXES:
        return " / ".join(fmt_count(plan[f]) for f in MIXES[key])
    if key == "purchases":
        return fmt_count(s["purchases"])
    if key == "range":
        return f"{fmt_count(s['lower'])}–{fmt_count(s['upper'])} ({fmt_level(s['level'])})"
    if key == "diff":
        return "—" if s is first else diff_text(s["purchases"], first["purchases"])
    return str(s.get(key) or "—")


def _economics(
    s: Mapping[str, Any], average_order_value: object, margin: object
) -> Economics | None:
    """The scenario's economics once an order value is given (``None`` before)."""
    if average_order_value in (None, "", 0):
        return None
    return answer_economics_of(s, average_order_value, margin)[0]


def comparison_table(
    scenarios: Sequence[Mapping[str, Any]],
    average_order_value: object = None,
    margin: object = None,
) -> pd.DataFrame:
    """Saved scenarios side by side: one column each, differences from the first in brackets;
    with an order value (and a margin), ROAS, cost per purchase and profit with their ranges."""
    labels = [label for label, _ in COMPARISON_ROWS]
    cells = {
        s["name"]: [_cell(s, scenarios[0], key) for _, key in COMPARISON_ROWS] for s in scenarios
    }
    for s in scenarios:
        econ = _economics(s, average_order_value, margin)
        if econ is None:
            continue
        for label, text in scenario_rows(econ).items():
            if label not in labels:
                labels.append(label)
                for column in cells.values():
                    column.append("—")
            cells[s["name"]][labels.index(label)] = text
    return pd.DataFrame({SETTING: labels, **cells})


CSV_COLUMNS: tuple[str, ...] = (
    "scenario",
    *PLAN_FIELDS,
    "end_month",
    "level",
    "predicted_purchases",
    "lower",
    "upper",
    "backend",
    "model",
    "purchases_vs_first",
    "purchases_vs_first_pct",
)


def csv_frame(
    scenarios: Sequence[Mapping[str, Any]],
    average_order_value: object = None,
    margin: object = None,
) -> pd.DataFrame:
    """One row per scenario: name, plan, end month, level, prediction, range, backend, the
    difference from the first, and with an order value ROAS, cost per purchase and profit."""
    rows = []
    base = scenarios[0]["purchases"] if scenarios else 0
    for s in scenarios:
        diff = s["purchases"] - base
        rows.append(
            {
                "scenario": s["name"],
                **s["plan"],
                "end_month": s["end_month"],
                "level": s["level"],
                "predicted_purchases": s["purchases"],
                "lower": s["lower"],
                "upper": s["upper"],
                "backend": s["backend"],
                "model": s.get("model"),
                "purchases_vs_first": diff,
                "purchases_vs_first_pct": round(100 * diff / base, 1) if base else None,
            }
        )
        econ = _economics(s, average_order_value, margin)
        if econ is not None:
            rows[-1].update(scenario_columns(econ))
    columns = list(CSV_COLUMNS)
    if rows and average_order_value not in (None, "", 0):
        columns += [c for c in rows[0] if c not in columns]
    return pd.DataFrame(rows, columns=columns)
