"""Campaign Purchase Predictor: plan a social media ad campaign and predict its purchases.

``python app.py`` serves the app (``--share``, ``--host``, ``--port``; ``GRADIO_SERVER_NAME`` and
``GRADIO_SERVER_PORT`` are honoured). ``from app import demo`` builds the UI without launching it
and without loading the model, which loads on first use.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import inspect
import logging
import math
import string
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from predictor import (
    BundleError,
    CampaignPlan,
    ConfigError,
    EndpointError,
    PlanError,
    Prediction,
    Predictor,
)
from predictor.core import NOTICE_LOCAL_CHOSEN, NOTICE_NOT_CONFIGURED
from predictor.economics import EconomicsError, Metric, campaign_economics
from predictor.features import end_month
from predictor.interval import CALIBRATED_LEVELS
from predictor.plan import MIXES

log = logging.getLogger("app")

APP_DIR = Path(__file__).resolve().parent
LEVELS: tuple[float, ...] = CALIBRATED_LEVELS
DEFAULT_LEVEL = 0.9
MAX_SCENARIOS = 12
MAX_NAME_LENGTH = 40
# Chosen well above the CPU count: requests mostly wait on a remote endpoint or on each other.
CONCURRENCY_LIMIT = 32

MONTHS: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

CORE_FIELDS: tuple[str, ...] = (
    "duration_days",
    "total_budget",
    "start_month",
    "num_unique_interests",
    "total_ads",
)
MIX_FIELDS: tuple[str, ...] = tuple(f for fields in MIXES.values() for f in fields)
PLAN_FIELDS: tuple[str, ...] = (*CORE_FIELDS, *MIX_FIELDS)

# Labels on the form.
FIELD_LABELS: dict[str, str] = {
    "duration_days": "Duration (days)",
    "total_budget": "Total budget",
    "start_month": "Start month",
    "num_unique_interests": "Unique interests",
    "total_ads": "Total ads",
    "facebook_ads": "Facebook",
    "instagram_ads": "Instagram",
    "image_ads": "Image",
    "video_ads": "Video",
    "carousel_ads": "Carousel",
    "stories_ads": "Stories",
    "male_ads": "Male",
    "female_ads": "Female",
    "all_gender_ads": "All genders",
    "age_18_24_ads": "18-24",
    "age_25_34_ads": "25-34",
    "age_35_44_ads": "35-44",
    "all_age_ads": "All ages",
}
# Words for a field in messages, where the form label alone would be ambiguous.
MESSAGE_LABELS: dict[str, str] = {
    **FIELD_LABELS,
    **{f: f"{FIELD_LABELS[f]} ads" for f in MIX_FIELDS},
    "male_ads": "Male-targeted ads",
    "female_ads": "Female-targeted ads",
    "all_gender_ads": "All-gender ads",
    "all_age_ads": "All-ages ads",
    "level": "Range level",
    "average_order_value": "Average order value",
    "margin": "Margin",
}

DEFAULT_PLAN: dict[str, int | float] = {
    "duration_days": 60,
    "total_budget": 50_000,
    "start_month": 5,
    "num_unique_interests": 3,
    "total_ads": 4,
    "facebook_ads": 2,
    "instagram_ads": 2,
    "image_ads": 1,
    "video_ads": 1,
    "carousel_ads": 1,
    "stories_ads": 1,
    "male_ads": 1,
    "female_ads": 1,
    "all_gender_ads": 2,
    "age_18_24_ads": 1,
    "age_25_34_ads": 1,
    "age_35_44_ads": 1,
    "all_age_ads": 1,
}

# name, then the plan in PLAN_FIELDS order, then the range level.
EXAMPLES: tuple[tuple[str, tuple[int | float, ...]], ...] = (
    ("Balanced spring campaign", tuple(DEFAULT_PLAN.values())),
    ("Big summer push", (80, 85_000, 6, 5, 8, 4, 4, 2, 3, 1, 2, 2, 2, 4, 3, 3, 1, 1)),
    ("Small Instagram test", (35, 9_000, 3, 1, 2, 0, 2, 0, 1, 0, 1, 0, 2, 0, 2, 0, 0, 0)),
    ("Broad Facebook reach", (90, 60_000, 4, 6, 6, 6, 0, 3, 0, 3, 0, 0, 0, 6, 0, 0, 0, 6)),
    ("No ads yet", (30, 10_000, 7, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
)

BACKEND_LABELS: dict[str, str] = {
    "databricks": "the Databricks endpoint",
    "local": "the local model",
    "guardrail": "the 0-ads guardrail (no model call)",
}

# ---------------------------------------------------------------------------------------------
# The prediction layer, created on first use.

_model_dir: Path = APP_DIR / "model"
_predictor: Predictor | None = None
_predictor_lock = threading.Lock()


def configure(model_dir: str | Path) -> None:
    """Use the model bundle in ``model_dir`` (before the first prediction)."""
    global _model_dir, _predictor
    with _predictor_lock:
        _model_dir = Path(model_dir)
        _predictor = None


def get_predictor() -> Predictor:
    """The process-wide :class:`Predictor`, configured from the environment on first use."""
    global _predictor
    if _predictor is None:
        with _predictor_lock:
            if _predictor is None:
                _predictor = Predictor.from_env(_model_dir)
    return _predictor


def warm_up() -> None:
    """Verify and load the local bundle now, so the first click does not wait for it."""
    try:
        get_predictor().load()
    except Exception as exc:  # the first request reports the problem to the user
        log.warning("model warm-up failed: %s", exc)


def _field_message(field: str, message: str) -> str:
    """``message`` with its leading field name replaced by the words the page uses."""
    label = MESSAGE_LABELS.get(field)
    if label and message.startswith(field):
        return label + message[len(field) :]
    return message


def input_error(message: str) -> gr.Error:
    """An error about the user's input: shown on the page and returned to API clients."""
    return gr.Error(message, title="Check your input", print_exception=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the prediction layer's errors into messages for the page and the API client."""
    try:
        yield
    except gr.Error:
        raise
    except (PlanError, EconomicsError) as exc:
        raise input_error(_field_message(exc.field, str(exc))) from None
    except ConfigError as exc:
        raise gr.Error(
            f"The predictor is misconfigured: {exc}", title="Configuration", print_exception=False
        ) from None
    except BundleError as exc:
        raise gr.Error(
            f"The model bundle cannot be used: {exc}", title="Model", print_exception=False
        ) from None
    except EndpointError as exc:
        raise gr.Error(
            f"The Databricks endpoint failed: {exc}", title="Endpoint", print_exception=False
        ) from None
    except ValueError as exc:
        raise input_error(str(exc)) from None
    except Exception:
        log.exception("prediction failed")
        raise gr.Error(
            "The prediction failed unexpectedly. Try again; if it keeps failing, the server log "
            "has the details.",
            title="Prediction failed",
            print_exception=False,
        ) from None


# ---------------------------------------------------------------------------------------------
# Inputs


def _with_plan_parameters(
    *after: inspect.Parameter, before: Sequence[inspect.Parameter] = ()
) -> Callable[[Callable], Callable]:
    """Name a ``(*values)`` handler's parameters: ``before``, the plan fields, then ``after``.

    Gradio documents the API with these names and lets clients pass them as keywords.
    """
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(f, kind) for f in PLAN_FIELDS]

    def decorate(fn: Callable) -> Callable:
        signature = inspect.Signature([*before, *params, *after])
        fn.__signature__ = signature  # type: ignore[attr-defined]
        return fn

    return decorate


