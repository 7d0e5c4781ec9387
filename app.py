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

from predictor import Predictor
from ui import build_demo
from ui.page import PAGE_CSS, THEME

log = logging.getLogger("app")

MODEL_DIR = Path(__file__).resolve().parent / "model"
# Chosen well above the CPU count: requests mostly wait on a remote endpoint or on each other.
CONCURRENCY_LIMIT = 32


def warm_up(predictor: Predictor) -> None:
    """Verify and load the local bundle now, so the first click does not wait for it."""
    try:
        predictor.load()
    except Exception as exc:  # the first request reports the problem to the user
        log.warning("model warm-up failed: %s", exc)


def launch(demo: gr.Blocks, **kwargs: Any) -> tuple[Any, str, str | None]:
    """Queue and launch ``demo`` with the app's theme and styles; ``kwargs`` go to ``launch``."""
    kwargs.setdefault("max_threads", 2 * CONCURRENCY_LIMIT + 8)
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT)
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
    predictor = Predictor.from_env(args.model_dir)
    threading.Thread(target=warm_up, args=(predictor,), name="model-warm-up", daemon=True).start()
    launch(
        build_demo(predictor),
        share=args.share or None,
        server_name=args.host,
        server_port=args.port,
    )


if __name__ == "__main__":
    main()
