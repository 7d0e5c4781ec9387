"""What planners try, from the anonymous scenario log, with a CSV download."""

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


@dataclass
class DashboardView:
    """The dashboard's summary, tables, plots and download."""

    refresh: gr.Button
    summary: gr.Markdown
    common: gr.Dataframe
    budgets: gr.BarPlot
    purchases: gr.BarPlot
    over_time: gr.BarPlot
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


def _arrange(budgets: Any, purchases: Any, over_time: Any, csv: Any) -> tuple:
    """The table and charts shown only with something logged, each chart's bars in its data's
    order (lowest bin, earliest day first: the axis would sort them as text)."""

    def bars(plot: Any, x: str) -> gr.BarPlot:
        rows = getattr(plot, "data", None) or []
        columns = list(getattr(plot, "columns", None) or [])
        order = [str(row[columns.index(x)]) for row in rows] if x in columns else []
        return gr.BarPlot(sort=order or None, visible=bool(csv))

    return (
        gr.Dataframe(visible=bool(csv)),
        bars(budgets, "bin"),
        bars(purchases, "bin"),
        bars(over_time, "period"),
    )


def _bar_plot(x: str, y: str, title: str, x_title: str, elem_id: str) -> gr.BarPlot:
    return gr.BarPlot(
        value=pd.DataFrame({x: pd.Series(dtype=str), y: pd.Series(dtype=int)}),
        x=x,
        y=y,
        title=title,
        x_title=x_title,
        y_title="Predictions",
        # Slanted labels never run into each other, however narrow the bars.
        x_label_angle=-40,
        # From 0: a single day's count is a bar, not a flat line at its own height.
        y_lim=[0, None],
        sort=None,
        visible=False,
        min_width=300,
        elem_id=elem_id,
    )


def build_dashboard_view() -> DashboardView:
    """Draw the dashboard section."""
    section_intro("What planners try", DASHBOARD_ABOUT, "dashboard-about")
    with gr.Row(equal_height=False, elem_classes="cpp-actions"):
        refresh = gr.Button("Refresh dashboard", min_width=160, elem_id="dashboard-refresh")
        download = gr.DownloadButton(
            "Download log CSV", value=None, min_width=160, elem_id="dashboard-download"
        )
    summary = gr.Markdown(elem_id="dashboard-summary")
    common = gr.Dataframe(
        value=pd.DataFrame(columns=list(COMMON_PLAN_HEADERS.values())),
        label="Most common plans",
        interactive=False,
        wrap=False,
        visible=False,
        elem_id="dashboard-common",
    )
    with gr.Row(equal_height=False):
        budgets = _bar_plot("bin", "count", "Budgets planned", "Total budget", "dashboard-budgets")
        purchases = _bar_plot(
            "bin", "count", "Purchases predicted", "Predicted purchases", "dashboard-purchases"
        )
    # Bars, not a line: a single day is a bar, where a line would draw nothing.
    over_time = _bar_plot(
        "period", "predictions", "Predictions per day", "Day (UTC)", "dashboard-time"
    )
    return DashboardView(refresh, summary, common, budgets, purchases, over_time, download)


def wire_dashboard(view: DashboardView, services: Services) -> None:
    """Fill the dashboard when the page opens, and again on the refresh button."""
    handler = dashboard_handler(services, CsvFiles("scenario-log"))
    charts = [view.budgets, view.purchases, view.over_time]
    arrange = {
        "fn": _arrange,
        "inputs": [*charts, view.download],
        "outputs": [view.common, *charts],
        "api_visibility": "private",
        "show_progress": "hidden",
        "queue": False,
    }
    view.refresh.click(
        handler, inputs=None, outputs=view.outputs, api_name="dashboard", show_progress="minimal"
    ).success(**arrange)

    def on_opening() -> tuple:
        # A log that cannot be read says so in the summary, not in a pop-up on every visit.
        try:
            return handler()
        except gr.Error as exc:
            return (f"The dashboard cannot be drawn: {exc.message}", *[gr.skip()] * 5)

    # No inputs: this runs once, on opening the page.
    gr.on(
        None, on_opening, outputs=view.outputs, api_visibility="private", show_progress="hidden"
    ).success(**arrange)
