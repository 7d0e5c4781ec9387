"""Section: find the best plan for a goal, within bounds per group, and put it on the form."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from predictor.contract.notices import BACKEND_CODES, code_of
from predictor.contract.plan import PLAN_FIELDS
from predictor.planning.optimize import OUT_OF_REACH, Optimized, optimize
from predictor.planning.optimize_goals import GOAL_LABELS, Goal
from predictor.planning.optimize_space import GROUP_LABELS, GROUPS
from predictor.planning.optimize_text import plan_lines
from ui.common import (
    LEVEL_PARAMETER,
    MESSAGE_LABELS,
    MODEL_PARAMETER,
    Services,
    input_error,
    model_arg,
    optional_number,
    parameter,
    plan_and_level,
    section_title,
    user_errors,
    with_plan_parameters,
)

OPTIMIZE_CSS = """
.cpp-opt { display: grid; gap: 0.5rem; overflow-wrap: anywhere; }
.cpp-opt-head { font-weight: 700; font-size: 1.05rem; padding: 0.7rem 0.9rem;
  border-radius: 12px; background: var(--color-accent-soft); }
.cpp-opt-out_of_reach { background: #fff1e6; color: #7c2d12; }
.cpp-opt-cols { display: grid; gap: 0.4rem 1.2rem;
  grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); }
