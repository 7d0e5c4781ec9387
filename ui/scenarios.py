"""Section 6: save plans as scenarios, compare them side by side, remove and export them."""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from predictor.contract.csv_export import csv_text
from predictor.planning import scenario_compare as sc
from predictor.planning.economics import economics_inputs
from ui.common import (
    LEVEL_PARAMETER,
    MODEL_PARAMETER,
    Services,
    parameter,
    plan_and_level,
    user_errors,
    with_plan_parameters,
)


@dataclass
class ScenarioView:
    """The scenario section's components and the session's list of scenarios."""

    state: gr.State
    name: gr.Textbox
    save_button: gr.Button
    hint: gr.Markdown
    table: gr.Dataframe
    remove_choice: gr.Dropdown
    remove_button: gr.Button
    download: gr.DownloadButton


EMPTY_DOWNLOAD = "Download CSV (no scenarios saved yet)"


class CsvFiles:
    """Writes CSV exports into one temporary folder, made on first use; same data, same file.

    Every file is spreadsheet-safe (:func:`predictor.contract.csv_export.csv_text`).
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._folder: Path | None = None
        self._lock = threading.Lock()

    def write(self, frame: pd.DataFrame, **to_csv: Any) -> str:
        """The path of a CSV file holding ``frame``; ``to_csv`` goes to pandas."""
        data = csv_text(frame, **to_csv).encode()
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        path = self._folder / f"{self.prefix}-{hashlib.sha256(data).hexdigest()[:10]}.csv"
        if not path.exists():
            tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return str(path)


def _session_list(scenarios: Any) -> list[dict[str, Any]]:
    return list(scenarios) if isinstance(scenarios, list) else []


def _outputs(
    scenarios: list[dict[str, Any]], order_value: Any = None, margin: Any = None
) -> tuple[pd.DataFrame, Any, list]:
    names = [s["name"] for s in scenarios]
    dropdown = gr.Dropdown(choices=names, value=names[-1] if names else None)
    with user_errors():
        economics_inputs(order_value, margin)  # refused even with no scenario to apply them to
        table = sc.comparison_table(scenarios, order_value, margin)
    return table, dropdown, scenarios


def compare(
    scenarios: list[dict[str, Any]] | None = None,
    average_order_value: float | None = None,
    margin: float | None = None,
) -> pd.DataFrame:
    """The comparison table of the saved scenarios, with economics once an order value is set
    (without them while the order value or margin is invalid: the economics section says why)."""
    scenarios = _session_list(scenarios)
    try:
        return _outputs(scenarios, average_order_value, margin)[0]
    except gr.Error:
        return sc.comparison_table(scenarios)


def save_handler(services: Services) -> Callable[..., tuple]:
    """The ``/save_scenario`` handler."""

    @with_plan_parameters(
        LEVEL_PARAMETER,
        parameter("scenarios", None),
        MODEL_PARAMETER,
        parameter("average_order_value", None),
        parameter("margin", None),
        before=[parameter("name")],
    )
    def save_scenario(name: Any, *args: Any) -> tuple[pd.DataFrame, Any, str, list[dict]]:
        """Save the plan (predicted now) as a named scenario; empty name means the next letter.
        With an order value (and margin), the comparison shows ROAS, cost per purchase and
        profit."""
        *values, scenarios, model, order_value, margin = args
        scenarios = _session_list(scenarios)
        plan, level = plan_and_level(values)
        model = services.model_name(model)
        predictor = services.predictor(model)
        with user_errors():
            name = sc.check_name(scenarios, name)
            prediction = predictor.predict(plan, level)
            scenarios = sc.add(scenarios, name, sc.answer_record(prediction, plan, model))
        services.log.record(plan, prediction, model=model, scenario_name=name)
        table, dropdown, state = _outputs(scenarios, order_value, margin)
        return table, dropdown, "", state

    return save_scenario


def remove_scenario(
    name: str | None,
    scenarios: list[dict[str, Any]] | None = None,
    average_order_value: float | None = None,
    margin: float | None = None,
) -> tuple[pd.DataFrame, Any, list[dict[str, Any]]]:
    """Remove the scenario called ``name``."""
    with user_errors():
        remaining = sc.remove(_session_list(scenarios), name)
    return _outputs(remaining, average_order_value, margin)


def export_handler(files: CsvFiles) -> Callable[..., str | None]:
    """The ``/export_scenarios`` handler."""

    def export_scenarios(
        scenarios: list[dict[str, Any]] | None = None,
        average_order_value: float | None = None,
        margin: float | None = None,
    ) -> str | None:
        """The saved scenarios as a CSV file (``None`` when there are none); with an order value
        (and margin), ROAS, cost per purchase and profit columns with their ranges."""
        scenarios = _session_list(scenarios)
        with user_errors():
            economics_inputs(average_order_value, margin)
            if not scenarios:
                return None
            return files.write(sc.csv_frame(scenarios, average_order_value, margin))

    return export_scenarios


def build_scenario_view() -> ScenarioView:
    """Draw the scenario section."""
    gr.Markdown("### 6 · Compare scenarios", elem_classes="cpp-section-title")
    state = gr.State([])
    with gr.Row(equal_height=False, elem_classes="cpp-actions"):
        name = gr.Textbox(
            label="Scenario name",
            placeholder="optional: A, B, C… by default",
            max_length=sc.MAX_NAME_LENGTH,
            min_width=180,
            elem_id="in-scenario-name",
        )
        save_button = gr.Button(
            "Save current plan as scenario",
            variant="secondary",
            min_width=180,
            elem_id="save-scenario",
        )
    hint = gr.Markdown(
        "Save a plan to compare it with others; saved plans appear here side by side.",
        elem_id="scenario-hint",
    )
    table = gr.Dataframe(
        value=sc.comparison_table([]),
        visible=False,
        interactive=False,
        wrap=True,
        pinned_columns=1,
        column_widths=["150px"],
        max_height=720,
        label="Saved scenarios (differences from the first in brackets)",
        elem_id="scenario-table",
    )
    with gr.Row(equal_height=False, elem_classes="cpp-actions"):
        remove_choice = gr.Dropdown(
            choices=[], label="Scenario to remove", min_width=200, elem_id="in-remove"
        )
        remove_button = gr.Button(
            "Remove", variant="stop", min_width=100, elem_id="remove-scenario"
        )
        download = gr.DownloadButton(
            EMPTY_DOWNLOAD,
            value=None,
            interactive=False,
            min_width=160,
            elem_id="download-scenarios",
        )
    return ScenarioView(
        state, name, save_button, hint, table, remove_choice, remove_button, download
    )


def wire_scenarios(
    view: ScenarioView,
    services: Services,
    plan_inputs: list,
    level: Any,
    model: Any,
    economics: list,
) -> Any:
    """Connect saving, removing, exporting and the economics inputs (order value, margin) to
    the page; return the save event."""
    export = export_handler(CsvFiles("campaign-scenarios"))
    export_inputs = [view.state, *economics]
    saved = view.save_button.click(
        save_handler(services),
        inputs=[view.name, *plan_inputs, level, view.state, model, *economics],
        outputs=[view.table, view.remove_choice, view.name, view.state],
        api_name="save_scenario",
    )
    saved.success(export, export_inputs, view.download, api_name="export_scenarios")
    removed = view.remove_button.click(
        remove_scenario,
        inputs=[view.remove_choice, *export_inputs],
        outputs=[view.table, view.remove_choice, view.state],
        api_name="remove_scenario",
    )
    removed.success(export, export_inputs, view.download, api_visibility="private")
    gr.on(
        [e.change for e in economics],
        fn=compare,
        inputs=export_inputs,
        outputs=view.table,
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="always_last",
    ).success(_quietly(export), export_inputs, view.download, api_visibility="private")
    for event in (saved, removed):
        event.success(
            _show_when_saved,
            view.state,
            [view.table, view.hint, view.download],
            api_visibility="private",
            queue=False,
        )
    return saved


def _quietly(export: Callable[..., str | None]) -> Callable[..., Any]:
    """``export`` for the page's own update while an order value or margin is typed: an invalid
    one leaves the download as it was (the economics section says what is wrong)."""

    def export_quietly(*args: Any) -> Any:
        try:
            return export(*args)
        except gr.Error:
            return gr.skip()

    return export_quietly


def _show_when_saved(scenarios: Any) -> tuple[Any, Any, Any]:
    """The table only with scenarios in it, the hint only without; the download says which."""
    saved = bool(_session_list(scenarios))
    return (
        gr.Dataframe(visible=saved),
        gr.Markdown(visible=not saved),
        gr.DownloadButton(label="Download CSV" if saved else EMPTY_DOWNLOAD, interactive=saved),
    )
