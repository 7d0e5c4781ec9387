"""Benchmark of batch scoring. Prints measurements; asserts nothing.

    python -m bench.bench_batch [--rows 100000] [--repeats 3] [--model-dir DIR] [--skip-cli]

Generates a CSV of plans (1% of rows bad, a few outside the training range), then times
1. the command line end to end: ``python -m predictor score plans.csv --out scored.csv``, a fresh
   process each time (Python start, imports, bundle loading, reading, checking, scoring, writing),
   wall and CPU time, and beside it the same command on one plan (its fixed cost);
2. in one warm process: reading the CSV, scoring it (``score_plans``), writing the result, wall
   and CPU time each.
Target: 100,000 rows in at most 5 s end to end with either bundle (``--model-dir
model/alternatives/boosting`` for the voting ensemble); for 1,000,000 rows (``--rows 1000000
--skip-cli``), writing the CSV takes less than scoring.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from predictor import Predictor
from predictor.planning.batch_scoring import read_plans, score_plans, write_scored
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR, REPO

T = TypeVar("T")


def plans_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` random plans shaped like the training data; 1% carry a bad cell."""
    rng = np.random.default_rng(seed)
    ads = rng.integers(1, 10, rows)
    frame = pd.DataFrame(
        {
            "duration_days": rng.integers(14, 121, rows),
            "total_budget": np.round(rng.uniform(5_000, 150_000, rows), 2),
            "start_month": rng.integers(1, 13, rows),
            "num_unique_interests": rng.integers(0, 11, rows),
            "total_ads": ads,
        }
    )
    for columns in (
        ("facebook_ads", "instagram_ads"),
        ("image_ads", "video_ads", "carousel_ads", "stories_ads"),
    ):
        share = rng.dirichlet(np.ones(len(columns)), rows)
        counts = np.floor(share * ads[:, None]).astype(int)
        counts[:, 0] += ads - counts.sum(axis=1)
        frame[list(columns)] = counts
    frame["all_gender_ads"] = ads
    frame["all_age_ads"] = ads
    frame = frame.astype(object)
    bad = rng.choice(rows, rows // 100, replace=False)
    frame.loc[bad[::2], "total_budget"] = "lots"
    frame.loc[bad[1::2], "start_month"] = 13
    return frame


def run_cli(plans: Path, out: Path, model_dir: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one command-line run."""
    command = [sys.executable, "-m", "predictor", "score", str(plans), "--out", str(out)]
    return timed([*command, "--model-dir", str(model_dir)])


def timed(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of running ``command`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def cli_runs(args: argparse.Namespace, plans: Path, out: Path) -> None:
    """Time the command line end to end, and a process that only loads the bundle."""
    runs = [run_cli(plans, out, args.model_dir) for _ in range(args.repeats)]
    cli, cpu = sorted(w for w, _ in runs), sorted(c for _, c in runs)
    scored = pd.read_csv(out, keep_default_na=False)
    errors = int((scored["error"] != "").sum())
    print(
        f"[1] command line, end to end : best {cli[0]:.2f} s, median "
        f"{cli[len(cli) // 2]:.2f} s over {args.repeats} runs (target <= 5 s); CPU time "
        f"best {cpu[0]:.2f} s, median {cpu[len(cpu) // 2]:.2f} s; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"    {len(scored):,} rows out, {errors:,} with an error")
    one = plans.with_name("one_plan.csv")
    plans_frame(1).to_csv(one, index=False)  # a valid plan (bad cells come one in a hundred)
    alone = sorted(run_cli(one, out, args.model_dir) for _ in range(args.repeats))
    print(
        f"    the same command on one plan (start, imports, bundle): best "
        f"{alone[0][0]:.2f} s wall, {min(c for _, c in alone):.2f} s CPU"
    )


def warm_steps(args: argparse.Namespace, plans: Path, out: Path) -> None:
    """Time reading, scoring and writing in one process with the bundle loaded."""
    predictor = Predictor(PredictorConfig(backend="local"), model_dir=args.model_dir)
    predictor.load(quick=True)  # as the command line: the bundle's plain numbers if it has them
    steps: dict[str, list[tuple[float, float]]] = {"read": [], "score": [], "write": []}
    for _ in range(args.repeats):
        frame = timed_step(steps["read"], lambda: read_plans(str(plans)))
        result = timed_step(steps["score"], lambda: score_plans(predictor, frame))  # noqa: B023
        timed_step(steps["write"], lambda: write_scored(result, str(out)))  # noqa: B023
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in steps.items()}
    print(
        "[2] warm process (best of "
        f"{args.repeats}; wall / CPU): "
        + ", ".join(f"{k} {w:.2f} s / {c:.2f} s" for k, (w, c) in best.items())
        + f"; load average {os.getloadavg()[0]:.1f}"
    )


def timed_step(times: list[tuple[float, float]], fn: Callable[[], T]) -> T:
    """``fn()``, with its wall and CPU seconds appended to ``times``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="the bundle to use")
    parser.add_argument("--skip-cli", action="store_true", help="only the warm-process steps")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plans, out = Path(tmp) / "plans.csv", Path(tmp) / "scored.csv"
        plans_frame(args.rows).to_csv(plans, index=False)
        print(f"{args.rows:,} plans, {plans.stat().st_size / 1e6:.1f} MB CSV, {args.model_dir}")
        if not args.skip_cli:
            cli_runs(args, plans, out)
        warm_steps(args, plans, out)


if __name__ == "__main__":
    main()
