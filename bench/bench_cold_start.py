"""Cold start of the app against a bare Gradio app (and an earlier version), starts interleaved.

    python -m bench.bench_cold_start [--runs 8] [--baseline DIR]

The servers, their environment and the first call are bench_app's (``PREDICTOR_BACKEND=local``,
both bundles, the scenario log off). Unlike bench_app, a server that exits before answering is
counted as a failed start and the run goes on, so a busy machine still gives numbers. For each
kind: the median seconds from process start to the first answer of ``/predict``, its ratio to the
bare app, the median CPU seconds the server process used by then (less sensitive to other
processes than wall time), the failed starts, and the load average at each start. Prints numbers
only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

import requests

from bench.bench_app import (
    REPO,
    command,
    free_port,
    plan_values,
    predict_inputs,
    server_env,
    stop,
)

DEADLINE = 180.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _answered(url: str) -> bool:
    """Whether ``/predict`` answers successfully now; False while the server is not up."""
    try:
        data = plan_values()[: predict_inputs(url)]
        post = requests.post(f"{url}gradio_api/call/predict", json={"data": data}, timeout=30)
        if post.status_code != 200:
            return False
        event = post.json()["event_id"]
        stream = requests.get(f"{url}gradio_api/call/predict/{event}", timeout=60)
    except requests.ConnectionError:
        return False
    if "event: complete" not in stream.text:
        raise RuntimeError(f"first call failed: {stream.text[:300]}")
    return True


def cold_start(kind: str, root: Path) -> tuple[float, float] | None:
    """Seconds and CPU seconds from start to the first answer; None if the server exited."""
    port = free_port()
    start = time.monotonic()
    process = subprocess.Popen(
        command(kind, port, None, root),
        cwd=root,
        env=server_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        while time.monotonic() < start + DEADLINE and process.poll() is None:
            if _answered(url):
                return time.monotonic() - start, _cpu_seconds(process.pid)
            time.sleep(0.02)
        return None
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8, help="starts per kind (default 8)")
    parser.add_argument("--baseline", type=Path, help="a checkout of an earlier version")
    args = parser.parse_args()
    kinds = [("bare", "bare", REPO), ("app", "app", REPO)]
    if args.baseline:
        kinds.append(("baseline", "app", args.baseline.resolve()))
    walls: dict[str, list[float]] = {label: [] for label, _, _ in kinds}
    cpus: dict[str, list[float]] = {label: [] for label, _, _ in kinds}
    failed = dict.fromkeys(walls, 0)
    loads: list[float] = []
    for i in range(args.runs):
        for label, kind, root in kinds[i % len(kinds) :] + kinds[: i % len(kinds)]:
            loads.append(os.getloadavg()[0])
            result = cold_start(kind, root)
            if result is None:
                failed[label] += 1
            else:
                walls[label].append(result[0])
                cpus[label].append(result[1])
            shown = "failed" if result is None else f"{result[0]:.2f} s, {result[1]:.2f} s CPU"
            print(f"run {i + 1} {label}: {shown} (load {loads[-1]:.1f})", flush=True)
    bare = statistics.median(walls["bare"]) if walls["bare"] else None
    for label in walls:
        if not walls[label]:
            print(f"{label}: no successful start of {args.runs}")
            continue
        wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
        ratio = f", {wall / bare:.2f}x bare" if bare else ""
        print(
            f"{label}: median {wall:.2f} s to the first answer{ratio}, {cpu:.2f} s CPU; "
            f"{len(walls[label])} started, {failed[label]} failed"
        )
    print(
        f"load average (1 min) at the starts: min {min(loads):.1f}, "
        f"median {statistics.median(loads):.1f}, max {max(loads):.1f}"
    )


if __name__ == "__main__":
    main()
