"""Benchmark of the app's ``/predict`` against two bare Gradio apps. Prints numbers and ratios.

    python -m bench.bench_app [--calls 200] [--seconds 10] [--cold-runs 3] [--model-dir DIR]
                              [--load-users 50] [--gradio-client] [--baseline DIR]
                              [--baseline-only] [--log on]

Every server runs in its own process, on the local model (``PREDICTOR_BACKEND=local``), with
the scenario log off (the benchmark's calls are not planners' choices), and is measured once it
is idle after its first answer (the app loads its models in the background then). The two bare
apps:

- ``bare``: ``/predict`` with the app's inputs and outputs (20 in, HTML + Markdown + JSON out)
  and a trivial function: what Gradio costs for the same API;
- ``minimal``: ``/predict`` with one number in and one out: what Gradio costs at the least.

1. Cold start: from process start to the first successful answer, median of alternated runs
   (bar: app at most 1.25x the bare app).
2. Latency: median of ``/predict`` for one client, calls alternated between the servers, over
   plain REST: ``call`` is ``POST /gradio_api/call/predict`` then ``GET`` of its event stream
   (the queue, as a Space serves it); ``run`` is the direct ``POST /gradio_api/run/predict``
   (no queue; Gradio opens it when the app is not on a Space) (bar: at most 1.25x).
3. Throughput: answers per second with 16 concurrent REST (``call``) clients, and errors, in
   five alternated turns per server (bar: at least 0.8x, 0 errors).
4. Load: ``--load-users`` gradio_client users x 20 predictions on the app; errors and lost or
   mixed-up answers (bar: 0). ``--gradio-client`` adds latency and throughput through
   gradio_client, as the README shows it (its own overhead is large and hides the server's).
5. With ``--baseline DIR`` (a checkout of an earlier version, e.g. ``git worktree add DIR REV``):
   ``/predict`` latency of this app against that one, calls alternated (bar: at most 1.1x).
   ``--baseline-only`` runs this comparison alone.

With ``--log on`` each server logs to a SQLite file of its own (a temporary folder), so that the
logging path (the row with the model version that outcomes rely on) is measured too.

The load average (1 minute) is printed with the results: on a busy machine every figure is
slower, so compare the ratios of one run. A server that exits before it answers stops the
benchmark at once, with its exit code and the end of its error output.
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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CALL_TIMEOUT = 120.0
START_TIMEOUT = 180.0
BARE_KINDS = ("bare", "minimal")
# A line of the results table: measure, app, bare app, ratio, minimal app, ratio, bar.
Row = tuple[str, ...]
COLUMNS = ("measure", "app", "bare (same I/O)", "ratio", "minimal bare", "ratio", "bar")


class ServerExited(RuntimeError):
    """A server process ended before it answered its first call."""


def bare_blocks(kind: str) -> Any:
    """A bare app's Blocks (``"bare"``: the app's ``/predict`` inputs and outputs; ``"minimal"``:
    one number in, one out), each with a trivial ``/predict``."""
    import gradio as gr

    with gr.Blocks() as demo:
        if kind == "minimal":
            number = gr.Number(value=1)
            gr.Button("Predict").click(lambda x: x, number, gr.Number(), api_name="predict")
            return demo

        def predict(*values: Any) -> tuple[str, str, dict[str, Any]]:
            return "<div>0</div>", "", {"purchases": 0, "budget": values[1]}

        inputs = [gr.Number(value=1) for _ in range(2)]
        inputs.append(gr.Dropdown(choices=[(str(m), m) for m in range(1, 13)], value=5))
        inputs += [gr.Number(value=1) for _ in range(15)]
        inputs.append(gr.Radio(choices=[("80%", 0.8), ("90%", 0.9), ("95%", 0.95)], value=0.9))
        inputs.append(gr.Radio(choices=[("Ridge", "ridge")], value="ridge"))
        outputs = [gr.HTML(), gr.Markdown(), gr.JSON()]
        gr.Button("Predict").click(predict, inputs, outputs, api_name="predict")
    return demo


def serve_bare(kind: str, port: int) -> None:
    """Serve the bare app ``kind`` on ``port`` with the app's queue settings."""
    demo = bare_blocks(kind)
    demo.queue(default_concurrency_limit=32)
    demo.launch(server_name="127.0.0.1", server_port=port, quiet=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def plan_values(budget: float = 50_000) -> list[Any]:
    """The app's default plan in ``/predict`` order, with ``budget``, then the level and model.

    :func:`call` sends as many as the server's ``/predict`` takes (a bare minimal app takes one,
    an earlier version of the app no model).
    """
    values = [60, budget, 5, 3, 4, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
    return [*values, 0.9, "ridge"]


def predict_inputs(url: str) -> int:
    """How many inputs the server's ``/predict`` takes, from its API description."""
    import requests

    info = requests.get(f"{url}gradio_api/info", timeout=30).json()
    return len(info["named_endpoints"]["/predict"]["parameters"])


# The servers' scenario log: "off", or "on" (``--log on``): a SQLite file of each server's own.
SCENARIO_LOG = {"mode": "off"}


def server_env() -> dict[str, str]:
    """The environment of every server: local model, no analytics, the scenario log as chosen."""
    env = {
        **os.environ,
        "PREDICTOR_BACKEND": "local",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "SCENARIO_LOG": SCENARIO_LOG["mode"],
    }
    if SCENARIO_LOG["mode"] == "on":
        env["SCENARIO_LOG_PATH"] = str(Path(tempfile.mkdtemp(prefix="bench-log-")) / "log.sqlite")
        env.pop("SCENARIO_LOG_URL", None)
    env.pop("GRADIO_SERVER_PORT", None)
    env.pop("GRADIO_SERVER_NAME", None)
    return env


def command(kind: str, port: int, model_dir: Path | None, root: Path = REPO) -> list[str]:
    """The command line that serves ``kind`` (``app`` in ``root``, or a bare app) on ``port``."""
    if kind in BARE_KINDS:
        return [sys.executable, str(Path(__file__).resolve()), "--serve-bare", kind, str(port)]
    cmd = [sys.executable, str(root / "app.py"), "--host", "127.0.0.1", "--port", str(port)]
    return [*cmd, "--model-dir", str(model_dir)] if model_dir else cmd


def first_answer(url: str, deadline: float, process: subprocess.Popen | None = None) -> None:
    """Poll ``url`` with the plain REST API until ``/predict`` answers successfully.

    Raises :class:`ServerExited` as soon as ``process`` has ended, :class:`TimeoutError` at
    ``deadline`` (a ``time.monotonic()`` value).
    """
    import requests

    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerExited(f"exited with code {process.returncode} before it answered")
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
    raise TimeoutError(f"{url} did not answer within the deadline")


def _tail(path: Path, size: int = 2000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-size:].strip() or "(no error output)"


@contextmanager
def start_server(
    cmd: Sequence[str], port: int, cwd: Path = REPO, timeout: float = START_TIMEOUT
) -> Iterator[tuple[str, float]]:
    """Run ``cmd`` (a server on ``port``); yield its URL and the seconds from start to its first
    answer. Its error output goes to a file (a pipe nobody reads could fill and stall it)."""
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        errors = Path(tmp) / "stderr.txt"
        with errors.open("wb") as err:
            start = time.monotonic()
            process = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=server_env(),
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}/"
        try:
            try:
                first_answer(url, start + timeout, process)
            except Exception as exc:
                process.kill()
                process.wait()
                raise ServerExited(
                    f"server {' '.join(cmd[1:3])} on port {port}: {exc}\n"
                    f"--- end of its error output ---\n{_tail(errors)}"
                ) from None
            cold = time.monotonic() - start
            settle(process.pid)
            yield url, cold
        finally:
            stop(process)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) that process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, idle_share: float = 0.1, step: float = 0.5, limit: float = 60.0) -> None:
    """Wait until server ``pid`` is idle (under ``idle_share`` of a core over ``step`` seconds),
    at most ``limit`` seconds: the app loads its models in the background after its first
    answer, and measuring before that ends would time the loading, not ``/predict``."""
    deadline = time.monotonic() + limit
    used = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(step)
        now = cpu_seconds(pid)
        if now - used < idle_share * step:
            return
        used = now


