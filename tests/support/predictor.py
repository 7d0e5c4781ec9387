"""Real parts for the predictor tests and benchmark: the bundle, a loopback MLflow server, a fault server.

Nothing here stands in for predictor code: the servers are real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import requests

from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.plan import CampaignPlan
from predictor.serving.settings import PredictorConfig
from tests.support.common import ARTIFACTS, MODEL_DIR, TOKEN, free_port

# The page's default plan: every mix adds up to its 4 ads.
APP_PLAN = CampaignPlan(
    duration_days=60,
    total_budget=50_000,
    start_month=5,
    num_unique_interests=3,
    total_ads=4,
    facebook_ads=2,
    instagram_ads=2,
    image_ads=1,
    video_ads=1,
    carousel_ads=1,
    stories_ads=1,
    male_ads=1,
    female_ads=1,
    all_gender_ads=2,
    age_18_24_ads=1,
    age_25_34_ads=1,
    age_35_44_ads=1,
    all_age_ads=1,
)


def fragments(secret: str, size: int = 6) -> set[str]:
    """Every ``size``-character piece of ``secret`` and of its escaped form, as ``repr`` shows it."""
    pieces = set()
    for form in (secret, repr(secret)[1:-1]):
        pieces |= {form[i : i + size] for i in range(len(form) - size + 1)}
    return pieces


def assert_no_fragment(secret: str, *texts: str) -> None:
    """Fail if any piece of ``secret`` (see :func:`fragments`) is in one of ``texts``."""
    for text in texts:
        found = sorted(f for f in fragments(secret) if f in text)
        assert not found, f"pieces of a secret were shown: {found}"


def rows_in_range(
    training_range: Mapping[str, Sequence[float]], n: int, seed: int = 0
) -> pd.DataFrame:
    """``n`` feature rows drawn inside a bundle's ``training_range``, at least one ad each."""
    rng = np.random.default_rng(seed)
    data = {c: np.round(rng.uniform(*training_range[c], n)) for c in FEATURE_COLUMNS}
    data["total_budget"] = rng.uniform(*training_range["total_budget"], n)
    data["num_ads"] = np.maximum(data["num_ads"], 1)
    return pd.DataFrame(data, columns=FEATURE_COLUMNS)


def trusted_config(**settings: object) -> PredictorConfig:
    """Settings that serve a bundle the test made itself (``PREDICTOR_TRUST_BUNDLE=1``)."""
    return PredictorConfig(trust_bundle=True, **settings)  # type: ignore[arg-type]


def copy_bundle(destination: Path) -> Path:
    """A copy of the committed bundle at ``destination`` (for tests that alter bytes)."""
    shutil.copytree(MODEL_DIR, destination)
    return destination


@contextlib.contextmanager
def mlflow_server(model_dir: Path = MODEL_DIR, timeout: float = 90.0) -> Iterator[str]:
    """Run ``mlflow models serve`` on a free loopback port; yield its invocations URL."""
    port = free_port()
    # The server starts uvicorn by name: it must find the interpreter's own, venv activated or not.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model_dir)]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    log = ARTIFACTS / "mlflow-serve.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow models serve exited early; see {log}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/ping", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow models serve did not start in {timeout:g} s; see {log}")
            time.sleep(0.2)
        yield f"{base}/invocations"
    finally:
        # The server runs uvicorn in a child process; end the whole session it leads.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


FAULTS = (
    "401",
    "403",
    "404",
    "429",
    "500",
    "503",
    "not-json",
    "html",
    "empty",
    "wrong-count",
    "nan",
    "slow",
)


class FaultServer:
    """A loopback HTTP server that answers each POST with the fault named by ``mode``.

    ``mode`` may also be ``"ok"`` (a correct answer: one ``1.5`` per row), ``"trickle"`` (the
    headers of a correct answer, then its body one byte every ``trickle_seconds``),
    ``"trickle-headers"`` (the status line itself one byte at a time), or a list of modes consumed
    one request at a time. It records each request's Authorization header.
    """

    def __init__(self, slow_seconds: float = 1.5, trickle_seconds: float = 2.0) -> None:
        self.mode: str | list[str] = "ok"
        self.slow_seconds = slow_seconds
        self.trickle_seconds = trickle_seconds
        self.trickles_ended = 0  # trickling answers that stopped because the client hung up
        self._stop = threading.Event()
        self.requests = 0
        self.authorizations: list[str | None] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with server._lock:
                    server.requests += 1
                    server.authorizations.append(self.headers.get("Authorization"))
                    mode = server.mode.pop(0) if isinstance(server.mode, list) else server.mode
                try:
                    rows = len(json.loads(body)["dataframe_split"]["data"])
                except (ValueError, KeyError, TypeError):
                    rows = 1
                server._answer(self, mode, rows)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # many clients connect at once in the load tests

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = (
            f"http://127.0.0.1:{self._server.server_address[1]}/serving-endpoints/m/invocations"
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def _trickle(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        """Write ``data`` one byte every ``trickle_seconds``, until done or the client hangs up."""
        try:
            for i in range(len(data)):
                handler.wfile.write(data[i : i + 1])
                handler.wfile.flush()
                if self._stop.wait(self.trickle_seconds):
                    return
        except OSError:
            with self._lock:
                self.trickles_ended += 1

    def _answer(self, handler: BaseHTTPRequestHandler, mode: str, rows: int) -> None:
        if mode in ("trickle", "trickle-headers"):
            body = json.dumps({"predictions": [1.5] * rows}).encode()
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            if mode == "trickle":
                handler.wfile.write(head)
                self._trickle(handler, body)
            else:
                self._trickle(handler, head + body)
            handler.close_connection = True
            return
        headers = {"Content-Type": "application/json"}
        status = 200
        # Error bodies echo the token, as a careless server might; it must never come through.
        error = {"error_code": "ERROR", "message": f"failed for Bearer {TOKEN} and {TOKEN}"}
        if mode == "ok":
            body = json.dumps({"predictions": [1.5] * rows})
        elif mode in {"401", "403", "404", "500", "503"}:
            status = int(mode)
            body = json.dumps(error)
        elif mode == "429":
            status = 429
            headers["Retry-After"] = "30"  # beyond the retry budget: give up without waiting
            body = json.dumps({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"})
        elif mode.startswith("retry-after-"):
            status = 503
            headers["Retry-After"] = mode.removeprefix("retry-after-")
            body = json.dumps(error)
        elif mode == "not-json":
            headers["Content-Type"] = "text/plain"
            body = f"predictions: 1.5 {TOKEN}"
        elif mode == "html":
            headers["Content-Type"] = "text/html"
            body = f"<html><body>Gateway {TOKEN}</body></html>"
        elif mode == "empty":
            body = json.dumps({"predictions": []})
        elif mode == "wrong-count":
            body = json.dumps({"predictions": [1.5] * (rows + 1)})
        elif mode == "nan":
            body = json.dumps({"predictions": [math.nan] * rows})  # json writes NaN
        elif mode == "slow":
            time.sleep(self.slow_seconds)
            body = json.dumps({"predictions": [1.5] * rows})
        else:
            raise ValueError(f"unknown fault {mode}")
        data = body.encode()
        with contextlib.suppress(OSError):  # the client may have given up already
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
