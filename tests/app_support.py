"""A real app server for the API and browser tests: ``app.demo`` launched on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ.get("PREDICTOR_TEST_MODEL_DIR") or REPO / "model")
ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app() -> Iterator[str]:
    """Launch the app in this process on the bundled model; yield its URL, close it after."""
    import app

    app.configure(MODEL_DIR)
    port = free_port()
    app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.demo.close()