def stop(process: subprocess.Popen) -> None:
    """Ask ``process`` to end; kill it if it has not within 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def server(kind: str, model_dir: Path | None, root: Path = REPO) -> Iterator[tuple[str, float]]:
    """Start ``kind`` (the app in ``root``, or a bare app); yield its URL and cold start."""
    port = free_port()
    with start_server(command(kind, port, model_dir, root), port, root) as started:
        yield started


class RestClient:
    """A lean client of Gradio's REST API keeping one session: ``call`` goes through the queue
    (``/gradio_api/call/predict`` and its event stream), ``run`` is the direct POST."""

    def __init__(self, url: str, route: str = "call") -> None:
        import requests

        self.url = url
        self.route = route
        self.http = requests.Session()
        self.session_hash = uuid.uuid4().hex[:11]

    def predict(self, values: list[Any]) -> Any:
        """The outputs of ``/predict``; raises on an error."""
        body = {"data": values, "session_hash": self.session_hash}
        if self.route == "run":
            answer = self.http.post(
                f"{self.url}gradio_api/run/predict", json=body, timeout=CALL_TIMEOUT
            )
            answer.raise_for_status()
            return answer.json()["data"]
        post = self.http.post(f"{self.url}gradio_api/call/predict", json=body, timeout=CALL_TIMEOUT)
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


def run_route_open(url: str) -> bool:
    """Whether the server answers the direct ``POST /gradio_api/run/predict``."""
    try:
        client = make_client("run", url)
        call(client, plan_values())
    except Exception:
        return False
    return True


def make_client(kind: str, url: str) -> Any:
    """A REST client (``"call"`` or ``"run"``) or a gradio_client session (``"gradio_client"``),
    knowing how many inputs the server's ``/predict`` takes."""
    if kind in ("call", "run"):
        client: Any = RestClient(url, kind)
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


