"""Section 4: revenue, ROAS, CPA and profit of the shown answer, and the ``/roas`` handler."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from predictor.contract.formatting import fmt_level, fmt_money
from predictor.planning.economics import Metric, answer_economics
from ui.common import optional_number, parse_level, user_errors

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
METRIC_TITLES: tuple[tuple[str, str], ...] = (
    ("revenue", "Revenue"),
    ("roas", "ROAS"),
    ("cpa", "CPA"),
    ("profit", "Profit"),
)


@dataclass
class EconomicsView:
    """The economics inputs and outputs."""

    order_value: gr.Number
    margin: gr.Number
    summary: gr.HTML
    record: gr.JSON


def metric_text(metric: Metric) -> tuple[str, str]:
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


def render_economics(record: Mapping[str, Any] | None) -> str:
    """Metric cards for revenue, ROAS, CPA and profit, with what is missing explained."""
    if record is None:
        return '<div class="cpp-empty">Predict purchases to see the economics.</div>'
    level = fmt_level(record["level"])
    cards, notes = [], []
    for key, title in METRIC_TITLES:
        if key not in record:
            continue
        data = record[key]
        metric = Metric(title, data["value"], data["low"], data["high"], data["note"])
        value, spread = metric_text(metric)
        cards.append(
            f'<div class="cpp-metric" id="cpp-{key}"><div class="k">{title}</div>'
            f'<div class="v">{html.escape(value)}</div>'
            f'<div class="r">{level}: {html.escape(spread)}</div></div>'
        )
        if metric.note:
            notes.append(metric.note)
    notes.extend(n for n in (record.get("margin_note"), record.get("roas_note")) if n)
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
    margin: float | None = None,
) -> tuple[str, dict[str, Any] | None]:
    """Revenue, ROAS, CPA and profit of a prediction from ``/predict``, each with its range."""
    if prediction is None or prediction == {} or prediction == "":
        return render_economics(None), None
    with user_errors():
        record = answer_economics(prediction, average_order_value, margin)
    record = {"level": parse_level(prediction.get("level")), **record}
    return render_economics(record), record


def build_economics_view() -> EconomicsView:
    """Draw the order value and margin inputs and the metric cards in the current column."""
    gr.Markdown("### 4 · ROAS, CPA and profit", elem_classes="cpp-section-title")
    with gr.Row():
        order_value = optional_number(
            "Average order value (optional)",
            "Leave at 0 to skip revenue, ROAS and profit.",
            "in-aov",
        )
        margin = optional_number(
            "Margin (optional)",
            "Share of the order value kept after costs: 0.4 or 40 both mean 40%.",
            "in-margin",
        )
    summary = gr.HTML(
        render_economics(None),
        css_template=ECON_CSS,
        js_on_load=None,
        label="Economics summary",
        elem_id="econ",
    )
    record = gr.JSON(label="Economics", visible=False)
    return EconomicsView(order_value=order_value, margin=margin, summary=summary, record=record)
