"""Benchmark of batch scoring. Prints measurements; asserts nothing.

    python -m bench.bench_batch [--rows 100000] [--repeats 3]

Generates a CSV of plans (1% of rows bad, a few outside the training range), then times
1. the command line end to end: ``python -m predictor score plans.csv --out scored.csv``, a fresh
   process each time (Python start, imports, bundle loading, reading, checking, scoring, writing),
   wall and CPU time, and beside it a fresh process that only imports and loads the bundle;
2. in one warm process: reading the CSV, scoring it (``score_plans``), writing the result.
Target: 100,000 rows in at most 5 s end to end.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from predictor import Predictor
from predictor.planning.batch_scoring import read_plans, score_plans, write_scored
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR, REPO


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


def run_cli(plans: Path, out: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one command-line run."""
    return timed([sys.executable, "-m", "predictor", "score", str(plans), "--out", str(out)])


def timed(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of running ``command`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plans, out = Path(tmp) / "plans.csv", Path(tmp) / "scored.csv"
        plans_frame(args.rows).to_csv(plans, index=False)
        print(f"{args.rows:,} plans, {plans.stat().st_size / 1e6:.1f} MB CSV")

        runs = [run_cli(plans, out) for _ in range(args.repeats)]
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
        load = f"from predictor import Predictor; Predictor(model_dir={str(MODEL_DIR)!r}).load()"
        alone = sorted(timed([sys.executable, "-c", load]) for _ in range(args.repeats))
        print(
            f"    a fresh process that only imports and loads the bundle: best "
            f"{alone[0][0]:.2f} s wall, {min(c for _, c in alone):.2f} s CPU"
        )

        predictor = Predictor(PredictorConfig(backend="local"), model_dir=MODEL_DIR)
        predictor.load()
        steps = {"read": [], "score": [], "write": []}
        for _ in range(args.repeats):
            start = time.perf_counter()
            frame = read_plans(str(plans))
            steps["read"].append(time.perf_counter() - start)
            start = time.perf_counter()
            result = score_plans(predictor, frame)
            steps["score"].append(time.perf_counter() - start)
            start = time.perf_counter()
            write_scored(result, str(out))
            steps["write"].append(time.perf_counter() - start)
        best = {k: min(v) for k, v in steps.items()}
        print(
            f"[2] warm process: read {best['read']:.2f} s, score_plans {best['score']:.2f} s, "
            f"write {best['write']:.2f} s, total {sum(best.values()):.2f} s (best of "
            f"{args.repeats})"
        )
        start = time.perf_counter()
        Predictor(PredictorConfig(backend="local"), model_dir=MODEL_DIR).load()
        print(
            f"    for comparison, loading the bundle in this warm process: "
            f"{time.perf_counter() - start:.2f} s"
        )


if __name__ == "__main__":
    main()
