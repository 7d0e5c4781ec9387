"""Every named API endpoint, fuzzed over plain REST against ``python app.py`` on loopback.

Each parameter of each endpoint the app names gets wrong types, huge numbers, NaN and infinity
(as text and as JSON literals), a 1 MB string and nested JSON, the others staying valid; each
endpoint also gets too few and too many values. Counted: HTTP 5xx, empty error messages,
generic ones, and stacks in the server's log. All must be 0, and every refused call leaves
exactly one line in the log.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.common import REPO, free_port
from ui.batch import SAMPLE_PLANS
from ui.results import SAMPLE_RESULTS

NESTED: dict[str, Any] = {"a": [{"b": [[{"c": "x" * 10}]]}] * 3}


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


BAD_VALUES: dict[str, Any] = {
    "text": "abc",
    "NaN as text": "NaN",
    "inf as text": "inf",
    "-Infinity as text": "-Infinity",
    "NaN": float("nan"),
    "inf": float("inf"),
    "1e308": 1e308,
    "-1e308": -1e308,
    "400-digit int": 10**400,
    "null": None,
    "true": True,
    "list": [1, 2],
    "object": {"a": 1},
    "nested JSON": NESTED,
    "200 levels deep": _deep(200),
    "1 MB string": "x" * 1_000_000,
}
# Messages that say nothing about what to change.
GENERIC = (
    "failed unexpectedly",
    "error raised",
    "could not read its values",
    "could not preprocess",
    "could not postprocess",
    "an error occurred",
)
LONGEST_MESSAGE = 1_000
REFUSED = " refused: "
STACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class Answer:
    """One call: where it went, what was sent, and what came back."""

    endpoint: str
    case: str
    status: int
    event: str | None
    message: str | None
    seconds: float = 0.0


@dataclass
class Server:
    url: str
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python app.py`` on a free loopback port, the local model, its log in a file."""
    folder = tmp_path_factory.mktemp("fuzz")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "PREDICTOR_"))}
    env.update(
        PREDICTOR_BACKEND="local",
        SCENARIO_LOG_PATH=str(folder / "scenario_log.sqlite"),
        GRADIO_ANALYTICS_ENABLED="False",
    )
    port = free_port()
    log = folder / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process, log)
        yield Server(url, log)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}gradio_api/info", timeout=5).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.2)  # the server is not listening yet: poll again
    pytest.fail(f"app.py did not answer within {limit:.0f} s:\n{log.read_text()}")


def call(url: str, endpoint: str, case: str, data: list[Any], session: str | None = None) -> Answer:
    """One plain REST call: POST the values, then read the event stream to its end."""
    started = time.monotonic()
    name = endpoint.strip("/")
    # NaN and Infinity go as JSON literals, as Python's json writes them.
    body = json.dumps({"data": data, "session_hash": session})
    post = requests.post(
        f"{url}gradio_api/call/{name}",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=120,
    )
    if post.status_code != 200:
        return Answer(endpoint, case, post.status_code, None, post.text[:300], 0.0)
    stream = requests.get(f"{url}gradio_api/call/{name}/{post.json()['event_id']}", timeout=300)
    event, payload = None, None
    for block in stream.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") in ("complete", "error"):
            event, payload = lines["event"], lines.get("data")
    message = None
    if event == "error" and payload is not None:
        message = (json.loads(payload) or {}).get("error")
    return Answer(endpoint, case, stream.status_code, event, message, time.monotonic() - started)


def _file_value(url: str, sample: Path = SAMPLE_PLANS) -> dict[str, Any]:
    """A sample file (plans, or results), uploaded as a client would: what a file parameter
    takes."""
    with sample.open("rb") as handle:
        upload = requests.post(f"{url}gradio_api/upload", files={"files": handle}, timeout=60)
    upload.raise_for_status()
    path = upload.json()[0]
    return {"path": path, "orig_name": sample.name, "meta": {"_type": "gradio.FileData"}}


@dataclass(frozen=True)
class Case:
    """A call to make, and the call that prepares its session (if any)."""

    endpoint: str
    name: str
    values: list[Any]
    setup: tuple[str, list[Any]] | None = None

    def run(self, url: str) -> Answer:
        session = None
        if self.setup:
            session = uuid.uuid4().hex
            prepared = call(url, *self.setup[:1], "setup", self.setup[1], session)
            assert prepared.event == "complete", prepared
        return call(url, self.endpoint, self.name, self.values, session)


