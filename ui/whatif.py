"""Section 6: what-if charts of purchases against the budget and the number of ads."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from predictor.contract.formatting import fmt_level
from predictor.contract.notices import NoticeCode, code_of
from predictor.planning.whatif import Curves, what_if_curves
from ui.common import (
    LEVEL_PARAMETER,
    LEVELS,
    MODEL_PARAMETER,
    Services,
    markdown_escape,
    section_title,
    user_errors,
    with_plan_parameters,
)

SERIES_PREDICTED = "predicted purchases"
SERIES_BEYOND = "predicted, beyond the data"
SERIES_PLAN = "your plan"
SERIES_KNEE = "returns flatten"
PREDICTED_COLOR = "#4338ca"
BAND_COLOR = "#a5b4fc"  # the range's bounds, pale beside the prediction
BEYOND_COLOR = "#9ca3af"  # grey: past the campaigns the model learned from
PLAN_COLOR = "#ea580c"
KNEE_COLOR = "#16a34a"
# The charts' colour column: its name titles the line in a tooltip.
LINE = "Line"
# The budget axis counts thousands: a tooltip shows its number without separators.
BUDGET_X = "budget_thousands"
ADS_X = "total_ads"


def upper_name(level: float) -> str:
    return f"upper end of the {fmt_level(level)} range"


def lower_name(level: float) -> str:
    return f"lower end of the {fmt_level(level)} range"


SERIES_COLORS: dict[str, str] = {
    SERIES_PREDICTED: PREDICTED_COLOR,
    SERIES_BEYOND: BEYOND_COLOR,
    **{upper_name(level): BAND_COLOR for level in LEVELS},
    **{lower_name(level): BAND_COLOR for level in LEVELS},
    SERIES_PLAN: PLAN_COLOR,
    SERIES_KNEE: KNEE_COLOR,
}


@dataclass
class WhatIfView:
    """The charts, their notes and their data."""

    budget_plot: gr.LinePlot
    ads_plot: gr.LinePlot
    notes: gr.Markdown
    data: gr.Dataframe

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.budget_plot, self.ads_plot, self.notes, self.data]


def curve_legend_html() -> str:
    """The what-if charts' shared legend, as HTML that wraps on a narrow screen."""
    entries = (
        (PREDICTED_COLOR, "predicted purchases"),
        (BAND_COLOR, "upper and lower ends of the range"),
        (BEYOND_COLOR, "beyond the campaigns the model learned from"),
        (PLAN_COLOR, "your plan"),
        (KNEE_COLOR, "where returns flatten"),
    )
    swatch = "display:inline-block;width:1.6rem;height:0.25rem;border-radius:2px;background:"
    items = "".join(
        '<span style="display:inline-flex;align-items:center;gap:0.45rem">'
        f'<span style="{swatch}{color}"></span>{html.escape(text)}</span>'
        for color, text in entries
    )
    return f'<div style="display:flex;flex-wrap:wrap;gap:0.35rem 1.2rem">{items}</div>'


def _series(x: np.ndarray, y: np.ndarray, x_name: str, name: str) -> pd.DataFrame:
    return pd.DataFrame({x_name: x, "purchases": y, LINE: name})


def curve_chart(
    curve: pd.DataFrame,
    x_name: str,
    current_x: float,
    level: float,
    scale: float = 1.0,
    knee: float | None = None,
) -> pd.DataFrame:
    """A curve in long form for a line plot (columns ``x_name``, purchases, Line), x divided by
    ``scale``.

    Lines: the prediction (grey where the point lies beyond the training data, joined to the
    rest), the interval's upper and lower bounds, the plan as a vertical line from 0 through
    its prediction to the top of the band, and the ``knee`` where returns flatten likewise.
    """
    x = curve["x"].to_numpy(dtype=float) / scale
    predicted = curve["prediction"].to_numpy(dtype=float)
    outside = curve["beyond"].to_numpy(dtype=bool) if "beyond" in curve else np.zeros(len(x), bool)
    # Each grey stretch takes in its neighbours inside, so that the two lines meet.
    grey = outside.copy()
    grey[:-1] |= outside[1:]
    grey[1:] |= outside[:-1]
    parts = [
        _series(x[~outside], predicted[~outside], x_name, SERIES_PREDICTED),
        _series(x[grey], predicted[grey], x_name, SERIES_BEYOND),
        _series(x, curve["upper"].to_numpy(dtype=float), x_name, upper_name(level)),
        _series(x, curve["lower"].to_numpy(dtype=float), x_name, lower_name(level)),
    ]
    top = max(float(curve["upper"].max()), float(predicted.max()), 1.0)
    for at, name in ((current_x, SERIES_PLAN), (knee, SERIES_KNEE)):
        if at is None:
            continue
        here = int(np.argmin(np.abs(curve["x"].to_numpy(dtype=float) - at)))
        height = float(predicted[here])
        parts.append(_series(np.full(3, at / scale), np.array([0.0, height, top]), x_name, name))
    chart = pd.concat([p for p in parts if len(p)], ignore_index=True)
    chart["purchases"] = chart["purchases"].round(1)
    return chart


