"""Section: what drove the number, as factors against a typical training campaign."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from predictor import CampaignPlan
from predictor.planning.explain import (
    METHOD_EXACT,
    METHOD_WORDS,
    ExplainError,
    Explanation,
    change_text,
    explain,
    factor_text,
)
from ui.common import Services, input_error, user_errors

EXPLAIN_CSS = """
.cpp-why { display: grid; gap: 0.35rem; }
.cpp-why-row { display: grid; grid-template-columns: minmax(0, 1fr) 4.2rem; gap: 0.5rem;
  align-items: center; }
.cpp-why-label { font-size: 0.9rem; overflow-wrap: anywhere; }
.cpp-why-bar { height: 0.55rem; border-radius: 4px; margin-top: 0.2rem; }
.cpp-why-up { background: #4338ca; }
.cpp-why-down { background: #ea580c; }
.cpp-why-factor { font-variant-numeric: tabular-nums; font-weight: 700; text-align: right; }
.cpp-why-method { font-size: 0.85rem; opacity: 0.85; margin-bottom: 0.4rem; }
"""


@dataclass
class ExplainView:
    """The explanation's chart, notes and data."""

    chart: gr.HTML
    data: gr.JSON


def render_explanation(explanation: Explanation) -> str:
    """Sorted bars, one per effect: longer for a larger effect, blue up and orange down; the
    method that answered above them."""
    exact = explanation.method == METHOD_EXACT
    sizes = [abs(math.log(c.factor)) if exact else abs(c.change) for c in explanation.contributions]
    largest = max(sizes, default=0) or 1
    rows = []
    for c, size in zip(explanation.contributions, sizes, strict=True):
        width = max(2, round(100 * size / largest))
        up = c.factor >= 1 if exact else c.change >= 0
        figure = factor_text(c.factor) if exact else change_text(c.change)
        rows.append(
            '<div class="cpp-why-row">'
            f'<div class="cpp-why-label">{html.escape(c.label)}'
            f'<div class="cpp-why-bar cpp-why-{"up" if up else "down"}" style="width:{width}%">'
            f'</div></div><div class="cpp-why-factor">{html.escape(figure)}</div></div>'
        )
    method = f"Method: {METHOD_WORDS[explanation.method]}."
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in explanation.notes)
    return (
        f'<p class="cpp-why-method" id="why-method">{html.escape(method)}</p>'
        f'<div class="cpp-why" id="why-chart">{"".join(rows)}</div>{notes}'
    )


def explain_handler(services: Services) -> Callable[..., tuple[str, dict[str, Any]]]:
    """The ``/explain`` handler."""

    def explain_prediction(
        prediction: dict[str, Any] | None, model: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        """What drove a prediction from ``/predict`` (its third output), against a typical
        training campaign, one effect per setting (mixes grouped), largest first: exact factors
        for the linear model; for another, the purchases each setting adds over the typical
        campaign's value. ``method`` in the data says which."""
        if not isinstance(prediction, dict) or not isinstance(prediction.get("plan"), dict):
            raise input_error(
                "prediction must be the prediction object returned by /predict (its third output)."
            )
        with user_errors():
            plan = CampaignPlan.from_mapping(prediction["plan"])
        model = services.model_name(model or prediction.get("model"))
        predictor = services.predictor(model)
        if plan.total_ads == 0:
            return "<p>No ads, no purchases: there is nothing to explain.</p>", {}
        with user_errors():
            try:
                explanation = explain(predictor, plan, prediction.get("backend"))
            except ExplainError:
                message = (
                    f"The {services.label(model)} model holds no typical campaign to compare "
                    "the plan with, so its answer cannot be broken down."
                )
                return f"<p>{html.escape(message)}</p>", {"error": message}
        data = {
            "method": explanation.method,
            "baseline": explanation.baseline,
            "prediction": explanation.prediction,
            "effects": explanation.frame().to_dict(orient="records"),
            "notes": list(explanation.notes),
        }
        return render_explanation(explanation), data

    return explain_prediction


def build_explain_view() -> ExplainView:
    """Draw the explanation in the current column."""
    with gr.Accordion("What drove this number?", open=False, elem_id="why"):
        chart = gr.HTML(
            "<p>Predict purchases to see what drove the number.</p>",
            css_template=EXPLAIN_CSS,
            js_on_load=None,
            elem_id="why-body",
        )
    data = gr.JSON(visible=False)
    return ExplainView(chart, data)