.cpp-opt h4 { margin: 0.3rem 0 0.1rem; font-size: 0.95rem; }
.cpp-opt ul { margin: 0; padding-left: 1.1rem; }
.cpp-opt li { margin: 0.1rem 0; }
.cpp-opt-meta { font-size: 0.85rem; opacity: 0.8; }
"""
TABLE_HEADERS = ["Field", "Min", "Max", "Min %", "Max %"]
TABLE_KEYS = ("min", "max", "min_share", "max_share")
# Each plan field's row label in the bounds table, and the words a row may use for it.
ROW_LABELS: dict[str, str] = {f: MESSAGE_LABELS[f] for f in PLAN_FIELDS}
ROW_FIELDS: dict[str, str] = {
    **{label.lower(): f for f, label in ROW_LABELS.items()},
    **{f: f for f in PLAN_FIELDS},
}
METHOD_WORDS = {
    "exact": "exact optimum of the Ridge model",
    "search": "batched search (many plans per model call)",
}
NO_PLAN = "Find a plan first: press Find the best plan."


@dataclass
class OptimizeView:
    """The goal, what may change, the bounds, the answer and its "Use this plan" button."""

    goal: gr.Radio
    change: gr.Dropdown
    target: gr.Number
    max_cost: gr.Number
    min_roas: gr.Number
    table: gr.Dataframe
    bounds: gr.JSON
    button: gr.Button
    api_trigger: gr.Button
    answer: gr.HTML
    data: gr.JSON
    use_button: gr.Button


def empty_table() -> pd.DataFrame:
    """The bounds table with one empty row per plan field."""
    return pd.DataFrame(
        [[ROW_LABELS[f], None, None, None, None] for f in PLAN_FIELDS], columns=TABLE_HEADERS
    )


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value


def bounds_from_table(table: Any) -> dict[str, dict[str, Any]]:
    """``{field: {"min", "max", "min_share", "max_share"}}`` from the bounds table's filled
    cells (rows name a field by its label or its name); :class:`gr.Error` for an unknown row."""
    if table is None:
        return {}
    if isinstance(table, Mapping) and "data" in table:
        table = pd.DataFrame(table["data"], columns=table.get("headers") or None)
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    out: dict[str, dict[str, Any]] = {}
    for values in frame.itertuples(index=False):
        cells = [_cell(v) for v in list(values)[: len(TABLE_HEADERS)]]
        if not any(c is not None for c in cells[1:]):
            continue
        label = str(cells[0] or "").strip()
        field = ROW_FIELDS.get(label.lower())
        if field is None:
            raise input_error(
                f"Bounds: {label!r} is not a plan field; use one of "
                + ", ".join(ROW_LABELS.values())
            )
        out[field] = {k: v for k, v in zip(TABLE_KEYS, cells[1:], strict=False) if v is not None}
    return out


def bounds_arg(bounds: Any) -> dict[str, Any]:
    """The bounds from the page's table, or from an API client's object (or its JSON text)."""
    if bounds is None or (isinstance(bounds, str) and not bounds.strip()):
        return {}
    if isinstance(bounds, str):
        try:
            bounds = json.loads(bounds)
        except ValueError:
            raise input_error("Bounds: give a JSON object of fields and their bounds") from None
    if isinstance(bounds, pd.DataFrame) or (
        isinstance(bounds, Mapping) and {"headers", "data"} <= set(bounds)
    ):
        return bounds_from_table(bounds)
    if not isinstance(bounds, Mapping):
        raise input_error('Bounds: give an object like {"instagram_ads": {"max_share": 60}}')
    return dict(bounds)


def _given(value: Any) -> Any:
    return None if value is None or value == "" or value == 0 else value


def _items(lines: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def render_answer(answer: Optimized, model_label: str) -> str:
    """The answer as HTML: headline, gain with both ranges, changes, the plan in full, the
    limits that decide it, notes and how it was found."""
    closest = answer.status == OUT_OF_REACH
    changes = answer.changes or ("No change: the current plan is kept.",)
    notes = [n for n in answer.notices if code_of(n) not in BACKEND_CODES]
    parts = [
        f'<div class="cpp-opt-head cpp-opt-{answer.status}">{html.escape(answer.message)}</div>',
        f'<p class="cpp-opt-gain">{html.escape(answer.gain)}</p>',
        '<div class="cpp-opt-cols"><div><h4>Changes from the current plan</h4>'
        + _items(changes)
        + f"</div><div><h4>{'The closest plan' if closest else 'The best plan'} in full</h4>"
        + _items(plan_lines(answer.best.plan))
        + "</div></div>",
    ]
    if answer.limits:
        parts.append("<h4>What decides this plan</h4>" + _items(answer.limits))
    if notes:
        parts.append("<h4>Notes</h4>" + _items(notes))
    calls = "1 model call" if answer.model_calls == 1 else f"{answer.model_calls} model calls"
    parts.append(
        f'<p class="cpp-opt-meta">{html.escape(model_label)}: '
        f"{METHOD_WORDS[answer.method]}, {calls}.</p>"
    )
    return '<div class="cpp-opt" id="optimize-body">' + "".join(parts) + "</div>"


def optimize_handler(services: Services) -> Callable[..., tuple[str, dict[str, Any]]]:
    """The ``/optimize`` handler."""

    @with_plan_parameters(
        LEVEL_PARAMETER,
        MODEL_PARAMETER,
        parameter("goal", str(Goal.MOST_PURCHASES)),
        parameter("change", None),
        parameter("bounds", None),
        parameter("target_purchases", None),
        parameter("max_cost_per_purchase", None),
        parameter("min_roas", None),
        parameter("average_order_value", None),
    )
    def optimize_plan(*args: Any) -> tuple[str, dict[str, Any]]:
        """The best plan for ``goal`` (most_purchases, careful, least_budget, within_cost) when
        the groups in ``change`` may change, within ``bounds`` (``{"instagram_ads":
        {"max_share": 60}, "total_budget": {"max": 80000}}``). Returns the answer as HTML and
        as data."""
        plan, level = plan_and_level(args)
        model = services.model_name(model_arg(args))
        predictor = services.predictor(model)
        rest = [*args[len(PLAN_FIELDS) + 2 :], *([None] * 7)]
        goal, change, bounds, target, max_cost, roas, order_value = rest[:7]
        with user_errors():
            answer = optimize(
                predictor,
                plan,
                goal or Goal.MOST_PURCHASES,
                change or [],
                bounds_arg(bounds),
                level,
                target_purchases=_given(target),
                max_cost_per_purchase=_given(max_cost),
                min_roas=_given(roas),
                average_order_value=_given(order_value),
            )
        return render_answer(answer, services.label(model)), answer.to_dict()

    return optimize_plan


def use_plan(data: Any) -> list[Any]:
    """The form's values for the answer's plan, in ``PLAN_FIELDS`` order."""
    try:
        plan = data["best"]["plan"]
        return [plan[f] for f in PLAN_FIELDS]
    except (KeyError, TypeError):
        raise input_error(NO_PLAN) from None


def build_optimize_view() -> OptimizeView:
    """Draw the section (full width, between the budget question and the what-if curves)."""
    section_title("Find the best plan")
    goal = gr.Radio(
        choices=[(label, str(g)) for g, label in GOAL_LABELS.items()],
        value=str(Goal.MOST_PURCHASES),
        label="Goal",
        info="The careful plan is the one whose bad case (the range's lower end) is best.",
        elem_id="opt-goal",
    )
    # A dropdown that lets unknown names through, so that the optimizer's own message names
    # them (a checkbox group would refuse them with a generic one).
    change = gr.Dropdown(
        choices=[(GROUP_LABELS[g].capitalize(), g) for g in GROUPS],
        value=["platform", "format"],
        multiselect=True,
        allow_custom_value=True,
        label="What may change",
        info="Everything else stays as planned.",
        elem_id="opt-change",
    )
    with gr.Row(equal_height=False):
        target = optional_number(
            "Purchases to reach (least budget)",
            "Empty: the current plan's expected purchases.",
            "opt-target",
        )
        max_cost = optional_number("Max cost per purchase", "For the cost goal.", "opt-max-cost")
        min_roas = optional_number(
            "Or min ROAS", "Uses the order value of section 4.", "opt-min-roas"
        )
    with gr.Accordion("Bounds per group (optional)", open=False, elem_id="opt-bounds"):
        gr.Markdown(
            "Counts or amounts in Min/Max; for the ads of a mix, shares of the plan's ads in "
            "Min %/Max % (e.g. Instagram at most 60%)."
        )
        table = gr.Dataframe(
            value=empty_table(),
            headers=TABLE_HEADERS,
            datatype=["str", "number", "number", "number", "number"],
            interactive=True,
            static_columns=[0],
            row_count=len(PLAN_FIELDS),
            column_count=len(TABLE_HEADERS),
            max_height=420,
            column_widths=["36%", "16%", "16%", "16%", "16%"],
            wrap=True,
            label="Bounds",
            elem_id="opt-table",
        )
    bounds = gr.JSON(value=None, visible=False, label="Bounds (API)")
    button = gr.Button("Find the best plan", variant="primary", elem_id="opt-button")
    # The API's endpoint takes the bounds as an object rather than the page's table.
    api_trigger = gr.Button(visible=False)
    answer = gr.HTML("", css_template=OPTIMIZE_CSS, js_on_load=None, elem_id="opt-answer")
    data = gr.JSON(visible=False, label="Best plan")
    use_button = gr.Button("Use this plan", visible=False, elem_id="opt-use")
    return OptimizeView(
        goal,
        change,
        target,
        max_cost,
        min_roas,
        table,
        bounds,
        button,
        api_trigger,
        answer,
        data,
        use_button,
    )


def wire_optimizer(
    view: OptimizeView,
    services: Services,
    plan_inputs: list[gr.components.Component],
    level: gr.components.Component,
    model: gr.components.Component,
    order_value: gr.components.Component,
) -> None:
    """Connect the section: ``/optimize``, and "Use this plan" filling the form."""
    handler = optimize_handler(services)
    inputs = [*plan_inputs, level, model, view.goal, view.change]
    goals = [view.target, view.max_cost, view.min_roas, order_value]
    outputs = [view.answer, view.data]
    found = view.button.click(
        handler,
        inputs=[*inputs, view.table, *goals],
        outputs=outputs,
        api_visibility="private",
        show_progress="minimal",
    )
    view.api_trigger.click(
        handler, inputs=[*inputs, view.bounds, *goals], outputs=outputs, api_name="optimize"
    )
    found.success(lambda: gr.Button(visible=True), None, view.use_button, api_visibility="private")
    view.use_button.click(
        use_plan, view.data, plan_inputs, api_visibility="private", show_progress="hidden"
    )
    # What the "Use via API" page shows for these inputs (Gradio's defaults would fail).
    for component, value in (
        (view.goal, str(Goal.MOST_PURCHASES)),
        (view.change, ["platform", "format"]),
        (view.bounds, {"total_budget": {"max": 80_000}}),
        (view.target, 0),
        (view.max_cost, 0),
        (view.min_roas, 0),
    ):
        component.example_payload = lambda value=value: value  # type: ignore[method-assign]
