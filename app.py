"""Campaign Purchase Predictor: plan a social media ad campaign and predict its purchases.

``python app.py`` serves the planner (``--share``, ``--host``, ``--port``, ``--model-dir``;
``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT`` are honoured). The page is built by
:func:`ui.build_demo` on a :class:`predictor.Predictor`; importing this module does nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import requests
from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from predictor import ConfigError, Predictor
from predictor.record.scenario_log import NullLog, ScenarioLog
from predictor.serving.bundle import DEFAULT_MODEL
from predictor.serving.model_choice import available_models, display_names, warm_up_in_order
from predictor.serving.settings import Settings, load_settings
from ui import build_demo
from ui.page import PAGE_CSS, THEME

log = logging.getLogger("app")

MODEL_DIR = Path(__file__).resolve().parent / "model"
# Chosen well above the CPU count: requests mostly wait on a remote endpoint or on each other.
CONCURRENCY_LIMIT = 32
# Requests waiting beyond those running: past it a busy public Space says so instead of queueing.
QUEUE_MAX_SIZE = 4 * CONCURRENCY_LIMIT
# Gradio redraws its /monitoring summary (a table of up to 10,000 past events) after every event
# by default: a third of the server's time under load. Every 100th event keeps it current enough.
MONITORING_SUMMARY_EVERY = 100
BUSY_MESSAGE = "The planner is busy right now; try again in a few seconds."
BUSY_RETRY_SECONDS = 5
# How long the server may take to answer its first request at start (a busy machine is slow).
READY_SECONDS = 60.0


async def busy_answer(request: Request, exc: HTTPException) -> Response:
    """Gradio's full-queue 503 as a 429 "busy, try again" with a Retry-After; others as usual."""
    if exc.status_code == 503 and str(exc.detail).startswith("Queue is full"):
        return JSONResponse(
            {"detail": BUSY_MESSAGE},
            status_code=429,
            headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
        )
    return await http_exception_handler(request, exc)


def scenario_log_from_env(settings: Settings | None = None) -> ScenarioLog | NullLog:
    """The scenario log the settings describe; off, with a warning and the reason kept for the
    dashboard, if it is misconfigured."""
    try:
        return ScenarioLog.from_settings(settings)
    except ConfigError as exc:
        log.warning("scenario log off: %s", exc)
        return NullLog(reason=str(exc))


def configured(model_dir: Path) -> tuple[Settings, dict[str, Predictor]]:
    """The settings, read once, and a predictor for each model in ``model_dir``."""
    settings = load_settings()
    predictors = {
        name: Predictor.from_settings(settings, folder, model=name)
        for name, folder in (available_models(model_dir) or {DEFAULT_MODEL: model_dir}).items()
    }
    return settings, predictors


def warm_up(predictor: Predictor, quick: bool = False) -> None:
    """Verify and load the local bundle now, so the first click does not wait for it; ``quick``
    reads only what answers before the model loads (see ``Predictor.load``)."""
    try:
        predictor.load(quick=quick)
    except Exception as exc:  # the first request reports the problem to the user
        log.warning("model warm-up failed: %s", exc)


def quick_start(predictor: Predictor) -> None:
    """The default model's first step: ready to answer, its model loaded after the answer."""
    warm_up(predictor, quick=True)


def start_warm_up(predictors: Mapping[str, Predictor]) -> threading.Thread:
    """Load the models in a background thread: the page's default ready to answer first (a
    linear bundle from its plain numbers), then every model after its first answer; call it
    once the server answers.

    Loading imports scikit-learn, skops and scipy (seconds of CPU, holding the GIL): started
    before the server answers, it starves the server while the app checks that it answers, and
    before the first answer it delays that answer.
    """
    thread = threading.Thread(
        target=warm_up_in_order,
        args=(predictors, warm_up),
        kwargs={"start": quick_start},
        name="model-warm-up",
        daemon=True,
    )
    thread.start()
    return thread


class StartError(RuntimeError):
    """The server did not answer on its own address; the message says what to check."""


def wait_until_served(url: str, limit: float = READY_SECONDS) -> float:
    """Seconds until ``url`` answers a HEAD request, trying for up to ``limit`` seconds.

    Raises :class:`StartError` if it never does.
    """
    start = time.monotonic()
    while True:
        left = limit - (time.monotonic() - start)
        with contextlib.suppress(requests.RequestException):
            answer = requests.head(url, timeout=max(1.0, min(10.0, left)))
            if answer.status_code in (200, 401) or 300 <= answer.status_code < 400:
                return time.monotonic() - start
        if time.monotonic() - start >= limit:
            raise StartError(
                f"the server did not answer at {url} within {limit:g} s; check that nothing "
                "blocks localhost (behind a proxy, set NO_PROXY=localhost,127.0.0.1)"
            )
        time.sleep(0.5)


def launch(
    demo: gr.Blocks,
    concurrency_limit: int = CONCURRENCY_LIMIT,
    queue_max_size: int = QUEUE_MAX_SIZE,
    on_ready: Callable[[], object] | None = None,
    **kwargs: Any,
) -> tuple[Any, str, str | None]:
    """Queue and launch ``demo`` with the app's theme and styles; ``kwargs`` go to ``launch``.

    Gradio's own start-up check is a single 3-second request, which a busy machine fails while
    the server is fine (and the app exits). The app checks instead, patiently
    (:func:`wait_until_served`), then calls ``on_ready``, then blocks unless
    ``prevent_thread_lock`` is given.
    """
    kwargs.setdefault("max_threads", 2 * concurrency_limit + 8)
    kwargs.setdefault("app_kwargs", {"exception_handlers": {HTTPException: busy_answer}})
    block = not kwargs.pop("prevent_thread_lock", False)
    # Read by the queue that demo.queue() makes; an operator's own value wins.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(MONITORING_SUMMARY_EVERY))
    demo.queue(default_concurrency_limit=concurrency_limit, max_size=queue_max_size)
    # _frontend=False skips Gradio's one-shot check (the only thing the flag does in Gradio 6).
    served = demo.launch(
        theme=THEME, css=PAGE_CSS, prevent_thread_lock=True, _frontend=False, **kwargs
    )
    try:
        wait_until_served(demo.local_url)
    except StartError:
        demo.close()
        raise
    if on_ready is not None:
        on_ready()
    if block:
        demo.block_thread()
    return served


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
    try:
        settings, predictors = configured(args.model_dir)
    except ConfigError as exc:
        parser.exit(2, f"configuration error: {exc}\n")
    demo = build_demo(predictors, scenario_log_from_env(settings), display_names(args.model_dir))
    try:
        launch(
            demo,
            share=args.share or None,
            server_name=args.host,
            server_port=args.port,
            # Only once the server answers: loading the models would starve it before.
            on_ready=lambda: start_warm_up(predictors),
        )
    except StartError as exc:
        log.error("the app did not start: %s", exc)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
