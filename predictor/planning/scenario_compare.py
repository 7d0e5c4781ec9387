"""Scenarios: named plans with their answers, compared side by side and exported as CSV.

A scenario is plain data (a dict, as the API returns it), so a list of them can live in a web
session or in the planner's browser. Functions here return new lists and never change the one
they are given; a list that comes back from a browser or a client is checked by :func:`stored`.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from predictor.contract.formatting import (
    fmt_count,
    fmt_echo,
    fmt_level,
    fmt_money,
    month_name,
    range_text,
    signed,
)
from predictor.contract.plan import MIXES, PLAN_FIELDS, CampaignPlan, PlanError
from predictor.planning.economics import (
    SCENARIO_METRICS,
    Economics,
    EconomicsError,
    answer_economics_of,
    parse_margin,
    scenario_columns,
    scenario_rows,
)
from predictor.serving.model_code.interval import CALIBRATED_LEVELS
from predictor.serving.predictor import Prediction

MAX_SCENARIOS = 12
MAX_NAME_LENGTH = 40
# The comparison table's first column; a scenario cannot take its name.
SETTING = "Setting"
# Who answered, in the words the page uses.
BACKEND_WORDS: dict[str, str] = {
    "databricks": "online model",
    "local": "model built into the app",
    "guardrail": "no model (no ads)",
}


class ScenarioError(ValueError):
    """A scenario cannot be saved, removed or read; the message says what to change."""

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
            f"A scenario named {fmt_echo(name)} exists; choose another name or remove it first."
        )
    return name


def _given(value: object) -> object | None:
    # The page's number boxes cannot be empty, so 0 means "not given" there.
    return None if value is None or value == "" or value == 0 else value


def add(
    scenarios: Sequence[Mapping[str, Any]],
    name: str,
    record: Mapping[str, Any],
    average_order_value: object = None,
    margin: object = None,
) -> list[dict[str, Any]]:
    """``scenarios`` with ``record`` appended as ``name`` (checked by :func:`check_name`),
    keeping the order value and margin it is judged with (:class:`EconomicsError` if invalid)."""
    name = check_name(scenarios, name)
    order_value, share = _given(average_order_value), _given(margin)
    answer_economics_of(record, order_value, share)
    kept = {k: record[k] for k in _KEPT if k in record}
    scenario = {"name": name, **kept, "average_order_value": order_value, "margin": share}
    return [*map(dict, scenarios), _one_stored(scenario)]


def remove(scenarios: Sequence[Mapping[str, Any]], name: object) -> list[dict[str, Any]]:
    """``scenarios`` without the one called ``name``."""
    names = [s["name"] for s in scenarios]
    if not scenarios:
        raise ScenarioError("There are no saved scenarios to remove; save one first.")
    if name not in names:
        raise ScenarioError(
            f"No scenario is named {fmt_echo(name)}; choose one of {', '.join(names)}."
        )
    return [dict(s) for s in scenarios if s["name"] != name]


# -- scenarios that come back from a browser or a client ---------------------------------------

# What a scenario keeps of its answer (the feature row and the raw answer stay behind).
_KEPT: tuple[str, ...] = (
    "model",
    "purchases",
    "lower",
    "upper",
    "level",
    "range",
    "backend",
    "notices",
    "plan",
    "end_month",
    "extrapolated",
    "unreliable",
)
MAX_NOTICES = 20
MAX_TEXT = 500


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{what} must be a whole number")
    if value < 0 or not float(value).is_integer():
        raise ScenarioError(f"{what} is {fmt_echo(value)}; it must be a whole number of at least 0")
    return int(value)


def _text(value: object, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ScenarioError(f"{what} must be text of at most {limit} characters")
    return value


def _one_stored(item: object) -> dict[str, Any]:
    """One scenario rebuilt from plain data; :class:`ScenarioError` says what is wrong."""
    if not isinstance(item, Mapping):
        raise ScenarioError("it is not a scenario object")
    name = _text(item.get("name"), "its name", MAX_NAME_LENGTH).strip()
    if not name or name == SETTING:
        raise ScenarioError(f"its name {fmt_echo(name)} cannot name a scenario")
    raw_plan = item.get("plan")
    if not isinstance(raw_plan, Mapping) or not set(raw_plan) <= set(PLAN_FIELDS):
        raise ScenarioError(f"{fmt_echo(name)} has no plan of the page's fields")
    try:
        plan = CampaignPlan(**raw_plan)
    except PlanError as exc:
        raise ScenarioError(f"{fmt_echo(name)} has an invalid plan: {exc}") from None
    except TypeError:
        raise ScenarioError(f"{fmt_echo(name)}'s plan lacks some of the page's fields") from None
    purchases, lower, upper = (_count(item.get(k), f"{fmt_echo(name)}'s {k}") for k in _BOUNDS)
    if not lower <= purchases <= upper:
        raise ScenarioError(f"{fmt_echo(name)}'s range {lower}–{upper} does not hold {purchases}")
    level = item.get("level")
    if level not in CALIBRATED_LEVELS:
        raise ScenarioError(f"{fmt_echo(name)}'s level must be one of the page's range levels")
    model = item.get("model")
    notices = item.get("notices") or []
    if not isinstance(notices, list) or len(notices) > MAX_NOTICES:
        raise ScenarioError(f"{fmt_echo(name)}'s notices must be a short list of text")
    scenario = {
        "name": name,
        "model": None if model is None else _text(model, f"{fmt_echo(name)}'s model", 100),
        "purchases": purchases,
        "lower": lower,
        "upper": upper,
        "level": float(level),
        "range": range_text(float(level), lower, upper),
        "backend": _text(item.get("backend", ""), f"{fmt_echo(name)}'s backend", 40),
        "notices": [_text(n, f"{fmt_echo(name)}'s notices") for n in notices],
        "plan": {f: getattr(plan, f) for f in PLAN_FIELDS},
        "end_month": plan.end_month,
        "extrapolated": bool(item.get("extrapolated")),
        "unreliable": bool(item.get("unreliable")),
        "average_order_value": _given(item.get("average_order_value")),
        "margin": _given(item.get("margin")),
    }
    try:
        answer_economics_of(scenario, scenario["average_order_value"], scenario["margin"])
    except EconomicsError as exc:
        raise ScenarioError(f"{fmt_echo(name)}'s economics cannot be used: {exc}") from None
    return scenario


_BOUNDS = ("purchases", "lower", "upper")


def stored(value: object) -> list[dict[str, Any]]:
    """The scenarios in ``value`` (a list as the page or the API returned it; empty for
    ``None``), each checked and rebuilt; :class:`ScenarioError` says which one is wrong."""
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise ScenarioError(
            "scenarios must be the list of saved scenarios that the last call returned."
        )
    if len(value) > MAX_SCENARIOS:
        raise ScenarioError(f"{len(value)} scenarios were sent; the table holds {MAX_SCENARIOS}.")
    scenarios = []
    for number, item in enumerate(value, start=1):
        try:
            scenarios.append(_one_stored(item))
        except ScenarioError as exc:
            raise ScenarioError(f"Saved scenario {number} cannot be read: {exc}.") from None
    names = [s["name"] for s in scenarios]
    if len(set(names)) < len(names):
        raise ScenarioError("Two saved scenarios share a name; each needs its own.")
    return scenarios


# -- the comparison ------------------------------------------------------------------------------


def check_baseline(scenarios: Sequence[Mapping[str, Any]], baseline: object) -> str | None:
    """``baseline`` as given to the API: None (or empty) for the first scenario, else the name of
    a saved one (:class:`ScenarioError` otherwise, never a silent fallback)."""
    if baseline is None or baseline == "":
        return None
    names = [s["name"] for s in scenarios]
    if not isinstance(baseline, str):
        raise ScenarioError(
            f"baseline must be the name of a saved scenario (text), not {type(baseline).__name__}"
        )
    if baseline not in names:
        saved = ", ".join(repr(n) for n in names) if names else "none is saved"
        raise ScenarioError(
            f"No scenario is named {fmt_echo(baseline)} to compare against; saved: {saved}"
        )
    return baseline


def baseline_of(scenarios: Sequence[Mapping[str, Any]], baseline: object) -> Mapping[str, Any]:
    """The scenario called ``baseline``, or the first when it is not given or not saved."""
    return next((s for s in scenarios if s["name"] == baseline), scenarios[0])


def diff_text(purchases: int, base: int) -> str:
    """``purchases`` against ``base``: ``+12, +30%``."""
    diff = purchases - base
    if base == 0:
        return signed(diff)
    return f"{signed(diff)}, {diff / base:+.0%}".replace("-", "−")


def economics(s: Mapping[str, Any]) -> Economics:
    """The scenario's economics with its own order value and margin."""
    return answer_economics_of(s, s.get("average_order_value"), s.get("margin"))[0]


