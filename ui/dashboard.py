"""Section 7: what planners try, from the anonymous scenario log, with a CSV download."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from predictor.record import dashboard as db
from predictor.record.log_rows import empty_frame
from predictor.record.scenario_log import ScenarioLogError
from ui.common import Services, markdown_escape, section_intro
from ui.scenarios import CsvFiles

log = logging.getLogger(__name__)

COMMON_PLAN_HEADERS = {
    "budget_band": "Budget",
    "platform_mix": "Platforms",
    "format_mix": "Formats",
    "predictions": "Predictions",
    "share": "Share",
    "median_purchases": "Median purchases",
}
DASHBOARD_ABOUT = (
    "Every prediction made here is logged anonymously: the plan, the answer and its range, "
    "the model and the time. No address or browser is kept. The name you give a saved "
    "scenario stays private: this dashboard and its download show every visitor only "
    "whether a plan was saved as a scenario, never its name."
)
# What the two histograms share: bins on x, counts of predictions on y, in the bins' order.
_HISTOGRAM: dict[str, Any] = {
    "x": "bin",
    "y": "count",
    "y_title": "Predictions",
    "sort": None,
    "min_width": 300,
}


@dataclass
class DashboardView:
    """The dashboard's summary, tables, plots and download."""

    refresh: gr.Button
    summary: gr.Markdown
    common: gr.Dataframe
    budgets: gr.BarPlot
    purchases: gr.BarPlot
    over_time: gr.LinePlot
    download: gr.DownloadButton

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [
            self.summary,
            self.common,
            self.budgets,
            self.purchases,
            self.over_time,
            self.download,
        ]


def common_plans_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The most common plans with the page's headers and the share as a percentage."""
    table = db.common_plans(frame).copy()
    table["share"] = [f"{s:.0%}" for s in table["share"]]
    return table.rename(columns=COMMON_PLAN_HEADERS)


def log_off_summary(reason: str | None) -> str:
    """Why the dashboard is empty: the log is switched off, or its settings cannot work."""
    if reason is None:
        return "The scenario log is off (`SCENARIO_LOG=off`), so there is nothing to show."
    return (
        "**The scenario log is not working, so nothing is logged or shown here.** "
        f"{markdown_escape(reason[:1].upper() + reason[1:])}."
    )


def waiting_note(stats: dict[str, int]) -> str:
    """`` · N rows waiting …`` when rows are not in the store yet; else nothing."""
    waiting = stats.get("pending", 0) + stats.get("spooled", 0)
    if not waiting:
        return ""
    rows = f"{waiting:,} row{'' if waiting == 1 else 's'}"
    if stats.get("spooled", 0):
        return (
            f" · **{rows} waiting** for the log's store, which did not answer; they are kept "
            "and written when it is back."
        )
    return f" · {rows} being written."


def dashboard_handler(services: Services, files: CsvFiles) -> Callable[[], tuple]:
    """The ``/dashboard`` handler: the log's figures, read now."""

    def dashboard() -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, Any]:
        """What planners tried: summary, most common plans, budget and purchase distributions,
        predictions per day, and the log as a CSV file."""
        if not services.log.enabled:
            summary = log_off_summary(getattr(services.log, "reason", None))
            frame = services.log.read_frame()
        else:
            services.log.flush(timeout=2.0)
            try:
                frame = services.log.read_frame()
                summary = (
                    f"**{len(frame):,} prediction{'' if len(frame) == 1 else 's'}** logged"
                    if len(frame)
                    else "No predictions are logged yet: predict a plan, then refresh."
                )
            except ScenarioLogError as exc:
                log.warning("dashboard: %s", exc)  # the store's address stays off the page
                frame = empty_frame()
                summary = "The scenario log's store cannot be read right now; try again later."
            summary += waiting_note(services.log.stats())
        over_time = db.predictions_over_time(frame)
        over_time["period"] = over_time["period"].dt.strftime("%Y-%m-%d")
        public = db.public_log(frame)
        csv = files.write(public, date_format=db.DATE_FORMAT) if len(frame) else None
        return (
            summary,
            common_plans_table(frame),
            db.budget_distribution(frame),
            db.purchases_distribution(frame),
            over_time,
            csv,
        )

    return dashboard


def _histogram_plot(title: str, x_title: str, elem_id: str) -> gr.BarPlot:
    return gr.BarPlot(title=title, x_title=x_title, elem_id=elem_id, **_HISTOGRAM)


def build_dashboard_view() -> DashboardView:
    """Draw the dashboard section."""
    section_intro("7 · What planners try", DASHBOARD_ABOUT, "dashboard-about")
    with gr.Row(equal_height=False, elem_classes="cpp-actions"):
        refresh = gr.Button("Refresh dashboard", min_width=160, elem_id="dashboard-refresh")
        download = gr.DownloadButton(
            "Download log CSV", value=None, min_width=160, elem_id="dashboard-download"
        )
    summary = gr.Markdown(elem_id="dashboard-summary")
    common = gr.Dataframe(
        label="Most common plans", interactive=False, wrap=False, elem_id="dashboard-common"
    )
    with gr.Row(equal_height=False):
        budgets = _histogram_plot("Budgets planned", "Total budget", "dashboard-budgets")
        purchases = _histogram_plot(
            "Purchases predicted", "Predicted purchases", "dashboard-purchases"
        )
    over_time = gr.LinePlot(
        x="period",
        y="predictions",
        title="Predictions per day",
        x_title="Day (UTC)",
        y_title="Predictions",
        elem_id="dashboard-time",
    )
    return DashboardView(refresh, summary, common, budgets, purchases, over_time, download)


def wire_dashboard(view: DashboardView, services: Services) -> None:
    """Connect the refresh button."""
    view.refresh.click(
        dashboard_handler(services, CsvFiles("scenario-log")),
        inputs=None,
        outputs=view.outputs,
        api_name="dashboard",
        show_progress="minimal",
    )
