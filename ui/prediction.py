"""Section 3: the prediction card, its notes, and the ``/predict`` handler."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from predictor.contract.formatting import fmt_count, fmt_money, month_name
from predictor.contract.notices import NoticeCode, code_of
from predictor.planning.scenario_compare import answer_record
from ui.common import (
    LEVEL_PARAMETER,
    MODEL_PARAMETER,
    Services,
    markdown_escape,
    model_arg,
    plan_and_level,
    section_title,
    user_errors,
    with_plan_parameters,
)

BACKEND_LABELS: dict[str, str] = {
    "databricks": "the online model (Databricks)",
    "local": "the model built into this app",
    "guardrail": "no model: a plan with no ads brings no purchases",
}
# Plain words for notices whose own text is meant for developers; None hides a notice that the
# card already says. The notice's own text stays in the technical details.
PLAIN_NOTICES: dict[NoticeCode, str | None] = {
    NoticeCode.NOT_CONFIGURED: None,
    NoticeCode.LOCAL_CHOSEN: None,
    NoticeCode.GUARDRAIL: None,
    NoticeCode.ENDPOINT_FAILED: "The online model did not answer, so the model built into this "
    "app answered instead.",
    NoticeCode.ENDPOINT_IMPLAUSIBLE: "The online model's answer was far outside what is "
    "plausible for this plan, so the model built into this app answered instead.",
    NoticeCode.ENDPOINT_WARMING: "The online model is warming up after an idle spell, so the "
    "model built into this app answered; the online model answers again in a few minutes.",
    NoticeCode.ENDPOINT_PAUSED: "The online model failed a moment ago and is being left alone "
    "for a while, so the model built into this app answered.",
    NoticeCode.CREDENTIALS_INVALID: "The online model could not be used because the access key "
    "this app was given for it is invalid, so the model built into this app answered. Whoever "
    "runs this app needs to set the key again.",
}
STALE_NOTE = "The plan changed: press Predict Purchases to update this answer."
FLAGS: tuple[tuple[str, str], ...] = (
    (
        "extrapolated",
        "Extrapolated: the plan is outside the campaigns the model learned from, so the number "
        "is a guess beyond its evidence and the range is widened.",
    ),
    (
        "unreliable",
        "Unreliable: a mix adds up to more ads than the total, so the plan contradicts itself; "
        "fix the mix for a number you can use.",
    ),
)

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
.cpp-flag { margin-top: 0.6rem; padding: 0.45rem 0.6rem; border-radius: 8px; font-size: 0.9rem;
  font-weight: 600; background: #fff7ed; color: #9a3412; border: 1px solid #fdba74; }
.cpp-refused { border-color: #fca5a5; background: #fef2f2; }
.cpp-reason { font-size: 1.15rem; font-weight: 700; color: #991b1b; margin-top: 0.3rem;
  overflow-wrap: anywhere; }
"""
REFUSED_HINT = "Change the plan and press Predict Purchases again."


@dataclass
class PredictionView:
    """The components that show an answer."""

    card: gr.HTML
    notes: gr.Markdown
    record: gr.JSON

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.card, self.notes, self.record]


def render_result(record: Mapping[str, Any]) -> str:
    """The prominent result card: predicted purchases, range, plan summary and backend."""
    plan = record["plan"]
    summary = (
        f"{fmt_count(plan['duration_days'])} days from {month_name(plan['start_month'])} to "
        f"{month_name(record['end_month'])} · budget {fmt_money(plan['total_budget'])} · "
        f"{fmt_count(plan['total_ads'])} ads"
    )
    backend = BACKEND_LABELS.get(record["backend"], record["backend"])
    if record.get("model_label") and record["backend"] != "guardrail":
        # A colon, not brackets: a model's label may hold brackets of its own.
        backend += f": {record['model_label']}"
    return (
        '<div class="cpp-card" role="status" aria-live="polite">'
        '<div class="cpp-label">Predicted purchases</div>'
        f'<div class="cpp-number" id="cpp-purchases">{fmt_count(record["purchases"])}</div>'
        f'<div class="cpp-range" id="cpp-range">{html.escape(record["range"])}</div>'
        f'<div class="cpp-meta" id="cpp-plan">{html.escape(summary)}</div>'
        f'<div class="cpp-meta" id="cpp-backend">Answered by {html.escape(backend)}</div>'
        + "".join(
            f'<div class="cpp-flag" id="cpp-{key}">⚠ {html.escape(text)}</div>'
            for key, text in FLAGS
            if record.get(key)
        )
        + f'<div class="cpp-stale-note" id="cpp-stale">{html.escape(STALE_NOTE)}</div>'
        "</div>"
    )