@dataclass(frozen=True)
class _Row:
    label: str
    key: str


def _plan_rows() -> tuple[_Row, ...]:
    return (
        _Row("Total budget", "total_budget"),
        _Row("Duration (days)", "duration_days"),
        _Row("Months", "months"),
        _Row("Unique interests", "num_unique_interests"),
        _Row("Total ads", "total_ads"),
        _Row("Facebook / Instagram", "Platform"),
        _Row("Image / Video / Carousel / Stories", "Format"),
        _Row("Male / Female / All genders", "Target gender"),
        _Row("18-24 / 25-34 / 35-44 / All ages", "Target age group"),
    )


_NUMBERS = ("duration_days", "num_unique_interests", "total_ads", "total_budget")


def _cell(s: Mapping[str, Any], base: Mapping[str, Any], key: str, labels: Mapping) -> str:
    plan, base_plan = s["plan"], base["plan"]
    if key in _NUMBERS:
        money = key == "total_budget"
        text = fmt_money(plan[key]) if money else fmt_count(plan[key])
        if s is not base and plan[key] != base_plan[key]:
            text += f" ({signed(plan[key] - base_plan[key], money)})"
        return text
    if key == "months":
        return f"{month_name(plan['start_month'])[:3]}–{month_name(s['end_month'])[:3]}"
    if key in MIXES:
        return " / ".join(fmt_count(plan[f]) for f in MIXES[key])
    if key == "purchases":
        text = fmt_count(s["purchases"])
        return text if s is base else f"{text} ({diff_text(s['purchases'], base['purchases'])})"
    if key == "range":
        return f"{fmt_count(s['lower'])} to {fmt_count(s['upper'])} ({fmt_level(s['level'])})"
    if key == "inputs":
        return _inputs_text(s)
    if key == "backend":
        return BACKEND_WORDS.get(s.get("backend") or "", s.get("backend") or "—")
    if key == "model":
        return str(labels.get(s.get("model"), s.get("model")) or "—")
    return "—"