LEVEL_PARAMETER = inspect.Parameter(
    "level", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=DEFAULT_LEVEL
)


def parse_plan(values: Sequence[Any]) -> CampaignPlan:
    """A validated plan from form values in ``PLAN_FIELDS`` order; :class:`gr.Error` if invalid."""
    with user_errors():
        return CampaignPlan(**dict(zip(PLAN_FIELDS, values, strict=True)))


def parse_level(level: Any) -> float:
    """The interval level as a float; empty means the default 90%."""
    if level is None or level == "":
        return DEFAULT_LEVEL
    if isinstance(level, bool) or not isinstance(level, int | float) or level not in LEVELS:
        choices = ", ".join(f"{lv:g}" for lv in LEVELS)
        raise input_error(f"Range level {level!r} is not offered; choose one of {choices}.")
    return float(level)


def _plan_and_level(args: Sequence[Any]) -> tuple[CampaignPlan, float]:
    n = len(PLAN_FIELDS)
    return parse_plan(args[:n]), parse_level(args[n] if len(args) > n else None)


# ---------------------------------------------------------------------------------------------
# Formatting (pure)


def fmt_count(n: float) -> str:
    """A whole number with thousands separators."""
    return f"{round(n):,}"


def fmt_money(x: float | None) -> str:
    """An amount of money: whole units from 100 up, cents below."""
    if x is None:
        return "—"
    if math.isinf(x):
        return "no upper bound" if x > 0 else "no lower bound"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def fmt_level(level: float) -> str:
    """``0.9`` -> ``"90%"``."""
    return f"{level:.0%}"


def range_text(level: float, lower: int, upper: int) -> str:
    """``"90% range: 31–52"``."""
    return f"{fmt_level(level)} range: {fmt_count(lower)}–{fmt_count(upper)}"


def month_name(month: int) -> str:
    """``5`` -> ``"May"``."""
    return MONTHS[int(month) - 1]


def end_month_text(start_month: Any, duration_days: Any) -> str:
    """The end month shown next to the start month, or a hint while the inputs are incomplete."""
    try:
        start = int(start_month)
        days = float(duration_days)
        if not (1 <= start <= 12 and days >= 1 and days.is_integer() and days <= 3650):
            raise ValueError
    except (TypeError, ValueError):
        return "— (enter a start month and a duration)"
    return month_name(end_month(start, int(days)))


def mix_status(total_ads: Any, *counts: Any) -> str:
    """Running total of a mix against the total number of ads, as Markdown."""
    try:
        values = [float(c) for c in counts]
        total = float(total_ads)
    except (TypeError, ValueError):
        return "Running total: enter whole numbers."
    if any(not math.isfinite(v) for v in [*values, total]):
        return "Running total: enter whole numbers."
    added = sum(values)
    head = f"**{added:g} of {total:g} ads**"
    if added == total:
        return f"{head} ✓"
    gap = abs(added - total)
    word = "more" if added > total else "fewer"
    return f"{head} ⚠ {gap:g} {word} than the total"


def prediction_record(prediction: Prediction, plan: CampaignPlan) -> dict[str, Any]:
    """The prediction as plain data: what the API returns and what scenarios store."""
    return {
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
    }


RESULT_CSS = """
.cpp-card { padding: 1.1rem 1.25rem; border-radius: 14px;
  background: linear-gradient(135deg, var(--color-accent-soft), var(--background-fill-secondary));
  border: 1px solid var(--border-color-primary); }
.cpp-label { font-size: 0.95rem; opacity: 0.8; }
.cpp-number { font-size: clamp(3rem, 11vw, 4.5rem); font-weight: 800; line-height: 1.05;
  letter-spacing: -0.02em; color: var(--color-accent); font-variant-numeric: tabular-nums; }
.cpp-range { font-size: 1.2rem; font-weight: 600; margin-top: 0.2rem; }
.cpp-meta { font-size: 0.9rem; opacity: 0.85; margin-top: 0.5rem; }
.cpp-empty { opacity: 0.7; }
"""


