"""Measure the campaign aggregation: events per second and peak memory, by engine and log size.

For each size (millions of events) it generates a synthetic data folder in parts, aggregates it
in a fresh child process (``python -m training aggregate`` does the same work), and deletes the
folder. The pandas engine runs at every size; the Spark engine (local[2]) at the --spark sizes,
right after pandas on the same files. Usage:

    python bench/bench_aggregate.py [--sizes 1,10,50] [--spark 10] [--workdir DIR]

Throughput is events / seconds of the second of two ``aggregate_dir`` runs in one process (the
first is shown too; Spark's session start is shown apart).
Peak memory of a child is its maximum resident set from ``wait4`` (the pandas engine, one
process) and, for Spark, the largest sampled sum of the child and the Java process it starts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BYTES_PER_EVENT = 70  # about 65 in the generated CSV, with room to spare
CAMPAIGNS_PER_PART = 300  # about 2.7 million events: each part fits in about 1 GiB


def _child(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


# --- in the child processes --------------------------------------------------------------------


def generate_folder(folder: Path, events: int, seed: int = 42) -> dict:
    """Write a data folder of exactly ``events`` events, generated in parts with unique ids."""
    from training.generate import generate, write_dataset

    written, part, offsets = 0, 0, {"campaign": 0, "ad": 0}
    while written < events:
        tables = generate(CAMPAIGNS_PER_PART, seed + part)
        campaigns, ads, log = tables["campaigns"], tables["ads"], tables["ad_events"]
        log = log.iloc[: events - written].copy()
        campaigns["campaign_id"] += offsets["campaign"]
        ads["campaign_id"] += offsets["campaign"]
        ads["ad_id"] += offsets["ad"]
        log["ad_id"] += offsets["ad"]
        log["event_id"] += written
        parts = {"campaigns": campaigns, "ads": ads, "ad_events": log}
        if part == 0:
            parts["users"] = tables["users"]
        write_dataset(parts, folder, append=part > 0)
        offsets["campaign"] += len(campaigns)
        offsets["ad"] += len(ads)
        written += len(log)
        part += 1
    size = sum(f.stat().st_size for f in folder.iterdir())
    return {"events": written, "campaigns": offsets["campaign"], "bytes": size}


def aggregate_folder(folder: Path, engine: str) -> dict:
    """Aggregate ``folder`` with ``engine`` twice in one process, and time both runs."""
    from training.aggregate import aggregate_dir

    start = time.perf_counter()
    spark = None
    if engine == "spark":
        from training.aggregate_spark import spark_session

        spark = spark_session()
    startup = time.perf_counter() - start
    seconds = []
    for _ in range(2):  # the first run pays for warming up (Spark compiles its queries)
        begin = time.perf_counter()
        table = aggregate_dir(folder, engine=engine, spark=spark)
        seconds.append(time.perf_counter() - begin)
    return {
        "startup": startup,
        "first": seconds[0],
        "seconds": seconds[1],
        "campaigns": len(table),
        "purchases": int(table["num_purchases"].sum()),
    }


# --- in the parent -----------------------------------------------------------------------------


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in tree:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


def measure(*args: str) -> dict:
    """Run a child of this script; its JSON answer, wall seconds and peak memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(_child(*args), env=_env(), stdout=subprocess.PIPE, text=True)
    peak, stop = [0], threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak[0] = max(peak[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed with exit code {proc.returncode}")
    answer = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    answer["wall"] = time.perf_counter() - start
    answer["peak_child"] = usage.ru_maxrss * 1024  # kilobytes on Linux
    answer["peak_tree"] = max(peak[0], answer["peak_child"])
    return answer


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="1,10,50", help="millions of events (default %(default)s)"
    )
    parser.add_argument(
        "--spark", default="10", help="sizes also run on Spark (default %(default)s)"
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    spark_sizes = {float(s) for s in args.spark.split(",") if s}
    print(f"machine: {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}")
    rows = []
    for size in sizes:
        events = int(size * 1_000_000)
        free = shutil.disk_usage(args.workdir).free
        if free < events * BYTES_PER_EVENT * 1.2:
            raise SystemExit(f"{args.workdir} has {_gib(free)} free; {size:g}M events need more")
        folder = Path(tempfile.mkdtemp(prefix=f"bench-aggregate-{size:g}M-", dir=args.workdir))
        try:
            data = measure("_generate", str(folder), str(events))
            print(
                f"generated {data['events']:,} events of {data['campaigns']:,} campaigns "
                f"({data['bytes'] / 1e6:,.0f} MB of CSV) in {data['wall']:.0f} s",
                flush=True,
            )
            engines = ["pandas", "spark"] if size in spark_sizes else ["pandas"]
            for engine in engines:
                run = measure("_aggregate", str(folder), engine)
                run.update(engine=engine, events=data["events"], bytes=data["bytes"])
                rows.append(run)
                print(_row(run), flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}\n")
    print(
        "| engine | events | CSV | aggregation (first run) | events/s | peak memory "
        "| child wall (session start) |"
    )
    print("|---|---|---|---|---|---|---|")
    for run in rows:
        print(_row(run))


def _row(run: dict) -> str:
    peak = run["peak_child"] if run["engine"] == "pandas" else run["peak_tree"]
    return (
        f"| {run['engine']} | {run['events'] / 1e6:g}M | {run['bytes'] / 1e6:,.0f} MB "
        f"| {run['seconds']:.1f} s ({run['first']:.1f} s) "
        f"| {run['events'] / run['seconds'] / 1e6:.2f}M "
        f"| {_gib(peak)} | {run['wall']:.1f} s ({run['startup']:.1f} s) |"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("_generate", "_aggregate"):
        command, folder, value = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
        if command == "_generate":
            result = generate_folder(folder, int(value))
        else:
            result = aggregate_folder(folder, value)
        print(json.dumps(result))
    else:
        main()
