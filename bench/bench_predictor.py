"""Benchmark of the prediction layer. Prints measurements and ratios; asserts nothing.

    python -m bench.bench_predictor [--rows 100000] [--remote-calls 300]   (from the project folder)

1. ``predict_frame`` on 100,000 rows vs a bare scikit-learn ``pipeline.predict`` on the same rows
   (targets: at most 2 s, at most 1.5x).
2. A what-if curve of 100 plans: the number of model calls it makes (target: exactly 1).
3. The remote path against a loopback ``mlflow models serve`` vs calling that server directly with
   ``requests`` in a loop (target: at most 1.2x).
4. One plan, each bundle: CPU time of ``Predictor.predict`` (checks, range guard, interval and
   all) against the model's own ``predict`` on the same one-row table.
5. The plan-aware range alone (each plan's distance to the training campaigns, then the
   bounds): CPU time for one plan and for ``--rows`` plans, beside the model's ``predict``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import requests

from predictor import FEATURE_COLUMNS, CampaignPlan, Predictor
from predictor.serving.bundle import load_bundle
from predictor.serving.model_choice import available_models
from predictor.serving.settings import PredictorConfig, load_config
from tests.support.common import MODEL_DIR, TOKEN
from tests.support.predictor import mlflow_server, rows_in_range


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Fastest wall time of ``repeats`` runs of ``fn`` (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved(
    first: Callable[[], object], second: Callable[[], object], rounds: int
) -> tuple[float, float, float]:
    """Run ``first`` and ``second`` alternately, so that drift in the machine's load hits both.

    Returns the fastest time of each and the median of the per-round ratios second/first.
    """
    first()
    second()
    a, b = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        first()
        a.append(time.perf_counter() - start)
        start = time.perf_counter()
        second()
        b.append(time.perf_counter() - start)
    return min(a), min(b), statistics.median(y / x for x, y in zip(a, b, strict=True))


def bench_batch(predictor: Predictor, rows: int) -> None:
    pipeline = load_bundle(MODEL_DIR).pyfunc.get_raw_model()
    frame = rows_in_range(predictor.metadata.training_range, rows)
    predictor.load()
    bare, ours, ratio = interleaved(
        lambda: pipeline.predict(frame), lambda: predictor.predict_frame(frame), rounds=25
    )
    print(f"[1] predict_frame on {rows:,} rows")
    print(f"    bare pipeline.predict : {bare * 1000:8.1f} ms")
    print(f"    predict_frame         : {ours * 1000:8.1f} ms   (target <= 2000 ms)")
    print(f"    ratio (median of pairs): {ratio:7.2f} x   (target <= 1.5 x)")


def bench_what_if(predictor: Predictor) -> None:
    plan = CampaignPlan(
        duration_days=30, total_budget=20000, start_month=5, num_unique_interests=3, total_ads=4
    )
    before = sum(predictor.call_counts.values())
    budgets = np.linspace(0, 2 * plan.total_budget, 100)
    start = time.perf_counter()
    curve = predictor.what_if(plan, "total_budget", budgets)
    elapsed = time.perf_counter() - start
    calls = sum(predictor.call_counts.values()) - before
    one = best_of(lambda: predictor.predict(plan), 20)
    print(f"[2] what-if curve of {len(curve)} plans")
    print(f"    model calls           : {calls}   (target: 1)")
    print(
        f"    curve / one predict   : {elapsed / one:8.2f} x   ({elapsed * 1000:.1f} ms vs {one * 1000:.2f} ms)"
    )


def bench_remote(predictor: Predictor, calls: int) -> None:
    frames = [
        row.to_frame().T
        for _, row in rows_in_range(predictor.metadata.training_range, calls, seed=1).iterrows()
    ]
    with mlflow_server(MODEL_DIR) as url:
        config = load_config(
            {
                "DATABRICKS_TOKEN": TOKEN,
                "DATABRICKS_ENDPOINT_URL": url,
                "PREDICTOR_BACKEND": "databricks",
            }
        )
        remote = Predictor(config, model_dir=MODEL_DIR)
        remote.load()
        session = requests.Session()
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

        def direct(frame: pd.DataFrame) -> None:
            body = {
                "dataframe_split": {"columns": FEATURE_COLUMNS, "data": frame.to_numpy().tolist()}
            }
            response = session.post(url, data=json.dumps(body), headers=headers, timeout=10)
            response.raise_for_status()
            response.json()["predictions"]

        for frame in frames[:20]:  # warm both connections up
            direct(frame)
            remote.predict_frame(frame)
        # Interleave the two call by call, so that drift in the machine's load hits both alike.
        direct_times, ours_times = [], []
        for frame in frames:
            start = time.perf_counter()
            direct(frame)
            direct_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            remote.predict_frame(frame)
            ours_times.append(time.perf_counter() - start)
        served = remote.call_counts.get("databricks", 0)
        fallbacks = remote.call_counts.get("local", 0)
    d, o = statistics.median(direct_times), statistics.median(ours_times)
    print(f"[3] remote path, {calls} single-row calls to a loopback mlflow models serve (medians)")
    print(f"    direct requests loop  : {d * 1000:8.2f} ms per call")
    print(f"    Predictor (databricks): {o * 1000:8.2f} ms per call")
    print(f"    ratio                 : {o / d:8.2f} x   (target <= 1.2 x)")
    print(f"    answers from the server: {served}, local fallbacks: {fallbacks}")


def cpu_per_call(fn: Callable[[], object], calls: int = 500) -> float:
    """CPU seconds of this thread per call of ``fn``, best of three runs of ``calls``."""
    fn()
    runs = []
    for _ in range(3):
        start = time.thread_time()
        for _ in range(calls):
            fn()
        runs.append((time.thread_time() - start) / calls)
    return min(runs)


def bench_one_plan() -> None:
    plan = CampaignPlan(
        duration_days=60, total_budget=50_000, start_month=5, num_unique_interests=3, total_ads=4
    )
    print("[4] one plan, CPU per call")
    frame = pd.DataFrame([plan.to_features()], columns=FEATURE_COLUMNS)
    for name, folder in available_models(MODEL_DIR).items():
        predictor = Predictor(PredictorConfig(backend="local"), model_dir=folder)
        predictor.load()
        model = predictor.local_estimator()
        own = cpu_per_call(lambda m=model: m.predict(frame))
        ours = cpu_per_call(lambda p=predictor: p.predict(plan))
        print(
            f"    {name:9s}: Predictor.predict {ours * 1000:6.2f} ms, the model's own predict "
            f"{own * 1000:6.2f} ms"
        )


def bench_range(rows: int) -> None:
    print(f"[5] the plan-aware range, CPU: one plan, and {rows:,} plans")
    for name, folder in available_models(MODEL_DIR).items():
        predictor = Predictor(PredictorConfig(backend="local"), model_dir=folder)
        predictor.load()
        model, ranges = predictor.local_estimator(), predictor.ranges
        for n in (1, rows):
            frame = rows_in_range(predictor.metadata.training_range, n)
            raw = model.predict(frame)
            calls = 200 if n == 1 else 1
            bounds = cpu_per_call(lambda r=ranges, p=raw, f=frame: r.bounds(p, f, 0.9), calls)
            own = cpu_per_call(lambda m=model, f=frame: m.predict(f), calls)
            print(
                f"    {name:9s} {n:>7,} rows: range {bounds * 1000:9.2f} ms, the model's own "
                f"predict {own * 1000:9.2f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--remote-calls", type=int, default=300)
    parser.add_argument("--skip-remote", action="store_true", help="skip the MLflow server part")
    args = parser.parse_args()
    predictor = Predictor(PredictorConfig(backend="local"), model_dir=MODEL_DIR)
    bench_batch(predictor, args.rows)
    bench_what_if(predictor)
    if not args.skip_remote:
        bench_remote(predictor, args.remote_calls)
    bench_one_plan()
    bench_range(args.rows)


if __name__ == "__main__":
    main()
