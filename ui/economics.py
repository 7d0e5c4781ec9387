"""Section 4: revenue, ROAS, CPA and profit of the shown answer, and the ``/roas`` handler.

The page shows the economics through :func:`economics_on_page`, which never leaves figures from
an earlier input on screen: an invalid order value or margin takes its figures off the cards and
says why under the field. API clients call :func:`roas`, which refuses invalid input.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from predictor.contract.formatting import fmt_level
from predictor.planning.economics import (
    EconomicsError,
    Metric,
    answer_economics,
    metric_range_text,
    metric_value_text,
)
from ui.common import field_message, optional_number, parse_level, section_title, user_errors

ECON_CSS = """
.cpp-econ { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr));
  gap: 0.6rem; }
.cpp-metric { padding: 0.75rem 0.9rem; border-radius: 12px;
  border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); }
.cpp-metric .k { font-size: 0.85rem; opacity: 0.8; }
.cpp-metric .v { font-size: 1.5rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.cpp-metric .r { font-size: 0.8rem; opacity: 0.9; }
.cpp-metric .r .span { white-space: nowrap; }
.cpp-metric.cpp-off { opacity: 0.45; border-style: dashed; }
.cpp-econ-notes { margin-top: 0.6rem; font-size: 0.9rem; }
"""
FIELD_NOTE_CSS = """
.cpp-field-note { color: #b91c1c; font-size: 0.85rem; font-weight: 600; margin-top: 0.25rem; }
"""
METRIC_TITLES: tuple[tuple[str, str], ...] = (
    ("revenue", "Revenue"),
    ("roas", "ROAS"),
    ("cpa", "CPA"),
    ("profit", "Profit"),
)
# Which input each figure needs besides the prediction.
NEEDS: dict[str, tuple[str, ...]] = {
    "revenue": ("average_order_value",),
    "roas": ("average_order_value",),
    "profit": ("average_order_value", "margin"),
}
FIELD_WORDS = {"average_order_value": "order value", "margin": "margin"}
# A prediction of nothing: its economics check an order value or a margin on their own.
NOTHING = {"purchases": 0, "lower": 0, "upper": 0, "plan": {"total_budget": 0}}


@dataclass
class EconomicsView:
    """The economics inputs, the notes under them, and the outputs."""

    order_value: gr.Number
    margin: gr.Number
    order_value_note: gr.HTML
    margin_note: gr.HTML
    summary: gr.HTML
    record: gr.JSON

    @property
    def outputs(self) -> list[gr.components.Component]:
        """What :func:`economics_on_page` fills: the cards, the data and the field notes."""
        return [self.summary, self.record, self.order_value_note, self.margin_note]


def metric_text(metric: Metric) -> tuple[str, str]:
    """Expected value and range of a metric, formatted as the page shows them."""
    return metric_value_text(metric), metric_range_text(metric)


def _card(key: str, title: str, value: str, line: str, span: str = "", off: bool = False) -> str:
    """One metric card; ``span`` (a range) never breaks across lines."""
    classes = "cpp-metric cpp-off" if off else "cpp-metric"
    span_html = f' <span class="span">{html.escape(span)}</span>' if span else ""
    return (
        f'<div class="{classes}" id="cpp-{key}"><div class="k">{title}</div>'
        f'<div class="v">{html.escape(value)}</div>'
        f'<div class="r">{html.escape(line)}{span_html}</div></div>'
    )


def render_economics(
    record: Mapping[str, Any] | None, invalid: Mapping[str, str] | None = None
) -> str:
    """Metric cards for revenue, ROAS, CPA and profit, with what is missing explained; a figure
    that needs an ``invalid`` input is shown greyed out, without a number."""
    if record is None:
        return '<div class="cpp-empty">Predict purchases to see the economics.</div>'
    invalid = invalid or {}
    level = fmt_level(record["level"])
    cards, notes = [], []
    for key, title in METRIC_TITLES:
        blocked = [f for f in NEEDS.get(key, ()) if f in invalid]
        if blocked:
            words = " and ".join(FIELD_WORDS[f] for f in blocked)
            cards.append(_card(key, title, "—", f"Fix the {words} above.", off=True))
            continue
        if key not in record:
            continue
        data = record[key]
        metric = Metric(title, data["value"], data["low"], data["high"], data["note"])
        value, spread = metric_text(metric)
        cards.append(_card(key, title, value, f"{level}:", spread))
        if metric.note:
            notes.append(metric.note)
    notes.extend(n for n in (record.get("margin_note"), record.get("roas_note")) if n)
    if "average_order_value" in invalid:
        notes.append("Revenue, ROAS and profit need a valid order value.")
    elif "revenue" not in record:
        notes.append("Enter an average order value to see revenue, ROAS and profit.")
    elif "profit" not in record and "margin" not in invalid:
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


def field_note(message: str | None) -> str:
    """What the page says under an economics field: why its value cannot be used, or nothing."""
    if not message:
        return ""
    return f'<div class="cpp-field-note" role="alert">⚠ {html.escape(message)}</div>'


def _invalid_inputs(average_order_value: Any, margin: Any) -> dict[str, str]:
    """The economics inputs that cannot be used, each with the sentence saying what to enter."""
    invalid = {}
    for field, value in (("average_order_value", average_order_value), ("margin", margin)):
        others = {"average_order_value": None, "margin": None, field: value}
        try:
            # A prediction of nothing checks the input alone.
            answer_economics(NOTHING, **others)
        except EconomicsError as exc:
            text = field_message(exc.field, str(exc))
            invalid[field] = text[:1].upper() + text[1:] + "."
        except (TypeError, ValueError):
            invalid[field] = "Enter a number."
    return invalid


def economics_on_page(
    prediction: dict[str, Any] | None,
    average_order_value: Any = None,
    margin: Any = None,
) -> tuple[str, dict[str, Any] | None, str, str]:
    """The economics as the page shows them: the cards and the data for the valid inputs, and
    under each invalid field why it cannot be used (its figures leave the cards)."""
    invalid = _invalid_inputs(average_order_value, margin)
    notes = (
        field_note(invalid.get("average_order_value")),
        field_note(invalid.get("margin")),
    )
    if prediction is None or prediction == {} or prediction == "":
        return render_economics(None), None, *notes
    usable = {
        "average_order_value": None if "average_order_value" in invalid else average_order_value,
        "margin": None if "margin" in invalid else margin,
    }
    try:
        summary, record = roas(prediction, **usable)
    except gr.Error:
        return render_economics(None), None, *notes
    if record is not None and invalid:
        summary = render_economics(record, invalid)
    return summary, record, *notes


def economics_api(prediction: gr.components.Component, view: EconomicsView) -> None:
    """Register ``/roas`` for API clients only (the page draws with :func:`economics_on_page`)."""
    gr.on(
        [],
        roas,
        inputs=[prediction, view.order_value, view.margin],
        outputs=[view.summary, view.record],
        api_name="roas",
    )


def _economics_input(label: str, info: str, elem_id: str) -> tuple[gr.Number, gr.HTML]:
    with gr.Column(min_width=150):
        number = optional_number(label, info, elem_id)
        note = gr.HTML(
            "",
            css_template=FIELD_NOTE_CSS,
            js_on_load=None,
            padding=False,
            elem_id=f"{elem_id}-note",
        )
    return number, note


def build_economics_view() -> EconomicsView:
    """Draw the order value and margin inputs and the metric cards in the current column."""
    section_title("ROAS, CPA and profit")
    with gr.Row(equal_height=False):
        order_value, order_value_note = _economics_input(
            "Average order value (optional)",
            "Leave at 0 to skip revenue, ROAS and profit.",
            "in-aov",
        )
        margin, margin_note = _economics_input(
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
    return EconomicsView(
        order_value=order_value,
        margin=margin,
        order_value_note=order_value_note,
        margin_note=margin_note,
        summary=summary,
        record=record,
    )