CURVE_NAMES = {"total_budget": "Total budget", "total_ads": "Number of ads"}


def curve_table(curves: Curves) -> pd.DataFrame:
    """Both curves' points in one table: curve, x, prediction, lower, upper, whether the point
    lies beyond the training data, and on the budget curve what the next purchase costs."""
    frames = []
    for name, frame in (("total_budget", curves.budget), ("total_ads", curves.ads)):
        part = frame.loc[:, ["x", "prediction", "lower", "upper"]].copy()
        part.insert(0, "curve", CURVE_NAMES[name])
        part["beyond_training_data"] = frame["beyond"].to_numpy(dtype=bool)
        part["next_purchase_costs"] = (
            frame["marginal_cost"].round(2) if "marginal_cost" in frame else np.nan
        )
        part["returns_flatten_here"] = part["x"] == curves.knee if name == "total_budget" else False
        frames.append(part)
    table = pd.concat(frames, ignore_index=True)
    table["prediction"] = table["prediction"].round(2)
    # JSON has no infinity: a budget step that adds no purchase is left empty.
    table["next_purchase_costs"] = table["next_purchase_costs"].replace([np.inf, -np.inf], np.nan)
    return table


def curves_handler(services: Services) -> Callable[..., tuple]:
    """The ``/curves`` handler."""

    @with_plan_parameters(LEVEL_PARAMETER, MODEL_PARAMETER)
    def curves(*args: Any) -> tuple[pd.DataFrame, pd.DataFrame, str, pd.DataFrame]:
        """What-if curves: purchases against total budget and against the number of ads.

        Returns the two charts' points (columns budget_thousands or total_ads, purchases, Line),
        a note, and both curves in one table (curve, x, prediction, lower, upper,
        beyond_training_data, next_purchase_costs, returns_flatten_here).
        """
        plan, level, predictor = services.plan_inputs(args)
        with user_errors():
            result = what_if_curves(predictor, plan, level)
        note = (
            f"Other settings are held at your plan's values. The pale lines bound the "
            f"{fmt_level(level)} range; the orange line marks your plan. "
        )
        falling = [n for n in result.notices if code_of(n) is NoticeCode.ADS_SPLIT_BUDGET]
        others = [n for n in result.notices if n not in falling]
        note = "".join(f"**{markdown_escape(n)}** " for n in falling) + note
        note += " ".join(markdown_escape(n) for n in others)
        return (
            curve_chart(
                result.budget, BUDGET_X, plan.total_budget, level, scale=1000, knee=result.knee
            ),
            curve_chart(result.ads, ADS_X, plan.total_ads, level),
            note,
            curve_table(result),
        )

    return curves


def _line_plot(x: str, x_title: str) -> gr.LinePlot:
    money = x == BUDGET_X
    title = f"Purchases vs {'total budget' if money else 'number of ads'}"
    return gr.LinePlot(
        label=title,
        show_label=False,
        x=x,
        y="purchases",
        color=LINE,
        title=title,
        x_title=x_title,
        # Short, so that a phone's narrow chart never cuts it.
        y_title="Purchases",
        color_map=SERIES_COLORS,
        # One legend above both charts (curve_legend_html): Vega's single-row legend would
        # overflow a phone's width.
        colors_in_legend=[],
        x_axis_format=",.0f" if money else "d",
        y_lim=[0, None],
        height=360,
        min_width=300,
        elem_id="plot-budget" if money else "plot-ads",
    )


def build_whatif_view() -> WhatIfView:
    """Draw the legend, both charts, their notes and data."""
    section_title("What if…")
    gr.HTML(curve_legend_html(), elem_id="curve-legend")
    with gr.Row(equal_height=False):
        budget_plot = _line_plot(BUDGET_X, "Total budget (thousands)")
        ads_plot = _line_plot(ADS_X, "Number of ads (your plan's mix)")
    notes = gr.Markdown(label="Curve notes", elem_id="curve-notes")
    with gr.Accordion("Curve data", open=False):
        data = gr.Dataframe(
            label="Curve points", interactive=False, max_height=320, elem_id="curve-data"
        )
    return WhatIfView(budget_plot=budget_plot, ads_plot=ads_plot, notes=notes, data=data)
