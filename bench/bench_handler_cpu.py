"""CPU time of the app's /predict handler per call, in-process, with the scenario log on.

    cd DIR && PYTHONPATH=. python PATH/TO/bench/bench_handler_cpu.py [--calls 2000]

Run from the folder of the version to measure (this one, or an earlier checkout), alternating
versions: CPU time (the log's writer thread included) is less disturbed than wall time on a
shared machine. Prints milliseconds per call only.
"""

from __future__ import annotations

import argparse
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    from predictor import Predictor
    from predictor.contract.plan import PLAN_FIELDS
    from predictor.record.scenario_log import ScenarioLog
    from predictor.serving.settings import PredictorConfig
    from ui.common import DEFAULT_PLAN, Services
    from ui.prediction import predict_handler

    log = ScenarioLog(f"sqlite:///{tempfile.mkdtemp(prefix='bench-cpu-')}/log.sqlite")
    services = Services({"ridge": Predictor(PredictorConfig(), model_dir="model")}, log)
    predict = predict_handler(services)
    values = [DEFAULT_PLAN[f] for f in PLAN_FIELDS]
    for _ in range(100):
        predict(*values, 0.9, "ridge")
    log.flush(30)
    start = time.process_time()
    for i in range(args.calls):
        values[1] = 20_000 + i  # a new budget each call: no answer can be reused
        predict(*values, 0.9, "ridge")
    log.flush(60)
    print(f"{(time.process_time() - start) / args.calls * 1000:.3f} ms CPU per call")
    log.close()


if __name__ == "__main__":
    main()