def throughputs(
    kind: str, urls: dict[str, str], seconds: float, rounds: int = 5
) -> dict[str, tuple[float, int, int]]:
    """:func:`throughput` of each server with 16 clients, in ``rounds`` turns of
    ``seconds / rounds`` each, alternated, so that a change in the machine's load falls on all."""
    totals = {name: [0.0, 0, 0] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            rate, ok, errors = throughput(kind, url, 16, seconds / rounds)
            totals[name][0] += ok / rate if rate else seconds / rounds
            totals[name][1] += ok
            totals[name][2] += errors
    return {name: (ok / wall, ok, errors) for name, (wall, ok, errors) in totals.items()}


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


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="latency calls per server")
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput run length")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold starts per server")
    parser.add_argument("--model-dir", type=Path, help="model bundle (default: ./model)")
    parser.add_argument(
        "--load-users", type=int, default=50, help="gradio_client users in the load run (0: none)"
    )
    parser.add_argument(
        "--gradio-client", action="store_true", help="also latency and throughput via gradio_client"
    )
    parser.add_argument(
        "--baseline", type=Path, help="a checkout of an earlier version to compare /predict with"
    )
    parser.add_argument(
        "--app-root", type=Path, default=REPO, help="the checkout whose app.py is measured"
    )
    parser.add_argument(
        "--baseline-only", action="store_true", help="only compare /predict with --baseline"
    )
    parser.add_argument(
        "--log", choices=("off", "on"), default="off", help="the servers' scenario log"
    )
    parser.add_argument("--serve-bare", nargs=2, metavar=("KIND", "PORT"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


class LoadAverage:
    """The 1-minute load average, sampled at the start and after each measure."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.sample()

    def sample(self) -> None:
        """Add the current 1-minute load average."""
        self.samples.append(os.getloadavg()[0])

    def __str__(self) -> str:
        first, last = self.samples[0], self.samples[-1]
        return f"{first:.2f} at the start, {last:.2f} at the end, {max(self.samples):.2f} highest"


def cold_starts(runs: int, model_dir: Path | None, root: Path = REPO) -> dict[str, list[float]]:
    """Seconds from process start to the first answer, ``runs`` times per server, alternated."""
    colds: dict[str, list[float]] = {"app": [], "bare": [], "minimal": []}
    for _ in range(runs):
        for kind in ("minimal", "bare", "app"):
            with server(kind, model_dir, root) as (_, seconds):
                colds[kind].append(seconds)
    return colds


def ratio_row(measure: str, values: dict[str, float], fmt: Callable[[float], str], bar: str) -> Row:
    """A table row: the app, each bare app, and the app's ratio to each."""
    cells = [measure, fmt(values["app"])]
    for kind in BARE_KINDS:
        cells += [fmt(values[kind]), f"{values['app'] / values[kind]:.2f}x"]
    return (*cells, bar)


def ms(seconds: float) -> str:
    """Seconds in milliseconds, for the table."""
    return f"{seconds * 1000:.1f} ms"


def app_vs_bare(
    args: argparse.Namespace, cold: dict[str, float], loadavg: LoadAverage
) -> list[Row]:
    """Latency and throughput of the three servers, the cold start, and the app under load."""
    rows: list[Row] = [
        ratio_row("cold start to first answer", cold, lambda s: f"{s:.2f} s", "<= 1.25x bare")
    ]
    with (
        server("app", args.model_dir, args.app_root.resolve()) as (app_url, _),
        server("bare", None) as (bare_url, _),
        server("minimal", None) as (minimal_url, _),
    ):
        urls = {"app": app_url, "bare": bare_url, "minimal": minimal_url}
        routes = ["call"] + (["run"] if all(map(run_route_open, urls.values())) else [])
        routes += ["gradio_client"] if args.gradio_client else []
        for route in routes:
            lat = latency(route, urls, args.calls)
            rows.append(ratio_row(f"/predict p50, 1 client ({route})", lat, ms, "<= 1.25x bare"))
            loadavg.sample()
        for route in ("call", "gradio_client") if args.gradio_client else ("call",):
            tp = throughputs(route, urls, args.seconds)
            rows.append(
                ratio_row(
                    f"throughput, 16 clients ({route})",
                    {name: v[0] for name, v in tp.items()},
                    lambda x: f"{x:.1f}/s",
                    ">= 0.8x bare, 0 errors",
                )
            )
            errors = {name: f"{v[2]} errors in {v[1] + v[2]} calls" for name, v in tp.items()}
            rows.append(("  errors", errors["app"], errors["bare"], "", errors["minimal"], "", ""))
            loadavg.sample()
        if args.load_users:
            ok, errors, lost, wall = load(app_url, args.load_users, 20)
            rows.append(
                (
                    f"load, {args.load_users} gradio_client users x 20",
                    f"{ok} right, {errors} errors, {lost} lost, {wall:.1f} s",
                    *[""] * 4,
                    "0 errors, 0 lost",
                )
            )
            loadavg.sample()
    return rows


def app_vs_baseline(args: argparse.Namespace) -> list[Row]:
    """``/predict`` latency of this app against the earlier version in ``args.baseline``."""
    rows: list[Row] = []
    with (
        server("app", args.model_dir) as (app_url, _),
        server("app", None, args.baseline.resolve()) as (base_url, _),
    ):
        for route in ("call", "gradio_client") if args.gradio_client else ("call",):
            lat = latency(route, {"app": app_url, "baseline": base_url}, args.calls)
            rows.append(
                (
                    f"/predict p50 vs {args.baseline.name} ({route})",
                    ms(lat["app"]),
                    f"{ms(lat['baseline'])} (earlier version)",
                    f"{lat['app'] / lat['baseline']:.2f}x",
                    "",
                    "",
                    "<= 1.1x",
                )
            )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, or serve a bare app (``--serve-bare KIND PORT``); print the results."""
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare[0], int(args.serve_bare[1]))
        return 0
    from rich.console import Console
    from rich.table import Table

    SCENARIO_LOG["mode"] = args.log
    console = Console(width=200)
    loadavg = LoadAverage()
    rows: list[Row] = []
    try:
        if not args.baseline_only:
            colds = cold_starts(args.cold_runs, args.model_dir, args.app_root.resolve())
            loadavg.sample()
            cold = {k: statistics.median(v) for k, v in colds.items()}
            console.print("cold starts (s): " + "; ".join(f"{k} {v}" for k, v in colds.items()))
            rows += app_vs_bare(args, cold, loadavg)
        if args.baseline:
            rows += app_vs_baseline(args)
    except ServerExited as exc:
        print(f"bench_app: a server did not start: {exc}", file=sys.stderr)
        return 1
    table = Table(title=f"App ({args.app_root}) vs bare Gradio apps ({os.cpu_count()} CPUs)")
    for column in COLUMNS:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"load average (1 min): {loadavg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
