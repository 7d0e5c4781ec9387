"""Time the training runs: the default run and ``--quick``, each in a fresh temporary folder.

Prints wall-clock seconds per run. Usage, from the project folder:
    python -m bench.bench_training [--repeat N] [--skip-default]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed_run(*args: str) -> float:
    """Seconds for one ``python -m training ARGS`` in a fresh folder with its own MLflow store."""
    with tempfile.TemporaryDirectory() as tmp:
        # The run happens outside the project folder; the child is told where the packages are.
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db",
        }
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "training", *args, "--model-dir", f"{tmp}/model"],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"training failed:\n{proc.stderr[-2000:]}")
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-default", action="store_true")
    args = parser.parse_args()
    runs = {"--quick": ["train", "--quick"]}
    if not args.skip_default:
        runs["default"] = ["train"]
    print(f"machine: {os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}")
    for name, run_args in runs.items():
        times = [timed_run(*run_args) for _ in range(args.repeat)]
        print(
            f"{name:10s} median {statistics.median(times):6.1f} s  runs: {', '.join(f'{t:.1f}' for t in times)}"
        )


if __name__ == "__main__":
    main()
