"""Paths and helpers every part of the suite shares: the repository, the bundle, free ports."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The committed bundle.
MODEL_DIR = REPO / "model"
# The bundle the app tests serve: the committed one unless PREDICTOR_TEST_MODEL_DIR names another.
APP_MODEL_DIR = Path(os.environ.get("PREDICTOR_TEST_MODEL_DIR") or MODEL_DIR)
# Screenshots and server logs the tests leave behind for a look.
ARTIFACTS = REPO / "test-artifacts"
# The real-format sample of the Kaggle ad dataset (tests/fixtures is data, not code).
SAMPLE = REPO / "tests" / "fixtures" / "kaggle_sample"
# Looks like a real Databricks token so that the sanitizer's pattern is exercised as well.
TOKEN = "dapi0123456789abcdef0123456789abcdef-2"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Terminate ``process`` and wait for it; kill it if it has not ended within ``timeout`` s."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
