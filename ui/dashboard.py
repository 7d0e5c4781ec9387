"""Section 7: what planners try, from the anonymous scenario log, with a CSV download."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from predictor.record import dashboard as db
from predictor.record.scenario_log import ScenarioLogError
from ui.common import Services
from ui.scenarios import CsvFiles

COMMON_PLAN_HEADERS = {
    "budget_band": "Budget",
    "platform_mix": "Platforms",
    "format_mix": "Formats",
    "predictions": "Predictions",
    "share": "Share",
    "median_purchases": "Median purchases",
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


def dashboard_handler(services: Services, files: CsvFiles) -> Callable[[], tuple]:
    """The ``/dashboard`` handler: the log's figures, read now."""

    def dashboard() -> tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, Any]:
        """What planners tried: summary, most common plans, budget and purchase distributions,
        predictions per day, and the log as a CSV file."""
        if not services.log.enabled:
            summary = "The scenario log is off (`SCENARIO_LOG=off`), so there is nothing to show."
            frame = services.log.read_frame()
        else:
            try:
                services.log.flush(timeout=2.0)
                frame = services.log.read_frame()
            except ScenarioLogError as exc:
                raise gr.Error(str(exc), title="Scenario log", print_exception=False) from None
            summary = (
                f"**{len(frame):,} prediction{'' if len(frame) == 1 else 's'}** logged"
                if len(frame)
                else "No predictions are logged yet: predict a plan, then refresh."
            )
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
    return gr.BarPlot(
        x="bin",
        y="count",
        title=title,
        x_title=x_title,
        y_title="Predictions",
        sort=None,
        min_width=300,
        elem_id=elem_id,
    )


def build_dashboard_view() -> DashboardView:
    """Draw the dashboard section."""
    gr.Markdown("### 7 · What planners try", elem_classes="cpp-section-title")
    gr.Markdown(
        "Every prediction made here is logged anonymously: the plan, the answer and its range, "
        "the model and the time. No address or browser is kept. The name you give a saved "
        "scenario stays private: this dashboard and its download show every visitor only "
        "whether a plan was saved as a scenario, never its name.",
        elem_id="dashboard-about",
    )
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
