"""Paths and helpers shared by the tests (the fixtures themselves are in conftest.py)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ.get("PREDICTOR_TEST_MODEL_DIR") or REPO / "model")
ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
