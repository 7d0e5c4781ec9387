"""A secret that cannot go in an HTTP header, end to end, against real servers on loopback.

The endpoint is a real MLflow scoring server; the app runs in this process and as ``python
app.py``. With a ``DATABRICKS_TOKEN`` holding a line break, ``/predict`` and ``/curves`` answer
from the local model with the invalid-credentials notice, through ``gradio_client`` and plain
REST, and no piece of the token (6 characters or more) appears in an answer or a log. The same
app with an invalid ``SCENARIO_LOG_URL`` says on its dashboard that the store's address is
invalid, without its password.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from gradio_client import Client

import app
from predictor import CampaignPlan, Predictor
from predictor.contract.plan import PLAN_FIELDS
from tests.support.common import MODEL_DIR, REPO, TOKEN, free_port, stop_process
from tests.support.predictor import assert_no_fragment, mlflow_server
from ui import build_demo
from ui.common import DEFAULT_PLAN

SECRET = "dapiQ7vX2kR9mW4tL8pZ{}N3bY6cH1jF5sD0gK"
PASSWORD = "Pa55wordXYZ-7q"
PLAIN_WORDS = "access key this app was given for it is invalid"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with mlflow_server(MODEL_DIR) as url:
        yield url


def rest_call(url: str, api: str, data: list[Any]) -> str:
    """The event stream of one plain REST call to ``api`` (``/gradio_api/call/<api>``)."""
    post = requests.post(f"{url}gradio_api/call/{api}", json={"data": data}, timeout=30)
    assert post.status_code == 200, post.text
    stream = requests.get(f"{url}gradio_api/call/{api}/{post.json()['event_id']}", timeout=120)
    assert stream.status_code == 200 and "event: complete" in stream.text, stream.text[:500]
    return stream.text


def plan_values() -> list[Any]:
    return [*(DEFAULT_PLAN[f] for f in PLAN_FIELDS), 0.9, "ridge"]


def call_everything(url: str) -> dict[str, str]:
    """``/predict`` and ``/curves`` through gradio_client and plain REST; every answer as text.

    Checks on the way that each answer came from the local model with the credentials notice.
    """
    client = Client(url, verbose=False, analytics_enabled=False)
    card, notes, record = client.predict(**DEFAULT_PLAN, api_name="/predict")
    assert record["backend"] == "local" and "the model built into this app" in card
    assert any(
        n.startswith("Databricks endpoint not called: DATABRICKS_TOKEN") for n in record["notices"]
    )
    assert PLAIN_WORDS in notes
    curves = client.predict(**DEFAULT_PLAN, api_name="/curves")
    assert "Databricks endpoint not called: DATABRICKS\\_TOKEN" in curves[2]  # Markdown
    predict_rest = rest_call(url, "predict", plan_values())
    assert '"backend": "local"' in predict_rest and PLAIN_WORDS in predict_rest
    curves_rest = rest_call(url, "curves", plan_values())
    assert "Databricks endpoint not called" in curves_rest
    return {
        "predict": json.dumps([card, notes, record]),
        "curves": json.dumps(curves, default=str),
        "predict REST": predict_rest,
        "curves REST": curves_rest,
    }


@pytest.mark.parametrize("char", ["\r\n", "\r", "\n"], ids=repr)
def test_the_app_in_process_falls_back_and_shows_no_piece_of_the_token(endpoint, char, caplog):
    caplog.set_level(logging.DEBUG)
    # The same server answers a sendable token: the fallback below is the token's doing.
    good = Predictor.from_env(
        MODEL_DIR, environ={"DATABRICKS_TOKEN": TOKEN, "DATABRICKS_ENDPOINT_URL": endpoint}
    )
    assert good.predict(CampaignPlan(**DEFAULT_PLAN)).backend == "databricks"
    secret = SECRET.format(char)
    predictor = Predictor.from_env(
        MODEL_DIR, environ={"DATABRICKS_TOKEN": secret, "DATABRICKS_ENDPOINT_URL": endpoint}
    )
    demo = build_demo(predictor)
    port = free_port()
    app.launch(
        demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True
    )
    try:
        answers = call_everything(f"http://127.0.0.1:{port}/")
    finally:
        demo.close()
    assert "databricks" not in predictor.call_counts
    assert "DATABRICKS_TOKEN" in caplog.text
    assert_no_fragment(secret, caplog.text, *answers.values(), repr(predictor))


@contextlib.contextmanager
def app_process(env: dict[str, str], cwd: Path, log: Path) -> Iterator[str]:
    """``python app.py`` on a free loopback port, its output in ``log``; yield its URL."""
    port = free_port()
    command = [sys.executable, str(REPO / "app.py"), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{url}gradio_api/info", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the app did not start in 180 s"
            time.sleep(0.1)  # polling for the server to listen, not waiting on a page
        yield url
    finally:
        stop_process(process)


def test_python_app_py_with_a_bad_token_and_a_bad_store_address(endpoint, tmp_path):
    secret = SECRET.format("\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABRICKS_", "PREDICTOR_", "SCENARIO_LOG", "GRADIO_SERVER"))
    }
    env.update(
        {
            "HOME": str(tmp_path),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "DATABRICKS_TOKEN": secret,
            "DATABRICKS_ENDPOINT_URL": endpoint,
            "SCENARIO_LOG_URL": f"postgresql+psycopg://planner:{PASSWORD}@db.example:notaport/log",
        }
    )
    log = tmp_path / "app.log"
    with app_process(env, tmp_path, log) as url:
        answers = call_everything(url)
        client = Client(url, verbose=False, analytics_enabled=False)
        summary = client.predict(api_name="/dashboard")[0]
    output = log.read_text()
    assert "store's address (SCENARIO\\_LOG\\_URL) is invalid" in summary
    assert "SCENARIO_LOG=off" not in summary
    assert "DATABRICKS_TOKEN holds a character" in output
    assert "scenario log off: the store's address (SCENARIO_LOG_URL) is invalid" in output
    for secret_text in (secret, PASSWORD):
        assert_no_fragment(secret_text, output, summary, *answers.values())