def render_result(record: Mapping[str, Any]) -> str:
    """The prominent result card: predicted purchases, range, plan summary and backend."""
    plan = record["plan"]
    summary = (
        f"{fmt_count(plan['duration_days'])} days from {month_name(plan['start_month'])} to "
        f"{month_name(record['end_month'])} · budget {fmt_money(plan['total_budget'])} · "
        f"{fmt_count(plan['total_ads'])} ads"
    )
    return (
        '<div class="cpp-card" role="status" aria-live="polite">'
        '<div class="cpp-label">Predicted purchases</div>'
        f'<div class="cpp-number" id="cpp-purchases">{fmt_count(record["purchases"])}</div>'
        f'<div class="cpp-range" id="cpp-range">{html.escape(record["range"])}</div>'
        f'<div class="cpp-meta" id="cpp-plan">{html.escape(summary)}</div>'
        f'<div class="cpp-meta" id="cpp-backend">Answered by '
        f"{html.escape(BACKEND_LABELS.get(record['backend'], record['backend']))}</div>"
        "</div>"
    )


def render_notes(record: Mapping[str, Any]) -> str:
    """The plan warnings and backend notices as a Markdown list."""
    notices = record["notices"]
    if not notices:
        return ""
    lines = "\n".join(f"- {_markdown_escape(n)}" for n in notices)
    return f"**Notes on this answer**\n\n{lines}"


def _markdown_escape(text: str) -> str:
    return html.escape(text, quote=False).replace("*", r"\*").replace("_", r"\_")


# ---------------------------------------------------------------------------------------------
# Predict


@_with_plan_parameters(LEVEL_PARAMETER)
def predict(*args: Any) -> tuple[str, str, dict[str, Any]]:
    """Predict purchases for a plan: the result card, notes, and the prediction as data."""
    plan, level = _plan_and_level(args)
    with user_errors():
        prediction = get_predictor().predict(plan, level)
    record = prediction_record(prediction, plan)
    return render_result(record), render_notes(record), record


# ---------------------------------------------------------------------------------------------
# ROAS, CPA and profit

ECON_CSS = """
.cpp-econ { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr));
  gap: 0.6rem; }
.cpp-metric { padding: 0.75rem 0.9rem; border-radius: 12px;
  border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); }
.cpp-metric .k { font-size: 0.85rem; opacity: 0.8; }
.cpp-metric .v { font-size: 1.5rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.cpp-metric .r { font-size: 0.85rem; opacity: 0.9; }
.cpp-econ-notes { margin-top: 0.6rem; font-size: 0.9rem; }
"""


def _metric_text(metric: Metric) -> tuple[str, str]:
    """Expected value and range of a metric, formatted."""

    def one(x: float | None) -> str:
        if metric.name == "ROAS":
            return "—" if x is None else "∞" if math.isinf(x) else f"{x:.2f}×"
        return fmt_money(x)

    value = "undefined" if metric.value is None else one(metric.value)
    if metric.low is None and metric.high is None:
        return value, "no range"
    if metric.high is not None and math.isinf(metric.high):
        return value, f"{one(metric.low)} or more"
    return value, f"{one(metric.low)} – {one(metric.high)}"


def economics_record(
    prediction: Any, average_order_value: Any, margin_percent: Any
) -> dict[str, Any] | None:
    """Economics of a prediction record as plain data; ``None`` before any prediction."""
    if prediction is None or prediction == {} or prediction == "":
        return None
    if not isinstance(prediction, Mapping) or not {"purchases", "lower", "upper"} <= set(
        prediction
    ):
        raise input_error(
            "prediction must be the prediction object returned by /predict (its third output)."
        )
    margin = None
    # The page's number boxes cannot be empty, so 0 means "not given" for both.
    if margin_percent not in (None, "", 0):
        if (
            isinstance(margin_percent, bool)
            or not isinstance(margin_percent, int | float)
            or not 0 <= margin_percent <= 100
        ):
            raise input_error(
                f"Margin {margin_percent!r} is not a percentage; enter a number from 0 to 100."
            )
        margin = margin_percent / 100
    aov = None if average_order_value in (None, "", 0) else average_order_value
    plan = prediction.get("plan") or {}
    budget = plan.get("total_budget", (prediction.get("features") or {}).get("total_budget"))
    level = parse_level(prediction.get("level"))
    with user_errors():
        econ = campaign_economics(
            budget, prediction["purchases"], prediction["lower"], prediction["upper"], aov, margin
        )
    metrics = {
        m.name.lower(): {"value": m.value, "low": m.low, "high": m.high, "note": m.note}
        for m in econ.metrics()
    }
    return {"level": level, "budget": econ.budget, "purchases": econ.purchases, **metrics}


def render_economics(record: Mapping[str, Any] | None) -> str:
    """Metric cards for revenue, ROAS, CPA and profit, with what is missing explained."""
    if record is None:
        return '<div class="cpp-empty">Predict purchases to see the economics.</div>'
    level = fmt_level(record["level"])
    cards, notes = [], []
    for key, title in (
        ("revenue", "Revenue"),
        ("roas", "ROAS"),
        ("cpa", "CPA"),
        ("profit", "Profit"),
    ):
        if key not in record:
            continue
        data = record[key]
        metric = Metric(title, data["value"], data["low"], data["high"], data["note"])
        value, spread = _metric_text(metric)
        cards.append(
            f'<div class="cpp-metric" id="cpp-{key}"><div class="k">{title}</div>'
            f'<div class="v">{html.escape(value)}</div>'
            f'<div class="r">{level}: {html.escape(spread)}</div></div>'
        )
        if metric.note:
            notes.append(metric.note)
    if "revenue" not in record:
        notes.append("Enter an average order value to see revenue, ROAS and profit.")
    elif "profit" not in record:
        notes.append("Enter a margin to see profit.")
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f'<div class="cpp-econ">{"".join(cards)}</div>' + (
        f'<ul class="cpp-econ-notes">{notes_html}</ul>' if notes else ""
    )


