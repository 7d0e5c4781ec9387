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
    model_arg,
    plan_and_level,
    user_errors,
    with_plan_parameters,
)

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


def curve_table(curves: Curves) -> pd.DataFrame:
    """Both curves' points in one table (curve, x, prediction, lower, upper)."""
    frames = []
    for name, frame in (("total_budget", curves.budget), ("total_ads", curves.ads)):
        part = frame.loc[:, ["x", "prediction", "lower", "upper"]].copy()
        part.insert(0, "curve", name)
        frames.append(part)
    table = pd.concat(frames, ignore_index=True)
    table["prediction"] = table["prediction"].round(2)
    return table


def curves_handler(services: Services) -> Callable[..., tuple]:
    """The ``/curves`` handler."""

    @with_plan_parameters(LEVEL_PARAMETER, MODEL_PARAMETER)
    def curves(*args: Any) -> tuple[pd.DataFrame, pd.DataFrame, str, pd.DataFrame]:
        """What-if curves: purchases against total budget and against the number of ads.

        Returns the two charts' points (columns total_budget or total_ads, purchases, series),
        a note, and both curves in one table (curve, x, prediction, lower, upper).
        """
        plan, level = plan_and_level(args)
        predictor = services.predictor(model_arg(args))
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
            curve_chart(result.budget, "total_budget", plan.total_budget, level),
            curve_chart(result.ads, "total_ads", plan.total_ads, level),
            note,
            curve_table(result),
        )

    return curves


def _line_plot(x: str, x_title: str) -> gr.LinePlot:
    money = x == "total_budget"
    title = f"Purchases vs {'total budget' if money else 'number of ads'}"
    return gr.LinePlot(
        label=title,
        show_label=False,
        x=x,
        y="purchases",
        color="series",
        title=title,
        x_title=x_title,
        y_title="Predicted purchases",
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
    gr.Markdown("### 6 · What if…", elem_classes="cpp-section-title")
    gr.HTML(curve_legend_html(), elem_id="curve-legend")
    with gr.Row(equal_height=False):
        budget_plot = _line_plot("total_budget", "Total budget")
        ads_plot = _line_plot("total_ads", "Total ads (mix shares kept)")
    notes = gr.Markdown(label="Curve notes", elem_id="curve-notes")
    with gr.Accordion("Curve data", open=False):
        data = gr.Dataframe(
            label="Curve points", interactive=False, max_height=320, elem_id="curve-data"
        )
    return WhatIfView(budget_plot=budget_plot, ads_plot=ads_plot, notes=notes, data=data)
