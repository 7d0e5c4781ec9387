"""Section 7: save plans as scenarios, compare them side by side, remove, export and load them.

The saved scenarios live in the planner's browser (``gr.BrowserState``), so they survive a
reload; API clients pass the list the previous call returned.
"""

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
from ui.common import (
    DEFAULT_PLAN,
    LEVEL_PARAMETER,
    MODEL_PARAMETER,
    Services,
    api_example,
    api_type,
    input_error,
    parameter,
    plan_and_level,
    section_title,
    user_errors,
    with_plan_parameters,
)

# Where the browser keeps the scenarios. Gradio scrambles the stored copy with ``secret``; the
# page hands that key to every browser, so it hides nothing from the planner, and it is fixed so
# that saved scenarios outlive a restart of the app.
STORAGE_KEY = "campaign-purchase-predictor-scenarios-v1"

EMPTY_DOWNLOAD = "Download CSV (no scenarios saved yet)"
TABLE_LABEL = "Saved scenarios (differences from {base} in brackets)"
SCROLL_CUE = "Swipe the table sideways to see every scenario →"
# Only a phone's screen is too narrow for the table: only there does the cue show.
SCROLL_CUE_CSS = """
.cpp-scroll-cue { display: none; }
@media (max-width: 640px) {
  .cpp-scroll-cue { display: block; font-size: 0.9rem; font-weight: 600; }
}
"""
# What the "Use via API" page shows as saved scenarios: one plan, saved as "A".
SAMPLE_SCENARIOS: list[dict[str, Any]] = [
    {
        "name": "A",
        "model": None,
        "purchases": 94,
        "lower": 55,
        "upper": 132,
        "level": 0.9,
        "backend": "local",
        "plan": dict(DEFAULT_PLAN),
        "average_order_value": 60,
        "margin": 40,
    }
]


@dataclass
class ScenarioView:
    """The scenario section's components and the scenarios kept in the browser."""

    state: gr.BrowserState
    name: gr.Textbox
    save_button: gr.Button
    hint: gr.Markdown
    baseline: gr.Dropdown
    scroll_cue: gr.HTML
    table: gr.Dataframe
    manage: gr.Row
    remove_choice: gr.Dropdown
    remove_button: gr.Button
    download: gr.DownloadButton
    upload: gr.UploadButton


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


def _stored(scenarios: Any) -> list[dict[str, Any]]:
    with user_errors():
        return sc.stored(scenarios)


def _table_and_choices(
    services: Services, scenarios: list[dict[str, Any]], baseline: Any = None
) -> tuple[pd.DataFrame, Any]:
    names = [s["name"] for s in scenarios]
    dropdown = gr.Dropdown(choices=names, value=names[-1] if names else None)
    return sc.comparison_table(scenarios, baseline, services.labels), dropdown


def save_handler(services: Services) -> Callable[..., tuple]:
    """The ``/save_scenario`` handler."""

    @with_plan_parameters(
        LEVEL_PARAMETER,
        parameter("scenarios", None),
        MODEL_PARAMETER,
        parameter("average_order_value", None),
        parameter("margin", None),
        parameter("baseline", None),
        before=[parameter("name")],
    )
    def save_scenario(name: Any, *args: Any) -> tuple[pd.DataFrame, Any, str, list[dict]]:
        """Save the plan (predicted now) as a named scenario (empty name: the next letter) in
        ``scenarios``, the list the previous call returned (none at first). With an order value
        (and margin), the scenario keeps them and the comparison shows its ROAS, cost per
        purchase and profit. Differences are from the ``baseline`` scenario (the first)."""
        *values, scenarios, model, order_value, margin, baseline = args
        scenarios = _stored(scenarios)
        plan, level = plan_and_level(values)
        model = services.model_name(model)
        predictor = services.predictor(model)
        with user_errors():
            name = sc.check_name(scenarios, name)
            sc.check_baseline(scenarios, baseline)
            prediction = predictor.predict(plan, level)
            record = sc.answer_record(prediction, plan, model)
            scenarios = sc.add(scenarios, name, record, order_value, margin)
        services.log.record(plan, prediction, model=model, scenario_name=name)
        table, dropdown = _table_and_choices(services, scenarios, baseline)
        return table, dropdown, "", scenarios

    return save_scenario


