"""Benchmark of the app's predict API against a bare Gradio app. Prints numbers and ratios only.

    python -m bench.bench_app [--calls 200] [--seconds 10] [--cold-runs 3] [--model-dir DIR]
                              [--baseline DIR]

Both servers run side by side, each in its own process, on the local model
(``PREDICTOR_BACKEND=local``). The bare app has the same inputs and outputs as ``/predict`` and a
trivial function.

1. Latency: median of ``/predict`` over HTTP for one client, calls alternated between the two
   apps (target: app at most 1.25x the bare app). Measured with a lean client of Gradio's REST
   API (``rest``), which shows server-side differences, and with gradio_client, as users call it.
2. Throughput: answers per second with 16 concurrent clients, and errors, with both kinds of
   client (target: at least 0.8x, 0 errors).
3. Cold start: from process start to the first successful answer, median of alternated runs
   (target: at most 1.25x).
4. Load: 50 gradio_client users x 20 predictions on the app; errors and lost or mixed-up
   answers (target: 0).
5. With ``--baseline DIR`` (a checkout of an earlier version, e.g. ``git worktree add DIR REV``):
   ``/predict`` latency of this app against that one, calls alternated (target: at most 1.1x).

The servers run with ``SCENARIO_LOG=off``: the benchmark's calls are not planners' choices.
With ``--log on`` each server logs to a SQLite file of its own (a temporary folder), so that the
logging path (the row with the model version that outcomes rely on) is measured too; with
``--baseline-only`` only the comparison with ``--baseline`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CALL_TIMEOUT = 120.0


def serve_bare(port: int) -> None:
    """The bare app: ``/predict`` with the app's inputs and outputs and a trivial function."""
    import gradio as gr

    def predict(*values: Any) -> tuple[str, str, dict[str, Any]]:
        return "<div>0</div>", "", {"purchases": 0, "budget": values[1]}

    with gr.Blocks() as demo:
        inputs = [gr.Number(value=1) for _ in range(2)]
        inputs.append(gr.Dropdown(choices=[(str(m), m) for m in range(1, 13)], value=5))
        inputs += [gr.Number(value=1) for _ in range(15)]
        inputs.append(gr.Radio(choices=[("80%", 0.8), ("90%", 0.9), ("95%", 0.95)], value=0.9))
        inputs.append(gr.Radio(choices=[("Ridge", "ridge")], value="ridge"))
        outputs = [gr.HTML(), gr.Markdown(), gr.JSON()]
        gr.Button("Predict").click(predict, inputs, outputs, api_name="predict")
    demo.queue(default_concurrency_limit=32)
    demo.launch(server_name="127.0.0.1", server_port=port, quiet=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def plan_values(budget: float = 50_000) -> list[Any]:
    """The app's default plan in ``/predict`` order, with ``budget``, then the level and model.

    :func:`call` sends as many as the server's ``/predict`` takes (an earlier version has no
    model input).
    """
    values = [60, budget, 5, 3, 4, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
    return [*values, 0.9, "ridge"]


def predict_inputs(url: str) -> int:
    """How many inputs the server's ``/predict`` takes, from its API description."""
    import requests

    info = requests.get(f"{url}gradio_api/info", timeout=30).json()
    return len(info["named_endpoints"]["/predict"]["parameters"])


# "off", or "on": each server then logs to a SQLite file of its own.
LOG = {"mode": "off"}


def server_env() -> dict[str, str]:
    env = {
        **os.environ,
        "PREDICTOR_BACKEND": "local",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "SCENARIO_LOG": LOG["mode"],
    }
    if LOG["mode"] == "on":
        env["SCENARIO_LOG_PATH"] = str(Path(tempfile.mkdtemp(prefix="bench-log-")) / "log.sqlite")
        env.pop("SCENARIO_LOG_URL", None)
    env.pop("GRADIO_SERVER_PORT", None)
    env.pop("GRADIO_SERVER_NAME", None)
    return env


def command(kind: str, port: int, model_dir: Path | None, root: Path = REPO) -> list[str]:
    if kind == "bare":
        return [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(port)]
    cmd = [sys.executable, str(root / "app.py"), "--host", "127.0.0.1", "--port", str(port)]
    return [*cmd, "--model-dir", str(model_dir)] if model_dir else cmd


def first_answer(url: str, deadline: float, process: subprocess.Popen | None = None) -> None:
    """Poll ``url`` with the plain REST API until ``/predict`` answers successfully; give up
    at once if ``process`` has ended."""
    import requests

    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server ended with status {process.returncode}")
        try:
            data = plan_values()[: predict_inputs(url)]
            post = requests.post(f"{url}gradio_api/call/predict", json={"data": data}, timeout=30)
            if post.status_code == 200:
                event = post.json()["event_id"]
                stream = requests.get(f"{url}gradio_api/call/predict/{event}", timeout=60)
                if "event: complete" in stream.text:
                    return
                raise RuntimeError(f"first call failed: {stream.text[:300]}")
        except requests.ConnectionError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{url} did not answer in time")


# Under heavy load Gradio's own start-up check of localhost can time out and end the process:
# such a start is tried again (its time is not counted as a cold start).
START_ATTEMPTS = 3


def _start(kind: str, model_dir: Path | None, root: Path) -> tuple[subprocess.Popen, str, float]:
    """A running server process, its URL and the seconds from its start to its first answer."""
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        start = time.monotonic()
        process = subprocess.Popen(
            command(kind, port, model_dir, root),
            cwd=root,
            env=server_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            first_answer(url, start + 180, process)
            return process, url, time.monotonic() - start
        except Exception:
            ended = process.poll() is not None  # ended by itself, not still hanging
            process.kill()
            err = process.communicate()[1].decode(errors="replace")[-2000:]
            if attempt == START_ATTEMPTS or not ended:
                print(err, file=sys.stderr)
                raise
            print(f"{kind} server exited while starting; trying again", file=sys.stderr)
    raise AssertionError("not reached")


@contextmanager
def server(kind: str, model_dir: Path | None, root: Path = REPO) -> Iterator[tuple[str, float]]:
    """Start a server process (the app in ``root``, or the bare app); yield its URL and the
    seconds from start to its first answer."""
    process, url, seconds = _start(kind, model_dir, root)
    try:
        yield url, seconds
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RestClient:
    """A lean client of Gradio's REST API (``/gradio_api/call/predict``) keeping one session."""

    def __init__(self, url: str) -> None:
        import requests

        self.url = url
        self.http = requests.Session()
        self.session_hash = uuid.uuid4().hex[:11]

    def predict(self, values: list[Any]) -> Any:
        """The outputs of ``/predict``; raises on an error event."""
        post = self.http.post(
            f"{self.url}gradio_api/call/predict",
            json={"data": values, "session_hash": self.session_hash},
            timeout=CALL_TIMEOUT,
        )
        post.raise_for_status()
        event = post.json()["event_id"]
        stream = self.http.get(f"{self.url}gradio_api/call/predict/{event}", timeout=CALL_TIMEOUT)
        stream.raise_for_status()
        kind, data = "", ""
        for line in stream.text.splitlines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
        if kind != "complete":
            raise RuntimeError(f"{kind}: {data[:200]}")
        return json.loads(data)


def make_client(kind: str, url: str) -> Any:
    """A ``"rest"`` client or a gradio_client session (``"gradio_client"``, as the README shows),
    knowing how many inputs the server's ``/predict`` takes."""
    if kind == "rest":
        client: Any = RestClient(url)
    else:
        from gradio_client import Client

        client = Client(url, verbose=False, analytics_enabled=False)
    client.n_inputs = predict_inputs(url)
    return client


def call(c: Any, values: list[Any]) -> tuple[float, Any]:
    """Seconds for one ``/predict`` call and its outputs."""
    values = values[: c.n_inputs]
    start = time.perf_counter()
    if isinstance(c, RestClient):
        result = c.predict(values)
    else:
        result = c.submit(*values, api_name="/predict").result(timeout=CALL_TIMEOUT)
    return time.perf_counter() - start, result


def latency(kind: str, urls: dict[str, str], calls: int) -> dict[str, float]:
    """Median seconds per call, alternating between the servers call by call."""
    clients = {name: make_client(kind, url) for name, url in urls.items()}
    for c in clients.values():
        for _ in range(10):
            call(c, plan_values())
    times: dict[str, list[float]] = {name: [] for name in urls}
    # A different budget on every call, so no answer can be reused.
    for i in range(calls):
        for name, c in clients.items():
            times[name].append(call(c, plan_values(20_000 + i))[0])
    return {name: statistics.median(t) for name, t in times.items()}


def run_clients(
    kind: str, url: str, n_clients: int, work: Callable[[Any, int], tuple[int, int]]
) -> tuple[int, int, float]:
    """Run ``work(client, index)`` in ``n_clients`` threads; total (ok, errors) and wall time."""
    clients = [make_client(kind, url) for _ in range(n_clients)]
    barrier = threading.Barrier(n_clients + 1)

    def one(i: int) -> tuple[int, int]:
        barrier.wait()
        return work(clients[i], i)

    with ThreadPoolExecutor(n_clients) as pool:
        futures = [pool.submit(one, i) for i in range(n_clients)]
        barrier.wait()
        start = time.perf_counter()
        results = [f.result() for f in futures]
        wall = time.perf_counter() - start
    return sum(r[0] for r in results), sum(r[1] for r in results), wall


def throughput(kind: str, url: str, n_clients: int, seconds: float) -> tuple[float, int, int]:
    """Answers per second with ``n_clients`` calling back to back for ``seconds``; errors."""

    def work(c: Any, i: int) -> tuple[int, int]:
        ok = errors = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            try:
                call(c, plan_values(20_000 + 1_000 * i + ok))
                ok += 1
            except Exception:
                errors += 1
        return ok, errors

    ok, errors, wall = run_clients(kind, url, n_clients, work)
    return ok / wall, ok, errors


def load(url: str, n_clients: int, per_client: int) -> tuple[int, int, int, float]:
    """gradio_client users send plans with budgets of their own; count answers that match their
    request, errors, and answers lost or mixed up."""

    def work(c: Any, i: int) -> tuple[int, int]:
        ok = errors = 0
        for j in range(per_client):
            budget = 10_000 + 100 * (i * per_client + j)
            try:
                _, result = call(c, plan_values(budget))
            except Exception:
                errors += 1
                continue
            record = result[2] if isinstance(result, list | tuple) and len(result) == 3 else {}
            if (record.get("plan") or {}).get("total_budget") == budget and isinstance(
                record.get("purchases"), int
            ):
                ok += 1
        return ok, errors

    ok, errors, wall = run_clients("gradio_client", url, n_clients, work)
    lost = n_clients * per_client - ok - errors
    return ok, errors, lost, wall


def against_bare(args: argparse.Namespace, console: Any) -> list[tuple[str, ...]]:
    """Latency, throughput, cold start and load of the app against the bare app."""
    rows: list[tuple[str, ...]] = []
    colds: dict[str, list[float]] = {"app": [], "bare": []}
    for _ in range(args.cold_runs):
        for kind in ("bare", "app"):
            with server(kind, args.model_dir) as (_, seconds):
                colds[kind].append(seconds)
    cold = {k: statistics.median(v) for k, v in colds.items()}
    console.print(f"cold starts (s): app {colds['app']}, bare {colds['bare']}")

    with server("app", args.model_dir) as (app_url, _), server("bare", None) as (bare_url, _):
        urls = {"app": app_url, "bare": bare_url}
        for kind in ("rest", "gradio_client"):
            lat = latency(kind, urls, args.calls)
            rows.append(
                (
                    f"median latency, 1 client ({kind})",
                    f"{lat['app'] * 1000:.1f} ms",
                    f"{lat['bare'] * 1000:.1f} ms",
                    f"{lat['app'] / lat['bare']:.2f}x",
                    "<= 1.25x",
                )
            )
        for kind in ("rest", "gradio_client"):
            tp = {name: throughput(kind, url, 16, args.seconds) for name, url in urls.items()}
            rows.append(
                (
                    f"throughput, 16 clients ({kind})",
                    f"{tp['app'][0]:.1f}/s, {tp['app'][2]} errors",
                    f"{tp['bare'][0]:.1f}/s, {tp['bare'][2]} errors",
                    f"{tp['app'][0] / tp['bare'][0]:.2f}x",
                    ">= 0.8x, 0 errors",
                )
            )
        rows.append(
            (
                "cold start to first answer",
                f"{cold['app']:.2f} s",
                f"{cold['bare']:.2f} s",
                f"{cold['app'] / cold['bare']:.2f}x",
                "<= 1.25x",
            )
        )
        ok, errors, lost, wall = load(app_url, 50, 20)
        rows.append(
            (
                "load, 50 gradio_client users x 20",
                f"{ok} right answers, {errors} errors, {lost} lost, {wall:.1f} s",
                "",
                "",
                "0 errors, 0 lost",
            )
        )

    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="latency calls per app")
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput run length")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold starts per app")
    parser.add_argument("--model-dir", type=Path, help="model bundle (default: ./model)")
    parser.add_argument(
        "--baseline", type=Path, help="a checkout of an earlier version to compare /predict with"
    )
    parser.add_argument(
        "--log", choices=("off", "on"), default="off", help="scenario log of the servers"
    )
    parser.add_argument(
        "--baseline-only", action="store_true", help="only compare /predict with --baseline"
    )
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    LOG["mode"] = args.log
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rows: list[tuple[str, ...]] = []
    if not args.baseline_only:
        rows += against_bare(args, console)
    if args.baseline:
        with (
            server("app", args.model_dir) as (app_url, _),
            server("app", None, args.baseline.resolve()) as (base_url, _),
        ):
            for kind in ("rest", "gradio_client"):
                lat = latency(kind, {"app": app_url, "baseline": base_url}, args.calls)
                rows.append(
                    (
                        f"median latency vs {args.baseline.name}, 1 client ({kind})",
                        f"{lat['app'] * 1000:.1f} ms",
                        f"{lat['baseline'] * 1000:.1f} ms (earlier version)",
                        f"{lat['app'] / lat['baseline']:.2f}x",
                        "<= 1.1x",
                    )
                )

    table = Table(title=f"App vs bare Gradio app ({os.cpu_count()} CPUs)")
    for column in ("measure", "app", "bare app", "ratio", "target"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
