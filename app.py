"""Campaign Purchase Predictor: plan a social media ad campaign and predict its purchases.

``python app.py`` serves the planner (``--share``, ``--host``, ``--port``, ``--model-dir``;
``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT`` are honoured). The page is built by
:func:`ui.build_demo` on a :class:`predictor.Predictor`; importing this module does nothing else.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from predictor import ConfigError, Predictor
from predictor.record.scenario_log import NullLog, ScenarioLog
from predictor.serving.bundle import DEFAULT_MODEL
from predictor.serving.model_choice import available_models, display_names, warm_up_in_order
from ui import build_demo
from ui.page import PAGE_CSS, THEME

log = logging.getLogger("app")

MODEL_DIR = Path(__file__).resolve().parent / "model"
# Chosen well above the CPU count: requests mostly wait on a remote endpoint or on each other.
CONCURRENCY_LIMIT = 32
# Requests waiting beyond those running: past it a busy public Space says so instead of queueing.
QUEUE_MAX_SIZE = 4 * CONCURRENCY_LIMIT
BUSY_MESSAGE = "The planner is busy right now; try again in a few seconds."
BUSY_RETRY_SECONDS = 5


async def busy_answer(request: Request, exc: HTTPException) -> Response:
    """Gradio's full-queue 503 as a 429 "busy, try again" with a Retry-After; others as usual."""
    if exc.status_code == 503 and str(exc.detail).startswith("Queue is full"):
        return JSONResponse(
            {"detail": BUSY_MESSAGE},
            status_code=429,
            headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
        )
    return await http_exception_handler(request, exc)


def scenario_log_from_env() -> ScenarioLog | NullLog:
    """The scenario log the environment describes; off, with a warning, if it is misconfigured."""
    try:
        return ScenarioLog.from_env()
    except ConfigError as exc:
        log.warning("scenario log off: %s", exc)
        return NullLog()


def warm_up(predictor: Predictor) -> None:
    """Verify and load the local bundle now, so the first click does not wait for it."""
    try:
        predictor.load()
    except Exception as exc:  # the first request reports the problem to the user
        log.warning("model warm-up failed: %s", exc)


def launch(
    demo: gr.Blocks,
    concurrency_limit: int = CONCURRENCY_LIMIT,
    queue_max_size: int = QUEUE_MAX_SIZE,
    **kwargs: Any,
) -> tuple[Any, str, str | None]:
    """Queue and launch ``demo`` with the app's theme and styles; ``kwargs`` go to ``launch``."""
    kwargs.setdefault("max_threads", 2 * concurrency_limit + 8)
    kwargs.setdefault("app_kwargs", {"exception_handlers": {HTTPException: busy_answer}})
    demo.queue(default_concurrency_limit=concurrency_limit, max_size=queue_max_size)
    return demo.launch(theme=THEME, css=PAGE_CSS, **kwargs)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python app.py [--share] [--host HOST] [--port PORT] [--model-dir DIR]``."""
    parser = argparse.ArgumentParser(description="Serve the Campaign Purchase Predictor.")
    parser.add_argument("--share", action="store_true", help="create a public Gradio link")
    parser.add_argument("--host", help="address to bind (default: GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: GRADIO_SERVER_PORT or 7860)")
    parser.add_argument(
        "--model-dir", type=Path, default=MODEL_DIR, help="model bundle folder (default: ./model)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    predictors = {
        name: Predictor.from_env(folder, model=name)
        for name, folder in (
            available_models(args.model_dir) or {DEFAULT_MODEL: args.model_dir}
        ).items()
    }
    # The default model now, the others after its first answer.
    threading.Thread(target=warm_up_in_order, args=(predictors, warm_up), daemon=True).start()
    launch(
        build_demo(predictors, scenario_log_from_env(), display_names(args.model_dir)),
        share=args.share or None,
        server_name=args.host,
        server_port=args.port,
    )


if __name__ == "__main__":
    main()
