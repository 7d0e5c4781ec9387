"""Section 1–2: the plan form (core settings, ad mixes, range level) and its live checks."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from predictor.contract.features import end_month
from predictor.contract.formatting import MONTHS, fmt_level, month_name
from predictor.contract.plan import MIXES, PLAN_FIELDS
from predictor.serving.model_code.interval import DEFAULT_LEVEL
from ui.common import DEFAULT_PLAN, EXAMPLES, FIELD_LABELS, LEVELS, api_type, section_title


@dataclass
class PlanForm:
    """The form's components that other sections read."""

    inputs: dict[str, gr.components.Component]
    level: gr.Radio
    model: gr.Radio
    predict_button: gr.Button

    @property
    def plan_inputs(self) -> list[gr.components.Component]:
        """The plan's inputs in ``PLAN_FIELDS`` order."""
        return [self.inputs[f] for f in PLAN_FIELDS]


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


def _mix_label(mix: str) -> Callable[..., str]:
    def label(total_ads: Any, *counts: Any) -> str:
        return f"{mix} mix: {mix_status(total_ads, *counts)}"

    return label


def _count_input(field: str, min_width: int = 130, **kwargs: Any) -> gr.Number:
    return gr.Number(
        value=DEFAULT_PLAN[field],
        label=FIELD_LABELS[field],
        precision=None,
        step=1,
        min_width=min_width,
        elem_id=f"in-{field.replace('_', '-')}",
        **kwargs,
    )


def _live(triggers: list, fn: Callable, inputs: list, output: gr.components.Component) -> None:
    """A browser-side-cheap update that stays out of the public API."""
    gr.on(
        triggers,
        fn=fn,
        inputs=inputs,
        outputs=output,
        api_visibility="private",
        queue=False,
        show_progress="hidden",
        trigger_mode="always_last",
    )


def _core_settings(inputs: dict[str, gr.components.Component]) -> gr.Textbox:
    """Section 1: duration, start month, budget, ads and interests, added to ``inputs``; returns
    the derived end month's box."""
    section_title("Core settings")
    with gr.Row():
        inputs["duration_days"] = _count_input("duration_days", min_width=140)
        inputs["start_month"] = gr.Dropdown(
            choices=[(m, i) for i, m in enumerate(MONTHS, start=1)],
            value=DEFAULT_PLAN["start_month"],
            label="Start month",
            min_width=140,
            elem_id="in-start-month",
        )
        api_type(
            inputs["start_month"],
            {"type": "integer", "minimum": 1, "maximum": 12},
            "The month the campaign starts: 1 (January) to 12 (December).",
        )
        end_box = gr.Textbox(
            value=end_month_text(DEFAULT_PLAN["start_month"], DEFAULT_PLAN["duration_days"]),
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
        inputs["total_ads"] = _count_input(
            "total_ads", min_width=140, info="Different ads the campaign runs."
        )
        inputs["num_unique_interests"] = _count_input(
            "num_unique_interests",
            min_width=140,
            info="Audience interests targeted (travel, gaming, food…).",
        )
    return end_box


def _ad_mixes(inputs: dict[str, gr.components.Component]) -> dict[str, gr.Markdown]:
    """Section 2: the counts of each mix, added to ``inputs``; returns each mix's running total."""
    section_title("Ad mixes (number of ads)")
    mix_totals: dict[str, gr.Markdown] = {}
    for mix, fields in MIXES.items():
        with gr.Group():
            with gr.Row():
                for field in fields:
                    inputs[field] = _count_input(field)
            mix_totals[mix] = gr.Markdown(
                _mix_label(mix)(DEFAULT_PLAN["total_ads"], *(DEFAULT_PLAN[f] for f in fields)),
                elem_classes="cpp-mix-total",
                padding=True,
                elem_id=f"total-{mix.lower().replace(' ', '-')}",
            )
    return mix_totals


def _level_and_model(models: Mapping[str, str]) -> tuple[gr.Radio, gr.Radio]:
    """The range level, and the model choice (shown only with two or more models)."""
    level = gr.Radio(
        choices=[(fmt_level(lv), lv) for lv in LEVELS],
        value=DEFAULT_LEVEL,
        label="Range level",
        info="How sure the range should be: wider for 95%.",
        elem_id="in-level",
    )
    api_type(
        level,
        {"type": "number"},
        "How sure the range is: " + ", ".join(f"{lv:g}" for lv in LEVELS) + ".",
    )
    model = gr.Radio(
        choices=[(label, m) for m, label in models.items()],
        value=next(iter(models)),
        label="Model",
        info="Which trained model answers; compare them by saving a scenario with each.",
        visible=len(models) > 1,
        elem_id="in-model",
    )
    return level, model


def _wire_live_checks(
    inputs: dict[str, gr.components.Component],
    mix_totals: dict[str, gr.Markdown],
    end_box: gr.Textbox,
) -> None:
    """Keep the mixes' running totals and the end month up to date as the plan changes."""
    for mix, fields in MIXES.items():
        counts = [inputs["total_ads"], *(inputs[f] for f in fields)]
        _live([c.change for c in counts], _mix_label(mix), counts, mix_totals[mix])
    month_inputs = [inputs["start_month"], inputs["duration_days"]]
    _live([c.change for c in month_inputs], end_month_text, month_inputs, end_box)


def build_plan_form(models: Mapping[str, str]) -> PlanForm:
    """Draw the form in the current column; wire the end month and the mixes' running totals.

    ``models`` maps the models offered to their labels, the default first; the choice shows
    only with two or more.
    """
    inputs: dict[str, gr.components.Component] = {}
    end_box = _core_settings(inputs)
    mix_totals = _ad_mixes(inputs)
    level, model = _level_and_model(models)
    button = gr.Button(
        "Predict Purchases",
        variant="primary",
        size="lg",
        elem_id="predict-button",
        elem_classes="cpp-predict-button",
    )
    form = PlanForm(inputs=inputs, level=level, model=model, predict_button=button)
    gr.Examples(
        examples=[[*values, DEFAULT_LEVEL] for _, values in EXAMPLES],
        example_labels=[label for label, _ in EXAMPLES],
        inputs=[*form.plan_inputs, level],
        label="Example campaigns (click to fill the form)",
        examples_per_page=len(EXAMPLES),
    )
    _wire_live_checks(inputs, mix_totals, end_box)
    return form
