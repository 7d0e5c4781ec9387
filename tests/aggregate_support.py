"""Data folders for the aggregation tests: the real sample, generated logs, Parquet copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from training.generate import Effects, generate, write_dataset

SAMPLE = Path(__file__).parent / "fixtures" / "kaggle_sample"
TABLES = ("campaigns", "ads", "ad_events")
# A tenth of the default impressions: 200 campaigns then log about 170,000 events of every type,
# enough for many batches and partitions while Spark stays quick.
LIGHT = Effects(imp_scale=2.2)


def copy_sample(folder: Path) -> Path:
    """A copy of the real-format sample in ``folder``."""
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("*.md"))
    return folder


def write_generated(folder: Path, campaigns: int = 200, seed: int = 5) -> Path:
    """Generated CSV files (users and ground truth included) in ``folder``."""
    return write_dataset(generate(campaigns, seed, effects=LIGHT), folder)


def replace_line(path: Path, line: int, new: str) -> str:
    """Replace the 1-based ``line`` of a file by ``new``; returns the old text of that line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    old, lines[line - 1] = lines[line - 1], new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return old


def to_parquet(source: Path, folder: Path, *, events_as_folder: bool = False) -> Path:
    """The CSV tables of ``source`` as Parquet, with the types Arrow infers (ids as integers,
    dates as timestamps, categories dictionary-encoded). With ``events_as_folder`` the event log
    becomes a folder of several Parquet files, as Spark writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        options = pacsv.ConvertOptions(
            column_types={"user_id": pa.string(), "target_interests": pa.string()},
            auto_dict_encode=True,
        )
        table = pacsv.read_csv(source / f"{name}.csv", convert_options=options)
        if name == "ad_events" and events_as_folder:
            (folder / name).mkdir()
            step = -(-table.num_rows // 3)
            for part, start in enumerate(range(0, table.num_rows, step)):
                pq.write_table(table.slice(start, step), folder / name / f"part-{part}.parquet")
        else:
            pq.write_table(table, folder / f"{name}.parquet")
    return folder