def cases(url: str) -> list[Case]:
    """Every named endpoint: valid values, wrong counts, and each bad value in each parameter.

    The valid values are the examples of the API page; removing a scenario first saves the
    example scenario in the same session.
    """
    info = requests.get(f"{url}gradio_api/info", timeout=30).json()["named_endpoints"]
    files = {"/record_results_csv": _file_value(url, SAMPLE_RESULTS)}
    plans = _file_value(url)
    valid = {
        endpoint: [
            files.get(endpoint, plans) if p["component"] == "File" else p["example_input"]
            for p in spec["parameters"]
        ]
        for endpoint, spec in info.items()
    }
    out = []
    for endpoint, spec in sorted(info.items()):
        setup = (
            ("/save_scenario", valid["/save_scenario"]) if endpoint == "/remove_scenario" else None
        )
        good = valid[endpoint]
        out.append(Case(endpoint, "valid", good, setup))
        n = len(good)
        for count in sorted({0, n - 1, n + 1, n + 81} - {n}):
            if count >= 0:
                out.append(Case(endpoint, f"{count} values", (good + [1] * count)[:count], setup))
        for i, parameter in enumerate(spec["parameters"]):
            for label, bad in BAD_VALUES.items():
                values = [*good[:i], bad, *good[i + 1 :]]
                name = f"{parameter['parameter_name']} = {label}"
                out.append(Case(endpoint, name, values, setup))
    return out


def _may_answer(answer: Answer) -> bool:
    """Whether a bad value may be answered: null means "not given" (the default), true is a tick
    box's value, and any short text is a fine scenario name."""
    parameter, _, label = answer.case.partition(" = ")
    if label == "null":
        return True
    if label == "true" and parameter == "replace":  # a tick box: true is a valid value
        return True
    text = isinstance(BAD_VALUES.get(label), str) and label != "1 MB string"
    return answer.endpoint == "/save_scenario" and parameter == "name" and text


def _generic(message: str) -> bool:
    text = message.strip().lower()
    return text in ("error", "") or any(g in text for g in GENERIC)


def test_every_endpoint_answers_bad_input_clearly(server: Server) -> None:
    todo = cases(server.url)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda c: c.run(server.url), todo))
    seconds = time.monotonic() - started
    log = server.log.read_text()

    server_errors = [a for a in answers if a.status >= 500]
    errors = [a for a in answers if a.event == "error"]
    empty = [a for a in errors if not (a.message or "").strip()]
    generic = [a for a in errors if a.message and _generic(a.message)]
    long = [a for a in errors if a.message and len(a.message) > LONGEST_MESSAGE]
    unfinished = [a for a in answers if a.status < 400 and a.event is None]
    accepted = [a for a in answers if " = " in a.case and a.event == "complete"]
    silent = [(a.endpoint, a.case) for a in accepted if not _may_answer(a)]
    stacks = log.count(STACK)
    refused_lines = sum(REFUSED in line for line in log.splitlines())
    endpoints = Counter(a.endpoint for a in answers)
    print(
        f"\nfuzz: {len(answers):,} calls to {len(endpoints)} endpoints in {seconds:.1f} s; "
        f"{len(errors):,} refused, {len(answers) - len(errors):,} answered; "
        f"HTTP 5xx {len(server_errors)}, empty messages {len(empty)}, generic {len(generic)}, "
        f"over {LONGEST_MESSAGE:,} characters {len(long)}, wrong values answered {len(silent)}, "
        f"stacks in the log {stacks}, "
        f"log lines of refusals {refused_lines:,}"
    )

    # The valid calls are answered: the harness reaches the handlers.
    assert all(a.event == "complete" for a in answers if a.case == "valid"), [
        a for a in answers if a.case == "valid" and a.event != "complete"
    ]
    assert len(endpoints) >= 10
    assert server_errors == [], server_errors[:5]
    assert silent == [], silent[:20]  # a wrong value is refused, never ignored
    assert unfinished == [], unfinished[:5]
    assert empty == [], empty[:5]
    assert generic == [], generic[:5]
    assert long == [], [(a.endpoint, a.case, len(a.message or "")) for a in long[:5]]
    assert stacks == 0, log[log.index(STACK) - 200 : log.index(STACK) + 3000]
    assert refused_lines == len(errors)
    # Wrong counts are refused, naming the parameters.
    counted = [a for a in answers if a.case.endswith(" values")]
    assert counted and all(a.event == "error" and "takes" in (a.message or "") for a in counted)
