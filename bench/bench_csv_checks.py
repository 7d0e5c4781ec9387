"""Cost of the CSV safety checks. Prints measurements; asserts nothing.

    python -m bench.bench_csv_checks [--rows 100000,1000000] [--repeats 3]

In one process, on plans shaped like ``bench_batch``'s (a text column with a formula in 1% of
the rows): reading the CSV with pandas beside the text scan that now precedes it (bytes that are
not UTF-8, quotes left open), and writing the scored CSV with the former per-column formula
escaping beside :func:`predictor.contract.csv_export.csv_text` (cells and headers). CPU time,
best of ``--repeats`` runs each; ratios compare runs of the same moment.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from bench.bench_batch import plans_frame
from predictor.contract.csv_export import csv_text
from predictor.contract.csv_text import scan_bytes


def former_escaping(frame: pd.DataFrame) -> str:
    """The escaping the command line used before (text cells only, headers as they were)."""
    frame = frame.copy()
    for column in frame.columns:
        cells = frame[column]
        if not (pd.api.types.is_string_dtype(cells) or cells.dtype == object):
            continue
        risky = cells.astype(str).str[:1].isin(("=", "+", "-", "@", "\t", "\r"))
        if risky.any():
            risky &= pd.to_numeric(cells.where(risky), errors="coerce").isna()
            frame[column] = cells.where(~risky, "'" + cells.astype(str))
    return frame.to_csv(index=False)


def best(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()  # CPU time: the shared machine's load does not count
        run()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for rows in (int(r) for r in args.rows.split(",")):
        print(measure(rows, args.repeats))


def measure(rows: int, repeats: int) -> str:
    """One line of figures for ``rows`` plans."""
    frame = plans_frame(rows)
    frame["note"] = np.where(np.arange(rows) % 100 == 0, "=HYPERLINK(1)", "plain note")
    data = frame.to_csv(index=False).encode()
    read = best(lambda: pd.read_csv(io.BytesIO(data), dtype=str), repeats)
    scan = best(lambda: scan_bytes(data), repeats)
    former = best(lambda: former_escaping(frame), repeats)
    now = best(lambda: csv_text(frame), repeats)
    return (
        f"{rows:,} rows ({len(data) / 1e6:.1f} MB), CPU time: read {read:.3f} s, "
        f"text scan {scan:.3f} s "
        f"({scan / read:.1%} of the read); write with the former escaping {former:.3f} s, "
        f"with csv_text {now:.3f} s ({now / former:.2f}x)"
    )


if __name__ == "__main__":
    main()