def _inputs_text(s: Mapping[str, Any]) -> str:
    """The scenario's order value and margin: ``"80 · 40%"``."""
    order_value, margin = s.get("average_order_value"), s.get("margin")
    if order_value is None:
        return "—"
    share = f"{parse_margin(margin).fraction:.0%}" if margin is not None else "no margin"
    return f"{fmt_money(order_value)} · {share}"


def comparison_table(
    scenarios: Sequence[Mapping[str, Any]],
    baseline: object = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Saved scenarios side by side, one column each: purchases and, for scenarios saved with an
    order value, ROAS, cost per purchase and profit first, then the plan; differences from the
    ``baseline`` scenario (the first by default) in brackets. ``labels`` name the models."""
    labels = labels or {}
    head = [_Row("Predicted purchases", "purchases"), _Row("Range", "range")]
    tail = [
        _Row("Order value · margin", "inputs"),
        *_plan_rows(),
        _Row("Answered by", "backend"),
        _Row("Model", "model"),
    ]
    if not scenarios:
        rows = [r.label for r in (*head, *tail)]
        return pd.DataFrame({SETTING: rows})
    base = baseline_of(scenarios, baseline)
    econ = {s["name"]: economics(s) for s in scenarios}
    columns: dict[str, list[str]] = {SETTING: [r.label for r in head]}
    for s in scenarios:
        columns[s["name"]] = [_cell(s, base, r.key, labels) for r in head]
    rows = {s["name"]: scenario_rows(econ[s["name"]], econ[base["name"]]) for s in scenarios}
    for _, label, _ in SCENARIO_METRICS:
        if not any(label in r for r in rows.values()):
            continue
        columns[SETTING].append(label)
        for s in scenarios:
            columns[s["name"]].append(rows[s["name"]].get(label, "needs an order value"))
    columns[SETTING] += [r.label for r in tail]
    for s in scenarios:
        columns[s["name"]] += [_cell(s, base, r.key, labels) for r in tail]
    return pd.DataFrame(columns)


CSV_COLUMNS: tuple[str, ...] = (
    "scenario",
    *PLAN_FIELDS,
    "end_month",
    "level",
    "predicted_purchases",
    "lower",
    "upper",
    "answered_by",
    "model",
    "average_order_value",
    "margin",
    "baseline",
    "purchases_vs_baseline",
    "purchases_vs_baseline_pct",
)


def csv_frame(
    scenarios: Sequence[Mapping[str, Any]],
    baseline: object = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per scenario: name, plan, end month, level, prediction, range, who answered, the
    order value and margin it was saved with, the difference from the ``baseline`` scenario,
    and ROAS, cost per purchase and profit with their ranges (empty without an order value)."""
    labels = labels or {}
    rows = []
    base = baseline_of(scenarios, baseline) if scenarios else None
    for s in scenarios:
        diff = s["purchases"] - base["purchases"]
        rows.append(
            {
                "scenario": s["name"],
                **s["plan"],
                "end_month": s["end_month"],
                "level": s["level"],
                "predicted_purchases": s["purchases"],
                "lower": s["lower"],
                "upper": s["upper"],
                "answered_by": _cell(s, base, "backend", labels),
                "model": _cell(s, base, "model", labels),
                "average_order_value": s.get("average_order_value"),
                "margin": s.get("margin"),
                "baseline": base["name"],
                "purchases_vs_baseline": diff,
                "purchases_vs_baseline_pct": (
                    round(100 * diff / base["purchases"], 1) if base["purchases"] else None
                ),
                **scenario_columns(economics(s)),
            }
        )
    economics_columns = scenario_columns(economics(scenarios[0])) if scenarios else {}
    columns = [*CSV_COLUMNS, *economics_columns]
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class SavedPlan:
    """A scenario as read back from an exported CSV: what to predict again and how to judge it."""

    name: str
    plan: CampaignPlan
    level: float
    model: str
    average_order_value: float | None
    margin: float | None


def _cell_value(row: Mapping[str, Any], column: str) -> Any:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _name(value: object) -> str:
    name = str(value)
    # spreadsheet_safe put a quote before a name a spreadsheet would run as a formula.
    if name[:1] == "'" and name[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        name = name[1:]
    return name


def saved_plans(frame: pd.DataFrame) -> list[SavedPlan]:
    """The scenarios of an exported scenarios CSV (``csv_frame``'s columns), checked; the model
    column as written there. :class:`ScenarioError` names the row that cannot be read."""
    missing = [c for c in ("scenario", *PLAN_FIELDS[:5]) if c not in frame.columns]
    if missing:
        raise ScenarioError(
            f"The file has no {', '.join(missing)} column; load a file that the page's "
            "scenario download wrote."
        )
    if len(frame) > MAX_SCENARIOS:
        raise ScenarioError(
            f"The file has {len(frame)} scenarios; the table holds {MAX_SCENARIOS}."
        )
    out = []
    for number, row in enumerate(frame.to_dict(orient="records"), start=1):
        try:
            values = {f: _cell_value(row, f) for f in PLAN_FIELDS if f in frame.columns}
            plan = CampaignPlan(**{f: v for f, v in values.items() if v is not None})
            level = _cell_value(row, "level") or CALIBRATED_LEVELS[1]
            if level not in CALIBRATED_LEVELS:
                raise ScenarioError(f"level {level} is not one of the page's range levels")
            out.append(
                SavedPlan(
                    name=_name(row["scenario"]),
                    plan=plan,
                    level=float(level),
                    model=str(_cell_value(row, "model") or ""),
                    average_order_value=_cell_value(row, "average_order_value"),
                    margin=_cell_value(row, "margin"),
                )
            )
        except (PlanError, ScenarioError, TypeError) as exc:
            raise ScenarioError(f"Row {number} of the file cannot be read: {exc}.") from None
    return out
