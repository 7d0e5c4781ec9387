"""Section 5: the budget a goal needs, for a number of purchases or a cost per purchase."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import gradio as gr

from predictor.contract.formatting import fmt_money
from predictor.planning.target_budget import budget_for_cpa, budget_for_purchases
from ui.common import (
    LEVEL_PARAMETER,
    MODEL_PARAMETER,
    Services,
    input_error,
    markdown_escape,
    model_arg,
    optional_number,
    parameter,
    plan_and_level,
    section_title,
    user_errors,
    with_plan_parameters,
)


@dataclass
class TargetView:
    """The goal inputs, the button and the answer."""

    purchases: gr.Number
    max_cost: gr.Number
    button: gr.Button
    answer: gr.Markdown
    data: gr.JSON


def _given(value: Any) -> Any:
    return None if value is None or value == "" or value == 0 else value


def target_handler(services: Services) -> Callable[..., tuple[str, dict[str, Any]]]:
    """The ``/target_budget`` handler."""

    @with_plan_parameters(
        LEVEL_PARAMETER,
        MODEL_PARAMETER,
        # Not None: Gradio documents a None default as the example, and a call without a goal
        # answers nothing; 0 means "no purchase goal" as on the page.
        parameter("target_purchases", 0),
        parameter("max_cost_per_purchase", None),
        parameter("average_order_value", None),
        parameter("margin", None),
    )
    def target_budget(*args: Any) -> tuple[str, dict[str, Any]]:
        """The budgets this plan needs for ``target_purchases`` (predicted, and at the lower end
        of the range), and the largest budgets that keep the cost per purchase under
        ``max_cost_per_purchase`` (or the order value's break-even), searched in the training
        range. The plan's own budget is ignored."""
        plan, level = plan_and_level(args)
        predictor = services.predictor(model_arg(args))
        goal, max_cost, order_value, margin = (_given(a) for a in args[-4:])
        if goal is None and max_cost is None and order_value is None:
            raise input_error(
                "Enter the purchases you want, or a maximum cost per purchase (or an average "
                "order value to break even on)."
            )
        blocks, data = [], {}
        with user_errors():
            if goal is not None:
                found = budget_for_purchases(predictor, plan, goal, level)
                blocks.append(
                    f"**For {found.target:,.0f} purchases**\n\n"
                    f"- Expected: {markdown_escape(found.expected.message)}\n"
                    f"- With {level:.0%} confidence: {markdown_escape(found.assured.message)}"
                )
                data["purchases"] = asdict(found)
            if max_cost is not None or order_value is not None:
                cpa = budget_for_cpa(
                    predictor,
                    plan,
                    max_cost,
                    average_order_value=order_value,
                    margin=margin,
                    level=level,
                )
                blocks.append(
                    f"**Cost per purchase at most {fmt_money(cpa.max_cost_per_purchase)}** "
                    f"({markdown_escape(cpa.basis)})\n\n"
                    f"- Expected: {markdown_escape(cpa.expected.message)}\n"
                    f"- With {level:.0%} confidence: {markdown_escape(cpa.assured.message)}"
                )
                data["cost_per_purchase"] = asdict(cpa)
        # A blank line between the answers: a heading after a list item would join the item.
        return "\n\n".join(blocks), data

    return target_budget


def refusal_note(message: str) -> str:
    """What the answer area says in place of an answer: why there is none."""
    return f"**No budget found.** {markdown_escape(message)}"


# Bring the answer into view: on a desktop it lands below the fold.
SHOW_TARGET_JS = """() => { document.querySelector('#target-answer')
  ?.scrollIntoView({block: 'nearest', behavior: 'instant'}); }"""


def wire_target(view: TargetView, services: Services, plan_level: list, economics: list) -> None:
    """Connect "Find budgets" (``/target_budget``): the answer comes into view, and a refused
    goal says why in its place, so an earlier answer never stays under an error."""
    handler = target_handler(services)
    inputs = [*plan_level, view.purchases, view.max_cost, *economics]
    outputs = [view.answer, view.data]
    found = view.button.click(
        handler, inputs=inputs, outputs=outputs, api_name="target_budget", show_progress="minimal"
    )
    found.success(fn=None, js=SHOW_TARGET_JS, api_visibility="private", queue=False)

    @with_plan_parameters(
        LEVEL_PARAMETER,
        MODEL_PARAMETER,
        *(parameter(p, None) for p in ("purchases", "max_cost", "order_value", "margin")),
    )
    def refused(*args: Any) -> tuple[str, dict[str, Any]]:
        try:
            return handler(*args)
        except gr.Error as exc:
            return refusal_note(exc.message), {}

    found.failure(refused, inputs, outputs, api_visibility="private").then(
        fn=None, js=SHOW_TARGET_JS, api_visibility="private", queue=False
    )


def build_target_view() -> TargetView:
    """Draw the goal section."""
    section_title("What budget do I need?")
    with gr.Row(equal_height=False, elem_classes="cpp-actions"):
        purchases = optional_number(
            "Purchases wanted",
            "The budget is searched; the rest of the plan stays as it is.",
            "in-target-purchases",
        )
        max_cost = optional_number(
            "Max cost per purchase (optional)",
            "Or leave empty and give an order value above.",
            "in-max-cost",
        )
        button = gr.Button("Find budgets", min_width=140, elem_id="find-budget")
    answer = gr.Markdown(elem_id="target-answer")
    data = gr.JSON(visible=False)
    return TargetView(purchases, max_cost, button, answer, data)
