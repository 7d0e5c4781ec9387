"""The track record under the dashboard, and the section to record what plans actually brought."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from predictor.planning.scenario_compare import stored
from predictor.record.outcome_entry import record_one
from predictor.record.outcome_rows import OutcomeError
from predictor.record.outcomes import OutcomeStore, OutcomeStoreError, Receipt
from predictor.record.outcomes_chart import scatter_svg
from predictor.record.outcomes_file import Models, OutcomeFileError, record_file
from predictor.record.outcomes_report import points, track_record
from ui.common import (
    Services,
    input_error,
    markdown_escape,
    parse_level,
    section_title,
    user_errors,
)

SAMPLE_RESULTS = Path(__file__).resolve().parent / "sample_results.csv"
ON_SCREEN = ("The plan on screen", "")
SHOWN_REFUSALS = 20
OFF = (
    "Recording results is off, like the scenario log it shares its store with (`SCENARIO_LOG=off`)."
)
REPLACE_HINT = "tick “Replace an earlier result” to replace it"
EMPTY_CHART = '<p class="cpp-track-empty">No results are recorded yet.</p>'


@dataclass
class TrackRecordView:
    """The track record: a refresh button, its sentences and its chart."""

    refresh: gr.Button
    summary: gr.Markdown
    chart: gr.HTML


@dataclass
class ResultsView:
    """Recording one result by hand, and a file of results."""

    scenario: gr.Dropdown
    actual: gr.Textbox
    spend: gr.Textbox
    replace: gr.Checkbox
    button: gr.Button
    message: gr.Markdown
    upload: gr.File
    file_button: gr.Button
    file_summary: gr.Markdown


def _store_error(exc: OutcomeStoreError) -> gr.Error:
    return gr.Error(str(exc), title="Results store", print_exception=False)


def record_handler(store_of: Callable[[], OutcomeStore]) -> Callable[..., str]:
    """The ``/record_result`` handler."""

    def record_result(
        scenario: str | None,
        actual_purchases: float | str | None,
        spend: float | str | None,
        replace: bool,
        prediction: dict[str, Any] | None,
        scenarios: list[dict[str, Any]] | None = None,
    ) -> str:
        """Record the purchases a plan actually brought (and optionally its spend): a saved
        scenario picked by name (``prediction`` then None), or with no name the plan last
        predicted (``prediction``, as /predict returns it). The result keeps the answer that was
        shown for it."""
        with user_errors():
            saved = stored(scenarios)
        store = store_of()
        try:
            text = record_one(
                store,
                name=scenario,
                answer=prediction,
                scenarios=saved,
                actual=actual_purchases,
                spend=spend or None,
                replace=bool(replace),
            )
        except OutcomeError as exc:
            message = str(exc).replace("replace it explicitly to change it", REPLACE_HINT)
            raise input_error(message[0].upper() + message[1:] + ".") from None
        except OutcomeStoreError as exc:
            raise _store_error(exc) from None
        return markdown_escape(text)  # a scenario's name is shown as written, never as markup

    return record_result


def receipt_markdown(receipt: Receipt) -> str:
    """What a file recorded, then its refused lines (the first few) and why."""
    total = receipt.added + len(receipt.refused)
    text = f"**{receipt.added:,} of {total:,} result{'' if total == 1 else 's'} recorded**"
    if receipt.replaced:
        text += f" ({receipt.replaced:,} replaced an earlier result)"
    text += "."
    if receipt.refused:
        rows = "1 row was" if len(receipt.refused) == 1 else f"{len(receipt.refused):,} rows were"
        text += f" {rows} refused:\n\n"
        text += "\n".join(f"- {markdown_escape(str(r))}" for r in receipt.refused[:SHOWN_REFUSALS])
        if len(receipt.refused) > SHOWN_REFUSALS:
            text += f"\n- … and {len(receipt.refused) - SHOWN_REFUSALS:,} more"
        if any(r.duplicate for r in receipt.refused):
            text += f"\n\nTo replace earlier results, {REPLACE_HINT} and record the file again."
    return text


def file_handler(services: Services, store_of: Callable[[], OutcomeStore]) -> Callable[..., str]:
    """The ``/record_results_csv`` handler."""

    def record_results_csv(
        results_csv: str | None,
        replace: bool = False,
        level: float = 0.9,
    ) -> str:
        """Record a CSV of results: one a row, ``actual_purchases`` (and optionally ``spend``)
        with a ``scenario_name`` or the plan's columns (a scored file keeps its answers). Bad
        rows are refused one by one with their line; the good ones are kept."""
        if not results_csv:
            raise input_error("Upload a CSV file of results first (one result a row).")
        store = store_of()
        models = Models(dict(services.predictors), parse_level(level))
        try:
            receipt = record_file(Path(results_csv), store, models, replace=bool(replace))
        except OutcomeFileError as exc:
            raise input_error(f"The file cannot be read as results: {exc}.") from None
        except OutcomeStoreError as exc:
            raise _store_error(exc) from None
        return receipt_markdown(receipt)

    return record_results_csv


def track_record_handler(
    services: Services, store_of: Callable[[], OutcomeStore]
) -> Callable[[], tuple[str, str]]:
    """The ``/track_record`` handler."""

    def track_record_now() -> tuple[str, str]:
        """How the predictions held up: the share of results inside their range against the
        level promised, the median bias, per model version; and the predicted-vs-actual chart."""
        if not services.log.enabled:
            return OFF, EMPTY_CHART
        try:
            frame = store_of().read_frame()
        except OutcomeStoreError as exc:
            raise _store_error(exc) from None
        if frame.empty:
            return "No results are recorded yet: record what a plan brought below.", EMPTY_CHART
        parts = []
        for section in track_record(frame, services.labels):
            parts.append(f"**{markdown_escape(section.title)}** ({section.n:,})")
            parts.append("\n".join(f"- {s}" for s in section.sentences))
        return "\n\n".join(parts), scatter_svg(points(frame, services.labels))

    return track_record_now


def build_track_record_view() -> TrackRecordView:
    """Draw the track record (it follows the dashboard)."""
    gr.Markdown("#### Track record: did the plans come true?", elem_id="track-title")
    refresh = gr.Button("Refresh track record", min_width=160, elem_id="track-refresh")
    summary = gr.Markdown(elem_id="track-summary")
    chart = gr.HTML(EMPTY_CHART, elem_id="track-chart")
    return TrackRecordView(refresh, summary, chart)


def build_results_view() -> ResultsView:
    """Draw the section that records results."""
    section_title("Record results")
    gr.Markdown(
        "When a campaign has run, record the purchases it brought. The result keeps the "
        "prediction, range and model version shown for the plan then, and feeds the track "
        "record above. Nothing else is kept: no address, no browser, no text but a scenario's "
        "name.",
        elem_id="results-about",
    )
    with gr.Row(equal_height=False, elem_classes="cpp-actions"):
        scenario = gr.Dropdown(
            choices=[ON_SCREEN],
            value="",
            label="Which plan",
            allow_custom_value=True,
            min_width=220,
            elem_id="in-result-scenario",
        )
        # Text boxes, not number boxes: Gradio shows (and sends) 0 for an empty number box, and
        # a click without a number must not record 0 purchases. The text is checked as a number.
        actual = _number_box("Actual purchases", "e.g. 120", "in-actual")
        spend = _number_box("Spend (optional)", "e.g. 48000", "in-spend", "")
    with gr.Row(equal_height=False, elem_classes="cpp-actions"):
        replace = gr.Checkbox(
            label="Replace an earlier result", value=False, min_width=200, elem_id="in-replace"
        )
        button = gr.Button("Record result", variant="primary", min_width=160, elem_id="record")
    message = gr.Markdown(elem_id="results-message")
    gr.Markdown(
        "Or upload a CSV of results: `actual_purchases` (and optionally `spend`) with a "
        "`scenario_name`, or with the plan's columns; a file scored above keeps its "
        "predictions.",
        elem_id="results-help",
    )
    gr.DownloadButton(
        "Download a sample results CSV",
        value=str(SAMPLE_RESULTS),
        size="sm",
        elem_id="results-sample",
    )
    upload = gr.File(
        label="Results (CSV)", file_types=[".csv"], type="filepath", elem_id="results-upload"
    )
    file_button = gr.Button("Record the file", elem_id="record-file")
    file_summary = gr.Markdown(elem_id="results-file-summary")
    return ResultsView(
        scenario, actual, spend, replace, button, message, upload, file_button, file_summary
    )


def _scenario_choices(scenarios: Any) -> Any:
    names = (
        [s["name"] for s in scenarios if isinstance(s, dict)] if isinstance(scenarios, list) else []
    )
    return gr.Dropdown(choices=[ON_SCREEN, *[(n, n) for n in names]])


def wire_results(
    view: ResultsView,
    track: TrackRecordView,
    services: Services,
    *,
    scenarios: gr.State,
    prediction: gr.JSON,
    level: Any,
    dashboard_refresh: gr.Button,
) -> None:
    """Connect recording (one result, a file) and the track record to the page."""

    # One store (and connection pool) for the page; nothing connects until it is used.
    store = OutcomeStore.of_log(services.log)

    def store_of() -> OutcomeStore:
        if store is None:
            raise gr.Error(OFF, title="Results", print_exception=False)
        return store

    show = track_record_handler(services, store_of)
    track.refresh.click(
        show, None, [track.summary, track.chart], api_name="track_record", show_progress="minimal"
    )
    dashboard_refresh.click(show, None, [track.summary, track.chart], api_visibility="private")
    view.button.click(
        record_handler(store_of),
        inputs=[view.scenario, view.actual, view.spend, view.replace, prediction, scenarios],
        outputs=view.message,
        api_name="record_result",
    ).success(show, None, [track.summary, track.chart], api_visibility="private")
    view.file_button.click(
        file_handler(services, store_of),
        inputs=[view.upload, view.replace, level],
        outputs=view.file_summary,
        api_name="record_results_csv",
    ).success(show, None, [track.summary, track.chart], api_visibility="private")
    scenarios.change(
        _scenario_choices,
        scenarios,
        view.scenario,
        api_visibility="private",
        queue=False,
        show_progress="hidden",
    )


def _number_box(label: str, placeholder: str, elem_id: str, value: str | None = None) -> gr.Textbox:
    """An empty text box for a number, read as one when recorded. Without an initial ``value``
    the box is a required API parameter, and the "Use via API" snippets show its example."""
    return gr.Textbox(
        value=value,
        placeholder=placeholder,
        label=label,
        max_length=40,
        min_width=140,
        elem_id=elem_id,
    )