def remove_handler(services: Services) -> Callable[..., tuple]:
    """The ``/remove_scenario`` handler."""

    def remove_scenario(
        name: str | None, scenarios: list[dict[str, Any]], baseline: str | None = None
    ) -> tuple[pd.DataFrame, Any, list[dict[str, Any]]]:
        """Remove the scenario called ``name`` from ``scenarios`` (the list the previous call
        returned); the comparison and the list that remain."""
        scenarios = _stored(scenarios)
        with user_errors():
            sc.check_baseline(scenarios, baseline)
            remaining = sc.remove(scenarios, name)
        # Removing the baseline itself counts differences from the first again.
        table, dropdown = _table_and_choices(services, remaining, baseline)
        return table, dropdown, remaining

    return remove_scenario


def export_handler(services: Services, files: CsvFiles) -> Callable[..., str | None]:
    """The ``/export_scenarios`` handler."""

    def export_scenarios(
        scenarios: list[dict[str, Any]], baseline: str | None = None
    ) -> str | None:
        """``scenarios`` as a CSV file (``None`` when there are none): plan, answer, order value
        and margin, ROAS, cost per purchase and profit with their ranges, and the difference
        from the ``baseline`` scenario (the first)."""
        scenarios = _stored(scenarios)
        with user_errors():
            sc.check_baseline(scenarios, baseline)
        if not scenarios:
            return None
        return files.write(sc.csv_frame(scenarios, baseline, services.labels))

    return export_scenarios


def load_handler(services: Services) -> Callable[..., tuple]:
    """Loads an exported scenarios file back: each plan predicted again, added to the list."""

    def load_scenarios(
        path: str | None, scenarios: Any, baseline: Any = None
    ) -> tuple[pd.DataFrame, Any, list[dict[str, Any]]]:
        if not path:
            raise input_error("Choose a scenarios CSV file that this page downloaded.")
        scenarios = _stored(scenarios)
        models = {label: key for key, label in services.labels.items()}
        with user_errors():
            try:
                frame = pd.read_csv(path)
            except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
                raise sc.ScenarioError(
                    "The file is not a CSV that the page's scenario download wrote."
                ) from None
            for saved in sc.saved_plans(frame):
                model = models.get(saved.model, saved.model) or services.default_model
                prediction = services.predictor(model).predict(saved.plan, saved.level)
                record = sc.answer_record(prediction, saved.plan, model)
                scenarios = sc.add(
                    scenarios, saved.name, record, saved.average_order_value, saved.margin
                )
        table, dropdown = _table_and_choices(services, scenarios, baseline)
        return table, dropdown, scenarios

    return load_scenarios


def show_handler(services: Services, files: CsvFiles) -> Callable[..., tuple]:
    """Draws the section for the scenarios kept in the browser: on opening the page and after
    each change."""

    def show(scenarios: Any, baseline: Any = None) -> tuple:
        kept: Any = gr.skip()
        try:
            scenarios = sc.stored(scenarios)
            note = ""
        except sc.ScenarioError:
            # Kept by an older page, or changed by hand: start afresh rather than fail each time.
            scenarios, kept = [], []
            note = "The scenarios kept in this browser could not be read, so they were cleared. "
        names = [s["name"] for s in scenarios]
        base = sc.baseline_of(scenarios, baseline)["name"] if scenarios else None
        saved = bool(scenarios)
        path = files.write(sc.csv_frame(scenarios, base, services.labels)) if saved else None
        return (
            gr.Dataframe(
                value=sc.comparison_table(scenarios, base, services.labels),
                visible=saved,
                label=TABLE_LABEL.format(base=base),
            ),
            gr.Markdown(
                visible=not saved,
                value=note
                + "Save a plan to compare it with others; saved plans appear here side by side "
                "and stay in this browser.",
            ),
            gr.Dropdown(choices=names, value=base, visible=len(names) > 1),
            gr.HTML(visible=len(names) > 1),
            gr.Row(visible=saved),
            gr.Dropdown(choices=names, value=names[-1] if names else None),
            gr.DownloadButton(
                label="Download CSV" if saved else EMPTY_DOWNLOAD, value=path, interactive=saved
            ),
            kept,
        )

    return show


def _manage_rows() -> tuple[gr.Row, gr.Dropdown, gr.Button, gr.DownloadButton, gr.UploadButton]:
    """The remove controls (shown once something is saved), the download and the upload."""
    with gr.Row(equal_height=False, elem_classes="cpp-actions", visible=False) as manage:
        remove_choice = gr.Dropdown(
            choices=[],
            label="Scenario to remove",
            min_width=200,
            allow_custom_value=True,
            elem_id="in-remove",
        )
        remove_button = gr.Button(
            "Remove", variant="stop", min_width=100, elem_id="remove-scenario"
        )
    with gr.Row(equal_height=False, elem_classes="cpp-actions"):
        download = gr.DownloadButton(
            EMPTY_DOWNLOAD,
            value=None,
            interactive=False,
            min_width=160,
            elem_id="download-scenarios",
        )
        upload = gr.UploadButton(
            "Load scenarios from a CSV file",
            file_types=[".csv"],
            type="filepath",
            min_width=160,
            elem_id="upload-scenarios",
        )
    return manage, remove_choice, remove_button, download, upload


