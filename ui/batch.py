"""Section 8: score a CSV file of plans and download it back with the answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from predictor.contract.formatting import fmt_count, fmt_money
from predictor.contract.plan import PLAN_FIELDS
from predictor.planning.batch_scoring import RESULT_COLUMNS, BatchError, read_plans, score_plans
from ui.common import (
    Services,
    input_error,
    markdown_escape,
    parse_level,
    section_intro,
    user_errors,
)
from ui.scenarios import CsvFiles

# Larger files belong to ``python -m predictor score``, which streams its progress.
MAX_UPLOAD_ROWS = 200_000
# A file to start from: three plans and one with a typo, to see how errors come back.
SAMPLE_PLANS = Path(__file__).resolve().parent / "sample_plans.csv"
BATCH_HELP = (
    "Upload a CSV with one plan a row and the plan's field names as columns "
    "(`duration_days`, `total_budget`, `start_month`, `num_unique_interests`, `total_ads`, "
    "and any mix column such as `facebook_ads`; a missing mix column counts 0)."
)


@dataclass
class BatchView:
    """The upload, the button, the summary, the first rows and the download."""

    upload: gr.File
    button: gr.Button
    summary: gr.Markdown
    first_rows: gr.Dataframe
    download: gr.DownloadButton


def batch_handler(services: Services, files: CsvFiles) -> Callable[..., tuple[str, str | None]]:
    """The ``/score_csv`` handler."""

    def score_csv(
        plans_csv: str | None,
        level: float = 0.9,
        model: str | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way to report progress)
    ) -> tuple[str, str | None, pd.DataFrame]:
        """Score a CSV of plans (one plan a row, the plan's field names as columns; missing mix
        columns count 0; "50,000" reads as 50000). Returns a summary naming the model, the file
        with prediction, lower, upper, level, warnings, error, model and model_version columns
        (bad rows keep their place with the reason), and its first rows as a table."""
        if not plans_csv:
            raise input_error("Upload a CSV file of plans first (one plan a row).")
        level = parse_level(level)
        predictor = services.predictor(model)
        label = services.label(services.model_name(model))
        progress(0.1, desc="reading the plans")
        with user_errors():
            frame = read_plans(Path(plans_csv))
            if len(frame) > MAX_UPLOAD_ROWS:
                raise BatchError(
                    f"the file has {len(frame):,} rows; the page scores up to "
                    f"{MAX_UPLOAD_ROWS:,}. Use `python -m predictor score FILE --out OUT`."
                )
            progress(0.4, desc="scoring")
            scored = score_plans(predictor, frame, level)
        progress(0.9, desc="writing the file")
        path = files.write(scored)
        bad = int((scored["error"] != "").sum())
        flagged = int(scored["warnings"].astype(bool).sum())
        version = predictor.metadata.model_version
        by = f"{label}, version {version}" if version else label
        summary = (
            f"**{len(scored) - bad:,} of {len(scored):,} plans scored** at {level:.0%} by "
            f"{markdown_escape(by)}."
        )
        if bad:
            rows = "1 row has" if bad == 1 else f"{bad:,} rows have"
            summary += f" {rows} an error; the `error` column says what to fix."
        if flagged:
            rows = "1 row carries" if flagged == 1 else f"{flagged:,} rows carry"
            summary += f" {rows} a warning (see the `warnings` column)."
        return summary, path, preview(scored)

    return score_csv


PREVIEW_ROWS = 10


def preview(scored: pd.DataFrame, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first ``rows`` scored plans as the page shows them: the file's own naming columns,
    budget, ads, the prediction with its range, and the error or warnings."""
    head = scored.head(rows)
    own = [c for c in head.columns if c not in PLAN_FIELDS and c not in RESULT_COLUMNS][:2]
    numbers = pd.to_numeric(head["total_budget"], errors="coerce")

    def text(value: object) -> str:
        return "" if pd.isna(value) else str(value)

    table = head[own].astype(str).copy()
    table["Budget"] = [
        text(raw) if pd.isna(b) else fmt_money(b)
        for b, raw in zip(numbers, head["total_budget"], strict=True)
    ]
    table["Predicted purchases"] = ["—" if pd.isna(p) else fmt_count(p) for p in head["prediction"]]
    table["Range"] = [
        "—" if pd.isna(lo) else f"{fmt_count(lo)} to {fmt_count(hi)}"
        for lo, hi in zip(head["lower"], head["upper"], strict=True)
    ]
    table["Error or warning"] = [
        text(e) or text(w) for e, w in zip(head["error"], head["warnings"], strict=True)
    ]
    return table


def build_batch_view() -> BatchView:
    """Draw the batch section."""
    section_intro("Score a file of plans", BATCH_HELP, "batch-help")
    gr.DownloadButton(
        "Download a sample CSV", value=str(SAMPLE_PLANS), size="sm", elem_id="batch-sample"
    )
    upload = gr.File(
        label="Plans (CSV)", file_types=[".csv"], type="filepath", elem_id="batch-upload"
    )
    button = gr.Button("Score the file", elem_id="batch-score")
    summary = gr.Markdown(elem_id="batch-summary")
    first_rows = gr.Dataframe(
        label=f"First rows (up to {PREVIEW_ROWS}; the download has them all)",
        interactive=False,
        wrap=True,
        visible=False,
        elem_id="batch-rows",
    )
    download = gr.DownloadButton(
        "Download scored CSV", value=None, interactive=False, elem_id="batch-download"
    )
    return BatchView(upload, button, summary, first_rows, download)


def wire_batch(view: BatchView, services: Services, level: Any, model: Any) -> None:
    """Score an uploaded CSV (``/score_csv``); the first rows and the download show once done."""
    view.button.click(
        batch_handler(services, CsvFiles("scored-plans")),
        inputs=[view.upload, level, model],
        outputs=[view.summary, view.download, view.first_rows],
        api_name="score_csv",
    ).success(
        lambda: (gr.DownloadButton(interactive=True), gr.Dataframe(visible=True)),
        None,
        [view.download, view.first_rows],
        api_visibility="private",
        queue=False,
    )