def plain_notice(notice: str) -> str | None:
    """The words a planner reads for ``notice`` (``None`` when the card says it already)."""
    code = code_of(notice)
    return PLAIN_NOTICES.get(code, notice) if code is not None else notice


def render_notes(record: Mapping[str, Any]) -> str:
    """The plan warnings and backend notices, in plain words, as a Markdown list."""
    notices = [n for n in map(plain_notice, record["notices"]) if n]
    if not notices:
        return ""
    lines = "\n".join(f"- {markdown_escape(n)}" for n in notices)
    return f"**Notes on this answer**\n\n{lines}"


def predict_handler(
    services: Services, log: bool = True
) -> Callable[..., tuple[str, str, dict[str, Any]]]:
    """The ``/predict`` handler: the result card, notes, and the answer as data.

    With ``log``, each answer is written to the anonymous scenario log.
    """

    @with_plan_parameters(LEVEL_PARAMETER, MODEL_PARAMETER)
    def predict(*args: Any) -> tuple[str, str, dict[str, Any]]:
        """Predict purchases for a plan: the result card, notes, and the prediction as data."""
        plan, level = plan_and_level(args)
        model = services.model_name(model_arg(args))
        predictor = services.predictor(model)
        with user_errors():
            prediction = predictor.predict(plan, level)
        if log:
            services.log.record(plan, prediction, model=model)
        record = {**answer_record(prediction, plan, model), "model_label": services.label(model)}
        return render_result(record), render_notes(record), record

    return predict


def render_refusal(title: str, message: str) -> str:
    """The card in place of an answer: why this plan got none, and what to do."""
    return (
        '<div class="cpp-card cpp-refused" role="alert" id="cpp-refused">'
        f'<div class="cpp-label">No prediction: {html.escape(title.lower())}</div>'
        f'<div class="cpp-reason" id="cpp-reason">{html.escape(message)}</div>'
        f'<div class="cpp-meta">{html.escape(REFUSED_HINT)}</div>'
        "</div>"
    )


def refusal_handler(services: Services) -> Callable[..., tuple[str, str, dict[str, Any] | None]]:
    """After a failed prediction on the page: the card says why, in place of the old answer.

    The public ``/predict`` raises the error for API clients; this shows it where the planner
    looks. Should the plan answer now (a passing fault), the answer is shown.
    """
    predict = predict_handler(services, log=False)

    @with_plan_parameters(LEVEL_PARAMETER, MODEL_PARAMETER)
    def refusal(*args: Any) -> tuple[str, str, dict[str, Any] | None]:
        try:
            return predict(*args)
        except gr.Error as exc:
            return render_refusal(exc.title or "Check your input", exc.message), "", None

    return refusal


def build_prediction_view() -> PredictionView:
    """Draw the result card, the notes and the answer's details in the current column."""
    section_title("Prediction")
    card = gr.HTML(
        '<div class="cpp-card cpp-empty">Predicting…</div>',
        css_template=RESULT_CSS,
        js_on_load=None,
        label="Result",
        elem_id="result",
    )
    notes = gr.Markdown(label="Notes", elem_id="result-notes")
    with gr.Accordion("Technical details", open=False):
        record = gr.JSON(label="Prediction", elem_id="prediction-json")
    return PredictionView(card=card, notes=notes, record=record)