def build_scenario_view() -> ScenarioView:
    """Draw the scenario section."""
    section_title("Compare scenarios")
    state = gr.BrowserState([], storage_key=STORAGE_KEY, secret=STORAGE_KEY)
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
        "Save a plan to compare it with others; saved plans appear here side by side and stay "
        "in this browser.",
        elem_id="scenario-hint",
    )
    baseline = gr.Dropdown(
        choices=[],
        label="Compare against",
        info="The scenario the others' differences are counted from.",
        allow_custom_value=True,
        visible=False,
        elem_id="in-baseline",
    )
    scroll_cue = gr.HTML(
        f'<div class="cpp-scroll-cue">{SCROLL_CUE}</div>',
        css_template=SCROLL_CUE_CSS,
        js_on_load=None,
        visible=False,
        padding=False,
        elem_id="scenario-scroll-cue",
    )
    table = gr.Dataframe(
        value=sc.comparison_table([]),
        visible=False,
        interactive=False,
        wrap=True,
        pinned_columns=1,
        column_widths=["150px"],
        max_height=2000,
        label=TABLE_LABEL.format(base="the first"),
        elem_id="scenario-table",
    )
    manage, remove_choice, remove_button, download, upload = _manage_rows()
    view = ScenarioView(
        state,
        name,
        save_button,
        hint,
        baseline,
        scroll_cue,
        table,
        manage,
        remove_choice,
        remove_button,
        download,
        upload,
    )
    _describe_for_api(view)
    return view


def _describe_for_api(view: ScenarioView) -> None:
    """How the "Use via API" page shows the section's inputs: names as text, the scenarios as
    the list a call returns (a sample with "A" saved)."""
    api_example(view.name, "B")
    api_example(view.remove_choice, "A")
    api_example(view.state, SAMPLE_SCENARIOS)
    api_type(view.name, {"type": "string"}, "The scenario's name; empty means the next letter.")
    api_type(view.remove_choice, {"type": "string"}, "The name of a saved scenario.")
    api_type(
        view.baseline, {"type": "string"}, "The scenario differences are counted from (the first)."
    )
    api_type(
        view.state,
        {"type": "array", "items": {"type": "object"}},
        "The saved scenarios: the list the previous call returned.",
    )


def wire_scenarios(
    view: ScenarioView,
    services: Services,
    plan_inputs: list,
    level: Any,
    model: Any,
    economics: list,
) -> Any:
    """Connect saving, removing, exporting and loading to the page, and draw the scenarios kept
    in the browser when the page opens; return the save event."""
    files = CsvFiles("campaign-scenarios")
    show = show_handler(services, files)
    shown = [
        view.table,
        view.hint,
        view.baseline,
        view.scroll_cue,
        view.manage,
        view.remove_choice,
        view.download,
        view.state,
    ]
    private = {"api_visibility": "private", "show_progress": "hidden"}
    saved = view.save_button.click(
        save_handler(services),
        inputs=[view.name, *plan_inputs, level, view.state, model, *economics, view.baseline],
        outputs=[view.table, view.remove_choice, view.name, view.state],
        api_name="save_scenario",
    )
    removed = view.remove_button.click(
        remove_handler(services),
        inputs=[view.remove_choice, view.state, view.baseline],
        outputs=[view.table, view.remove_choice, view.state],
        api_name="remove_scenario",
    )
    loaded = view.upload.upload(
        load_handler(services),
        inputs=[view.upload, view.state, view.baseline],
        outputs=[view.table, view.remove_choice, view.state],
        api_visibility="private",
    )
    saved.success(
        export_handler(services, files),
        inputs=[view.state, view.baseline],
        outputs=view.download,
        api_name="export_scenarios",
    )
    for event in (saved, removed, loaded):
        event.success(show, [view.state, view.baseline], shown, **private)
    view.baseline.input(show, [view.state, view.baseline], shown, **private)
    # On opening the page: the scenarios this browser kept.
    gr.on(None, show, inputs=[view.state], outputs=shown, **private)
    return saved