def roas(
    prediction: dict[str, Any] | None,
    average_order_value: float | None = None,
    margin_percent: float | None = None,
) -> tuple[str, dict[str, Any] | None]:
    """Revenue, ROAS, CPA and profit of a prediction from ``/predict``, each with its range."""
    record = economics_record(prediction, average_order_value, margin_percent)
    return render_economics(record), record


# ---------------------------------------------------------------------------------------------
# What-if curves


def scale_counts(counts: Sequence[int], total: int, new_total: int) -> list[int]:
    """``counts`` of a mix scaled from ``total`` to ``new_total`` ads, keeping their shares.

    Whole numbers by largest remainder, so a mix that matched the total still matches it.
    """
    if total <= 0:
        return [0] * len(counts)
    exact = [c * new_total / total for c in counts]
    target = round(sum(counts) * new_total / total)
    floors = [math.floor(x) for x in exact]
    order = sorted(range(len(counts)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[: max(target - sum(floors), 0)]:
        floors[i] += 1
    return floors


def budget_values(budget: float, points: int = 41) -> np.ndarray:
    """Budgets from 0 to twice the plan's (or 100,000 with no budget), including the plan's."""
    top = 2 * budget if budget > 0 else 100_000.0
    return np.unique(np.append(np.linspace(0.0, top, points), budget))


def ads_values(total_ads: int, max_points: int = 60) -> np.ndarray:
    """Ad counts from 0 to about twice the plan's (at least 8), including the plan's."""
    top = max(2 * total_ads, 8)
    values = np.unique(np.rint(np.linspace(0, top, min(top + 1, max_points))).astype(int))
    return np.unique(np.append(values, total_ads))


def ads_plans(plan: CampaignPlan, counts: Sequence[int]) -> list[CampaignPlan]:
    """The plan at each number of ads, every mix scaled to keep its shares."""
    plans = []
    for n in counts:
        changes: dict[str, int] = {"total_ads": int(n)}
        for fields in MIXES.values():
            scaled = scale_counts([getattr(plan, f) for f in fields], plan.total_ads, int(n))
            changes.update(zip(fields, scaled, strict=True))
        plans.append(plan.replace(**changes))
    return plans


def curve_frames(
    predictor: Predictor, plan: CampaignPlan, level: float
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """Budget and ads curves (columns x, prediction, lower, upper), one model call each."""
    budget = predictor.what_if(plan, "total_budget", budget_values(plan.total_budget), level)
    budget = budget.rename(columns={"total_budget": "x"})
    counts = ads_values(plan.total_ads)
    if plan.total_ads == 0:
        # With no ads there are no shares to keep: a curve cannot be built from this plan.
        ads = pd.DataFrame({"x": counts, "prediction": 0.0, "lower": 0, "upper": 0})
        ads_notices: tuple[str, ...] = (
            "Add ads to the plan (and its mixes) to see how purchases change with the number "
            "of ads.",
        )
    else:
        plans = ads_plans(plan, counts)
        frame = pd.DataFrame([p.to_features() for p in plans])
        ads = predictor.predict_frame(frame, level).reset_index(drop=True)
        ads.insert(0, "x", counts)
        ads_notices = tuple(ads.attrs.get("notices", ()))
    notices = tuple(
        n
        for n in dict.fromkeys((*budget.attrs.get("notices", ()), *ads_notices))
        # Which model answered is shown with the prediction already.
        if n not in (NOTICE_NOT_CONFIGURED, NOTICE_LOCAL_CHOSEN)
    )
    return budget, ads, notices


def _training_span(predictor: Predictor, column: str) -> tuple[float, float] | None:
    try:
        bounds = predictor.metadata.get("training_range", {}).get(column)
    except Exception:
        return None
    if isinstance(bounds, list | tuple) and len(bounds) == 2:
        return float(bounds[0]), float(bounds[1])
    return None


SERIES_PREDICTED = "predicted"
SERIES_PLAN = "your plan"
PREDICTED_COLOR = "#4338ca"
BAND_COLOR = "#a5b4fc"  # the range's bounds, pale beside the prediction
PLAN_COLOR = "#ea580c"
SERIES_COLORS: dict[str, str] = {
    SERIES_PREDICTED: PREDICTED_COLOR,
    **{f"upper {fmt_level(level)}": BAND_COLOR for level in LEVELS},
    **{f"lower {fmt_level(level)}": BAND_COLOR for level in LEVELS},
    SERIES_PLAN: PLAN_COLOR,
}


def curve_legend_html() -> str:
    """The what-if charts' shared legend, as HTML that wraps on a narrow screen."""
    entries = (
        (PREDICTED_COLOR, "predicted purchases"),
        (BAND_COLOR, "upper and lower ends of the range"),
        (PLAN_COLOR, "your plan"),
    )
    swatch = "display:inline-block;width:1.6rem;height:0.25rem;border-radius:2px;background:"
    items = "".join(
        '<span style="display:inline-flex;align-items:center;gap:0.45rem">'
        f'<span style="{swatch}{color}"></span>{html.escape(text)}</span>'
        for color, text in entries
    )
    return f'<div style="display:flex;flex-wrap:wrap;gap:0.35rem 1.2rem">{items}</div>'


def curve_chart(curve: pd.DataFrame, x_name: str, current_x: float, level: float) -> pd.DataFrame:
    """A curve in long form for a line plot (columns ``x_name``, purchases, series).

    Series: the prediction, the interval's upper and lower bounds, and the plan as a vertical
    line from 0 through its prediction to the top of the band.
    """
    x = curve["x"].to_numpy(dtype=float)
    pct = fmt_level(level)
    parts = [
        pd.DataFrame({x_name: x, "purchases": curve[column].to_numpy(dtype=float), "series": name})
        for column, name in (
            ("prediction", SERIES_PREDICTED),
            ("upper", f"upper {pct}"),
            ("lower", f"lower {pct}"),
        )
    ]
    here = int(np.argmin(np.abs(x - current_x)))
    at_plan = float(curve["prediction"].iloc[here])
    top = max(float(curve["upper"].max()), at_plan, 1.0)
    parts.append(
        pd.DataFrame(
            {x_name: float(current_x), "purchases": [0.0, at_plan, top], "series": SERIES_PLAN}
        )
    )
    chart = pd.concat(parts, ignore_index=True)
    chart["purchases"] = chart["purchases"].round(1)
    return chart


def extrapolation_note(x: pd.Series, span: tuple[float, float] | None, what: str) -> str:
    """A sentence naming where a curve leaves the training data's range, or ``""``."""
    if span is None or x.empty:
        return ""
    low, high = span
    if x.min() >= low and x.max() <= high:
        return ""
    return f"{what.capitalize()} in the training data: {low:,.0f}–{high:,.0f}."


def curve_table(budget: pd.DataFrame, ads: pd.DataFrame) -> pd.DataFrame:
    """Both curves' points in one table (curve, x, prediction, lower, upper)."""
    frames = []
    for name, frame in (("total_budget", budget), ("total_ads", ads)):
        part = frame.loc[:, ["x", "prediction", "lower", "upper"]].copy()
        part.insert(0, "curve", name)
        frames.append(part)
    table = pd.concat(frames, ignore_index=True)
    table["prediction"] = table["prediction"].round(2)
    return table


@_with_plan_parameters(LEVEL_PARAMETER)
def curves(*args: Any) -> tuple[pd.DataFrame, pd.DataFrame, str, pd.DataFrame]:
    """What-if curves: purchases against total budget and against the number of ads.

    Returns the two charts' points (columns total_budget or total_ads, purchases, series), a
    note, and both curves in one table (curve, x, prediction, lower, upper).
    """
    plan, level = _plan_and_level(args)
    with user_errors():
        predictor = get_predictor()
        budget, ads, notices = curve_frames(predictor, plan, level)
        spans = [
            extrapolation_note(budget["x"], _training_span(predictor, "total_budget"), "budgets"),
            extrapolation_note(ads["x"], _training_span(predictor, "num_ads"), "ad counts"),
        ]
    note = (
        f"Other settings are held at your plan's values. The pale lines bound the "
        f"{fmt_level(level)} range; the orange line marks your plan. "
    )
    note += " ".join(_markdown_escape(n) for n in (*notices, *spans) if n)
    return (
        curve_chart(budget, "total_budget", plan.total_budget, level),
        curve_chart(ads, "total_ads", plan.total_ads, level),
        note,
        curve_table(budget, ads),
    )


# ---------------------------------------------------------------------------------------------
# Scenarios


def next_scenario_name(scenarios: Sequence[Mapping[str, Any]]) -> str:
    """The first letter (A, B, C…) that no saved scenario is named."""
    taken = {s["name"] for s in scenarios}
    # MAX_SCENARIOS < 26, so a letter is always free.
    return next(letter for letter in string.ascii_uppercase if letter not in taken)


def _signed(x: float, money: bool = False) -> str:
    if x == 0:
        return "±0"
    text = fmt_money(abs(x)) if money else f"{abs(x):,g}"
    return ("+" if x > 0 else "−") + text


def _mix_text(plan: Mapping[str, Any], mix: str) -> str:
    return " / ".join(fmt_count(plan[f]) for f in MIXES[mix])


SCENARIO_ROWS: tuple[tuple[str, str], ...] = (
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
)


def scenario_table(scenarios: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Saved scenarios side by side: one column each, differences from the first in brackets."""
    if not scenarios:
        return pd.DataFrame({"Setting": [label for label, _ in SCENARIO_ROWS]})
    first = scenarios[0]
    columns: dict[str, list[str]] = {"Setting": [label for label, _ in SCENARIO_ROWS]}
    for s in scenarios:
        plan, base = s["plan"], first["plan"]
        cells = []
        for _, key in SCENARIO_ROWS:
            if key in ("duration_days", "num_unique_interests", "total_ads", "total_budget"):
                money = key == "total_budget"
                text = fmt_money(plan[key]) if money else fmt_count(plan[key])
                if s is not first and plan[key] != base[key]:
                    text += f" ({_signed(plan[key] - base[key], money)})"
            elif key == "months":
                text = f"{month_name(plan['start_month'])[:3]}–{month_name(s['end_month'])[:3]}"
            elif key in MIXES:
                text = _mix_text(plan, key)
            elif key == "purchases":
                text = fmt_count(s["purchases"])
            elif key == "range":
                bounds = f"{fmt_count(s['lower'])}–{fmt_count(s['upper'])}"
                text = f"{bounds} ({fmt_level(s['level'])})"
            elif key == "diff":
                text = "—" if s is first else _diff_text(s["purchases"], first["purchases"])
            else:
                text = s["backend"]
            cells.append(text)
        columns[s["name"]] = cells
    return pd.DataFrame(columns)


def _diff_text(purchases: int, base: int) -> str:
    diff = purchases - base
    if base == 0:
        return _signed(diff)
    return f"{_signed(diff)} ({diff / base:+.0%})"


def _csv_text(text: str) -> str:
    """``text`` that a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def scenarios_csv_frame(scenarios: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per scenario: name, plan, end month, level, prediction, range, backend and the
    difference from the first."""
    rows = []
    base = scenarios[0]["purchases"] if scenarios else 0
    for s in scenarios:
        diff = s["purchases"] - base
        rows.append(
            {
                "scenario": _csv_text(s["name"]),
                **s["plan"],
                "end_month": s["end_month"],
                "level": s["level"],
                "predicted_purchases": s["purchases"],
                "lower": s["lower"],
                "upper": s["upper"],
                "backend": s["backend"],
                "purchases_vs_first": diff,
                "purchases_vs_first_pct": round(100 * diff / base, 1) if base else None,
            }
        )
    columns = [
        "scenario",
        *PLAN_FIELDS,
        "end_month",
        "level",
        "predicted_purchases",
        "lower",
        "upper",
        "backend",
        "purchases_vs_first",
        "purchases_vs_first_pct",
    ]
    return pd.DataFrame(rows, columns=columns)


_export_dir: Path | None = None
_export_lock = threading.Lock()


def _scenario_outputs(scenarios: list[dict[str, Any]]) -> tuple[pd.DataFrame, Any, list]:
    names = [s["name"] for s in scenarios]
    dropdown = gr.Dropdown(choices=names, value=names[-1] if names else None)
    return scenario_table(scenarios), dropdown, scenarios


def _check_scenarios(scenarios: Any) -> list[dict[str, Any]]:
    return list(scenarios) if isinstance(scenarios, list) else []


@_with_plan_parameters(
    LEVEL_PARAMETER,
    inspect.Parameter("scenarios", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
    before=[inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD)],
)
def save_scenario(name: Any, *args: Any) -> tuple[pd.DataFrame, Any, str, list[dict[str, Any]]]:
    """Save the plan (predicted now) as a named scenario; empty name means the next letter."""
    *values, scenarios = args
    scenarios = _check_scenarios(scenarios)
    plan, level = _plan_and_level(values)
    if len(scenarios) >= MAX_SCENARIOS:
        raise input_error(
            f"{MAX_SCENARIOS} scenarios are saved, the most the table holds; remove one first."
        )
    if name is not None and not isinstance(name, str):
        raise input_error("Scenario name must be text.")
    name = (name or "").strip() or next_scenario_name(scenarios)
    if len(name) > MAX_NAME_LENGTH:
        raise input_error(
            f"Scenario name is {len(name)} characters long; use at most {MAX_NAME_LENGTH}."
        )
    if name == "Setting" or any(s["name"] == name for s in scenarios):
        raise input_error(
            f"A scenario named {name!r} exists; choose another name or remove it first."
        )
    with user_errors():
        prediction = get_predictor().predict(plan, level)
    scenarios = [*scenarios, {"name": name, **prediction_record(prediction, plan)}]
    table, dropdown, state = _scenario_outputs(scenarios)
    return table, dropdown, "", state


def remove_scenario(
    name: str | None, scenarios: list[dict[str, Any]] | None = None
) -> tuple[pd.DataFrame, Any, list[dict[str, Any]]]:
    """Remove the scenario called ``name``."""
    scenarios = _check_scenarios(scenarios)
    names = [s["name"] for s in scenarios]
    if not scenarios:
        raise input_error("There are no saved scenarios to remove; save one first.")
    if name not in names:
        raise input_error(f"No scenario is named {name!r}; choose one of {', '.join(names)}.")
    return _scenario_outputs([s for s in scenarios if s["name"] != name])


def export_scenarios(scenarios: list[dict[str, Any]] | None = None) -> str | None:
    """The saved scenarios as a CSV file (``None`` when there are none)."""
    global _export_dir
    scenarios = _check_scenarios(scenarios)
    if not scenarios:
        return None
    data = scenarios_csv_frame(scenarios).to_csv(index=False).encode()
    with _export_lock:
        if _export_dir is None:
            _export_dir = Path(tempfile.mkdtemp(prefix="campaign-scenarios-"))
    path = _export_dir / f"campaign-scenarios-{hashlib.sha256(data).hexdigest()[:10]}.csv"
    if not path.exists():
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return str(path)


# ---------------------------------------------------------------------------------------------
# Page

INTRO = """
# Campaign Purchase Predictor
Plan a social media ad campaign and see how many purchases it is likely to bring, **with an
honest range**. Change the plan, compare scenarios, and check what the budget would buy.
"""

NOTES = """
**What the range means.** The range comes from how far the model's predictions fell from the
real outcomes of campaigns it had not seen (conformal calibration). For campaigns like those in
the training data, about 90% of outcomes land inside a 90% range, counted over many campaigns.
It grows with the prediction, because bigger campaigns vary more. It does **not** promise that
*your* campaign lands inside it: about one campaign in ten falls outside a 90% range, and the
promise only holds for campaigns drawn from the same world as the training data. It does not
cover changes that data never saw, and outside the training data's range (a warning tells you)
it is no longer backed by evidence.

**Limitations**

- **Synthetic, single-company data.** The model learned from simulated campaigns of one
  advertiser in the schema of a public dataset, not from your market.
- **No product, price or creative quality.** What you sell, its price, and how good the ads
  are matter a lot, and the model sees none of them.
- **Correlation, not causation.** It describes patterns in past campaigns; doubling a budget
  will not necessarily do what the curve shows.
- **No seasonality shocks, competitors or platform changes.** Holidays beyond the start month,
  a rival's launch or an algorithm change are not in the data.
- **Limited training size.** A limited number of synthetic campaigns; rare set-ups are poorly
  covered.
- **Best for campaigns similar to the training data.** A warning appears when a setting is
  outside the range the model was trained on, and the what-if notes say where the curves
  leave it.
- **An educational tool.** Use it to explore trade-offs and to ask better questions, not to
  commit a budget.

**Economics.** Revenue is purchases × average order value; ROAS is revenue ÷ budget; CPA is
budget ÷ purchases (undefined at 0 purchases); profit is revenue × margin − budget. Their ranges
come from the purchase range.
"""

PAGE_CSS = """
.cpp-predict-button { min-height: 3.2rem; font-size: 1.1rem !important; }
.cpp-section-title { margin-top: 0.2rem; }
.cpp-mix-total p { margin: 0 !important; font-size: 0.9rem; }
footer { margin-top: 1.5rem; }
"""

THEME = gr.themes.Soft(
    primary_hue="indigo",
    secondary_hue="sky",
    neutral_hue="slate",
    font=("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"),
    font_mono=("ui-monospace", "SFMono-Regular", "Menlo", "monospace"),
)


def _count_input(field: str, min_width: int = 72, **kwargs: Any) -> gr.Number:
    return gr.Number(
        value=DEFAULT_PLAN[field],
        label=FIELD_LABELS[field],
        precision=None,
        step=1,
        min_width=min_width,
        elem_id=f"in-{field.replace('_', '-')}",
        **kwargs,
    )


def build_demo() -> gr.Blocks:
    """Build the page. Nothing is predicted or loaded until a user opens it or calls the API."""
    with gr.Blocks(title="Campaign Purchase Predictor", fill_width=False) as blocks:
        gr.Markdown(INTRO)
        inputs: dict[str, gr.components.Component] = {}
        mix_totals: dict[str, gr.Markdown] = {}
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=340):
                gr.Markdown("### 1 · Core settings", elem_classes="cpp-section-title")
                with gr.Row():
                    inputs["duration_days"] = _count_input("duration_days", min_width=140)
                    inputs["start_month"] = gr.Dropdown(
                        choices=[(m, i) for i, m in enumerate(MONTHS, start=1)],
                        value=DEFAULT_PLAN["start_month"],
                        label="Start month",
                        min_width=140,
                        elem_id="in-start-month",
                    )
                    end_box = gr.Textbox(
                        value=end_month_text(
                            DEFAULT_PLAN["start_month"], DEFAULT_PLAN["duration_days"]
                        ),
                        label="End month (derived)",
                        interactive=False,
                        min_width=140,
                        elem_id="out-end-month",
                    )
                with gr.Row():
                    inputs["total_budget"] = gr.Number(
                        value=DEFAULT_PLAN["total_budget"],
                        label="Total budget",
                        precision=None,
                        step=1000,
                        min_width=140,
                        elem_id="in-total-budget",
                    )
                    inputs["total_ads"] = _count_input("total_ads", min_width=140)
                    inputs["num_unique_interests"] = _count_input(
                        "num_unique_interests", min_width=140, info="travel, gaming, food…"
                    )
                gr.Markdown("### 2 · Ad mixes (number of ads)", elem_classes="cpp-section-title")
                for mix, fields in MIXES.items():
                    with gr.Group():
                        with gr.Row():
                            for field in fields:
                                inputs[field] = _count_input(field)
                        mix_totals[mix] = gr.Markdown(
                            f"{mix} mix: "
                            + mix_status(
                                DEFAULT_PLAN["total_ads"], *(DEFAULT_PLAN[f] for f in fields)
                            ),
                            elem_classes="cpp-mix-total",
                            padding=True,
                            elem_id=f"total-{mix.lower().replace(' ', '-')}",
                        )
                level = gr.Radio(
                    choices=[(fmt_level(lv), lv) for lv in LEVELS],
                    value=DEFAULT_LEVEL,
                    label="Range level",
                    info="How sure the range should be: wider for 95%.",
                    elem_id="in-level",
                )
                predict_btn = gr.Button(
                    "Predict Purchases",
                    variant="primary",
                    size="lg",
                    elem_id="predict-button",
                    elem_classes="cpp-predict-button",
                )
                plan_inputs = [inputs[f] for f in PLAN_FIELDS]
                gr.Examples(
                    examples=[[*values, DEFAULT_LEVEL] for _, values in EXAMPLES],
                    example_labels=[label for label, _ in EXAMPLES],
                    inputs=[*plan_inputs, level],
                    label="Example campaigns (click to fill the form)",
                    examples_per_page=len(EXAMPLES),
                )

            with gr.Column(scale=4, min_width=320):
                gr.Markdown("### 3 · Prediction", elem_classes="cpp-section-title")
                result_html = gr.HTML(
                    '<div class="cpp-card cpp-empty">Predicting…</div>',
                    css_template=RESULT_CSS,
                    js_on_load=None,
                    label="Result",
                    elem_id="result",
                )
                notes_md = gr.Markdown(label="Notes", elem_id="result-notes")
                with gr.Accordion("Feature row sent to the model", open=False):
                    prediction_json = gr.JSON(label="Prediction", elem_id="prediction-json")
                gr.Markdown("### 4 · ROAS, CPA and profit", elem_classes="cpp-section-title")
                with gr.Row():
                    aov = gr.Number(
                        value=None,
                        label="Average order value (optional)",
                        info="Leave at 0 to skip revenue, ROAS and profit.",
                        precision=None,
                        min_width=140,
                        elem_id="in-aov",
                    )
                    margin = gr.Number(
                        value=None,
                        label="Margin % (optional)",
                        info="Share of order value kept after costs; 0 skips profit.",
                        precision=None,
                        min_width=140,
                        elem_id="in-margin",
                    )
                econ_html = gr.HTML(
                    render_economics(None),
                    css_template=ECON_CSS,
                    js_on_load=None,
                    label="Economics summary",
                    elem_id="econ",
                )
                econ_json = gr.JSON(label="Economics", visible=False)

        gr.Markdown("### 5 · What if…", elem_classes="cpp-section-title")
        gr.HTML(curve_legend_html(), elem_id="curve-legend")
        with gr.Row(equal_height=False):
            budget_plot = gr.LinePlot(**_line_plot_options("total_budget", "Total budget"))
            ads_plot = gr.LinePlot(**_line_plot_options("total_ads", "Total ads (mix shares kept)"))
        curve_notes = gr.Markdown(label="Curve notes", elem_id="curve-notes")
        with gr.Accordion("Curve data", open=False):
            curve_data = gr.Dataframe(
                label="Curve points", interactive=False, max_height=320, elem_id="curve-data"
            )

        gr.Markdown("### 6 · Compare scenarios", elem_classes="cpp-section-title")
        scenarios = gr.State([])
        with gr.Row(equal_height=True):
            scenario_name = gr.Textbox(
                label="Scenario name",
                placeholder="optional: A, B, C… by default",
                max_length=MAX_NAME_LENGTH,
                min_width=180,
                elem_id="in-scenario-name",
            )
            save_btn = gr.Button(
                "Save current plan as scenario",
                variant="secondary",
                min_width=180,
                elem_id="save-scenario",
            )
        scenario_df = gr.Dataframe(
            value=scenario_table([]),
            interactive=False,
            wrap=True,
            pinned_columns=1,
            column_widths=["150px"],
            max_height=720,
            label="Saved scenarios (differences from the first in brackets)",
            elem_id="scenario-table",
        )
        with gr.Row(equal_height=True):
            remove_choice = gr.Dropdown(
                choices=[], label="Scenario to remove", min_width=160, elem_id="in-remove"
            )
            remove_btn = gr.Button(
                "Remove", variant="stop", min_width=100, elem_id="remove-scenario"
            )
            download_btn = gr.DownloadButton(
                "Download CSV", value=None, min_width=160, elem_id="download-scenarios"
            )

        with gr.Accordion("Notes & limitations", open=False, elem_id="notes"):
            gr.Markdown(NOTES)

        # -- events ---------------------------------------------------------------------------
        for mix, fields in MIXES.items():
            gr.on(
                [inputs["total_ads"].change, *(inputs[f].change for f in fields)],
                fn=_mix_label(mix),
                inputs=[inputs["total_ads"], *(inputs[f] for f in fields)],
                outputs=mix_totals[mix],
                api_visibility="private",
                queue=False,
                show_progress="hidden",
                trigger_mode="always_last",
            )
        gr.on(
            [inputs["start_month"].change, inputs["duration_days"].change],
            fn=end_month_text,
            inputs=[inputs["start_month"], inputs["duration_days"]],
            outputs=end_box,
            api_visibility="private",
            queue=False,
            show_progress="hidden",
            trigger_mode="always_last",
        )

        predict_outputs = [result_html, notes_md, prediction_json]
        econ_inputs = [prediction_json, aov, margin]
        curve_outputs = [budget_plot, ads_plot, curve_notes, curve_data]
        predicted = predict_btn.click(
            predict,
            inputs=[*plan_inputs, level],
            outputs=predict_outputs,
            api_name="predict",
            show_progress="minimal",
            scroll_to_output=True,
        )
        predicted.success(roas, econ_inputs, [econ_html, econ_json], api_name="roas")
        predicted.success(
            curves, [*plan_inputs, level], curve_outputs, api_name="curves", show_progress="minimal"
        )
        gr.on(
            [aov.change, margin.change],
            fn=roas,
            inputs=econ_inputs,
            outputs=[econ_html, econ_json],
            api_visibility="private",
            show_progress="hidden",
            trigger_mode="always_last",
        )
        # Opening the page and changing the range level predict again, outside the public API.
        repredicted = gr.on(
            [blocks.load, level.change],
            fn=predict,
            inputs=[*plan_inputs, level],
            outputs=predict_outputs,
            api_visibility="private",
            show_progress="minimal",
            trigger_mode="always_last",
        )
        repredicted.success(roas, econ_inputs, [econ_html, econ_json], api_visibility="private")
        repredicted.success(
            curves,
            [*plan_inputs, level],
            curve_outputs,
            api_visibility="private",
            show_progress="minimal",
        )

        scenario_outputs = [scenario_df, remove_choice, scenarios]
        saved = save_btn.click(
            save_scenario,
            inputs=[scenario_name, *plan_inputs, level, scenarios],
            outputs=[scenario_df, remove_choice, scenario_name, scenarios],
            api_name="save_scenario",
        )
        saved.success(export_scenarios, scenarios, download_btn, api_name="export_scenarios")
        removed = remove_btn.click(
            remove_scenario,
            inputs=[remove_choice, scenarios],
            outputs=scenario_outputs,
            api_name="remove_scenario",
        )
        removed.success(export_scenarios, scenarios, download_btn, api_visibility="private")
    return blocks


def _line_plot_options(x: str, x_title: str) -> dict[str, Any]:
    money = x == "total_budget"
    title = f"Purchases vs {'total budget' if money else 'number of ads'}"
    return {
        "label": title,
        "show_label": False,
        "x": x,
        "y": "purchases",
        "color": "series",
        "title": title,
        "x_title": x_title,
        "y_title": "Predicted purchases",
        "color_map": SERIES_COLORS,
        # One legend above both charts (curve_legend_html): Vega's single-row legend would
        # overflow a phone's width.
        "colors_in_legend": [],
        "x_axis_format": ",.0f" if money else "d",
        "y_lim": [0, None],
        "height": 360,
        "min_width": 300,
        "elem_id": "plot-budget" if money else "plot-ads",
    }


def _mix_label(mix: str) -> Callable[..., str]:
    def label(total_ads: Any, *counts: Any) -> str:
        return f"{mix} mix: {mix_status(total_ads, *counts)}"

    return label


demo = build_demo()
demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT)


def launch(**kwargs: Any) -> tuple[Any, str, str | None]:
    """Launch ``demo`` with the app's theme and styles; ``kwargs`` go to ``Blocks.launch``."""
    kwargs.setdefault("max_threads", 2 * CONCURRENCY_LIMIT + 8)
    return demo.launch(theme=THEME, css=PAGE_CSS, **kwargs)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python app.py [--share] [--host HOST] [--port PORT] [--model-dir DIR]``."""
    parser = argparse.ArgumentParser(description="Serve the Campaign Purchase Predictor.")
    parser.add_argument("--share", action="store_true", help="create a public Gradio link")
    parser.add_argument("--host", help="address to bind (default: GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--model-dir", type=Path, help="model bundle folder (default: ./model)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.model_dir is not None:
        configure(args.model_dir)
    threading.Thread(target=warm_up, name="model-warm-up", daemon=True).start()
    launch(share=args.share or None, server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
