"""The Spark engine against the pandas engine: same table, same errors, same warnings.

Spark runs in local mode, one session for the whole test run (it needs Java).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from tests.support.common import SAMPLE
from tests.support.data import copy_sample, to_parquet, write_generated
from training.aggregate import aggregate_dir
from training.aggregate_spark import event_rules, spark_session
from training.checks import DataError, Rows, to_datetime, to_int
from training.schema import TIMESTAMP_EXAMPLE

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    session = spark_session()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_generated(tmp_path_factory.mktemp("generated"))


def both(folder: Path, spark: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    return aggregate_dir(folder, engine="pandas"), aggregate_dir(
        folder, engine="spark", spark=spark
    )


# --- the same table ----------------------------------------------------------------------------


def test_real_sample_gives_the_same_table(spark: object) -> None:
    expected, table = both(SAMPLE, spark)
    pd.testing.assert_frame_equal(table, expected)  # columns, order, values and dtypes
    assert len(table) == 50 and table["num_purchases"].sum() > 0


def test_generated_campaigns_give_the_same_table(spark: object, generated: Path) -> None:
    expected, table = both(generated, spark)
    pd.testing.assert_frame_equal(table, expected)
    assert len(table) == 200 and table["num_purchases"].sum() > 300


def test_parquet_gives_the_same_table(spark: object, generated: Path, tmp_path: Path) -> None:
    expected = aggregate_dir(generated)
    for folder in (
        to_parquet(generated, tmp_path / "single"),
        to_parquet(generated, tmp_path / "parts", events_as_folder=True),
    ):
        pd.testing.assert_frame_equal(aggregate_dir(folder, "spark", spark), expected)


def test_cli_engine_spark(spark: object, tmp_path: Path) -> None:
    from training.__main__ import main

    out = tmp_path / "campaigns.csv"
    assert (
        main(["aggregate", "--data-dir", str(SAMPLE), "--out", str(out), "--engine", "spark"]) == 0
    )
    pd.testing.assert_frame_equal(pd.read_csv(out), aggregate_dir(SAMPLE), check_dtype=False)


# --- the same errors ---------------------------------------------------------------------------


def set_field(path: Path, line: int, column: str, value: str) -> None:
    """Set one cell of a CSV file (``line`` is 1-based, the header being line 1)."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    rows[line - 1][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def drop_column(path: Path, column: str) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    index = rows[0].index(column)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:index] + r[index + 1 :] for r in rows])
    path.write_text(out.getvalue(), encoding="utf-8")


# Each case: file, line, column, new value (None: drop the column), and the column named.
BAD = {
    "ad of unknown campaign": ("ads.csv", 5, "campaign_id", "999", "campaign_id"),
    "unknown platform": ("ads.csv", 3, "ad_platform", "TikTok", "ad_platform"),
    "unknown interest": ("ads.csv", 9, "target_interests", "art, cooking", "target_interests"),
    "duplicate ad_id": ("ads.csv", 12, "ad_id", "4", "ad_id"),
    "missing ads column": ("ads.csv", 1, "target_gender", None, "target_gender"),
    "impossible campaign date": ("campaigns.csv", 4, "start_date", "2025-02-30", "start_date"),
    "negative budget": ("campaigns.csv", 6, "total_budget", "-5", "total_budget"),
    "missing events column": ("ad_events.csv", 1, "event_type", None, "event_type"),
    "unknown event type": ("ad_events.csv", 600, "event_type", "Buy", "event_type"),
    "unknown time of day": ("ad_events.csv", 77, "time_of_day", "Noon", "time_of_day"),
    "bad timestamp": ("ad_events.csv", 800, "timestamp", "2025-03-02 25:05:00", "timestamp"),
    "ad_id not a number": ("ad_events.csv", 300, "ad_id", "x12", "ad_id"),
    "empty ad_id": ("ad_events.csv", 10, "ad_id", "", "ad_id"),
    "hexadecimal event_id": ("ad_events.csv", 400, "event_id", "0x1F", "event_id"),
    "duplicate event_id": ("ad_events.csv", 900, "event_id", "450", "event_id"),
}


@pytest.mark.parametrize(("file", "line", "column", "value", "named"), BAD.values(), ids=BAD)
def test_bad_data_gives_the_same_error(
    spark: object, tmp_path: Path, file: str, line: int, column: str, value: str | None, named: str
) -> None:
    folder = copy_sample(tmp_path / "data")
    if value is None:
        drop_column(folder / file, column)
    else:
        set_field(folder / file, line, column, value)
    with pytest.raises(DataError) as by_pandas:
        aggregate_dir(folder)
    with pytest.raises(DataError) as by_spark:
        aggregate_dir(folder, "spark", spark)
    expected, error = by_pandas.value, by_spark.value
    assert str(error) == str(expected)
    assert (error.file, error.column, error.line, error.value) == (
        str(folder / file),
        named,
        line,
        expected.value,
    )


def test_bad_event_in_parquet_gives_the_same_error(
    spark: object, generated: Path, tmp_path: Path
) -> None:
    source = copy_sample(tmp_path / "csv")
    set_field(source / "ad_events.csv", 321, "event_type", "Buy")
    set_field(source / "ad_events.csv", 654, "event_type", "Buy")
    folder = to_parquet(source, tmp_path / "parquet")
    with pytest.raises(DataError) as by_pandas:
        aggregate_dir(folder)
    with pytest.raises(DataError) as by_spark:
        aggregate_dir(folder, "spark", spark)
    assert str(by_spark.value) == str(by_pandas.value)
    assert "unknown value: 'Buy' (1 more row with this problem)" in str(by_spark.value)
    assert by_spark.value.line is None  # Parquet has no lines


def test_missing_table_and_unreadable_csv(spark: object, tmp_path: Path) -> None:
    folder = copy_sample(tmp_path / "data")
    (folder / "ad_events.csv").unlink()
    with pytest.raises(DataError, match=r"ad_events\.csv: required file is missing"):
        aggregate_dir(folder, "spark", spark)

    folder = copy_sample(tmp_path / "ragged")
    text = (folder / "ads.csv").read_text().splitlines()
    text[6] = text[6].rsplit(",", 3)[0]
    (folder / "ads.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataError) as caught:
        aggregate_dir(folder, "spark", spark)
    assert str(caught.value).startswith(f"{folder / 'ads.csv'}: not a readable CSV file (")
    assert "Traceback" not in str(caught.value) and len(str(caught.value)) < 500


def test_events_of_unknown_ads_warn_the_same(
    spark: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = copy_sample(tmp_path / "data")
    set_field(folder / "ad_events.csv", 700, "ad_id", "99999")
    set_field(folder / "ad_events.csv", 710, "ad_id", "99998")
    messages = []
    for engine in ("pandas", "spark"):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="training.data"):
            aggregate_dir(folder, engine, spark)
        messages.append([r.getMessage() for r in caplog.records if r.name == "training.data"])
    assert messages[0] == messages[1]
    assert "dropped 2 event(s)" in messages[0][0] and "ad_id 99999 on line 700" in messages[0][0]


# --- the same rules ----------------------------------------------------------------------------

WHOLE_NUMBERS = ["42", "-7", "007", "-0", "+5", " 42", "42 ", "4.0", "4e2", "0x1F", "", "1_000"]
WHOLE_NUMBERS += ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "٤٢"]
TIMESTAMPS = ["2025-03-02 10:05:00", "2025-03-02T10:05:00", "2025-03-02", "2025-03-02 10"]
TIMESTAMPS += ["2025-03-02 10:05", "2025-03-02 10:05:00.123456", "2025-03-02 10:05:00.1234567"]
TIMESTAMPS += ["2025-03-02 10:05:00Z", "2025-03-02T10:05:00+01:00", "2025-3-2", " 2025-03-02"]
TIMESTAMPS += ["2025-02-29", "2024-02-29", "2025-02-30", "2025-03-02 24:00:00", "20250302"]
TIMESTAMPS += ["2025-03-02 23:59:60", "2025-13-01", "2025-03-02 10:05:00.", ""]


def arrow_accepts(check, text: str) -> bool:
    try:
        check(Rows(pa.table({"v": [text]}), "t.csv"), "v")
    except DataError:
        return False
    return True


def test_spark_and_arrow_accept_the_same_text(spark: object) -> None:
    rules = {column: bad for column, bad, _ in event_rules()}
    rows = [(n, "2025-03-02") for n in WHOLE_NUMBERS] + [("1", t) for t in TIMESTAMPS]
    frame = spark.createDataFrame(rows, "event_id string, timestamp string")
    verdicts = frame.select(
        "event_id", "timestamp", (~rules["event_id"]).alias("n"), (~rules["timestamp"]).alias("t")
    ).collect()
    count = len(WHOLE_NUMBERS)
    by_spark_numbers = {row["event_id"]: row["n"] for row in verdicts[:count]}
    by_spark_stamps = {row["timestamp"]: row["t"] for row in verdicts[count:]}

    def stamp(rows: Rows, column: str) -> object:
        return to_datetime(rows, column, TIMESTAMP_EXAMPLE)

    assert by_spark_numbers == {n: arrow_accepts(to_int, n) for n in WHOLE_NUMBERS}
    assert by_spark_stamps == {t: arrow_accepts(stamp, t) for t in TIMESTAMPS}
    # The schema's rules: plain digits within int64; ISO 8601 dates and times that exist.
    assert {n for n, ok in by_spark_numbers.items() if ok} == {
        "42",
        "-7",
        "007",
        "-0",
        "9223372036854775807",
        "-9223372036854775808",
    }
    assert {t for t, ok in by_spark_stamps.items() if ok} == {
        "2025-03-02 10:05:00",
        "2025-03-02T10:05:00",
        "2025-03-02",
        "2025-03-02 10",
        "2025-03-02 10:05",
        "2025-03-02 10:05:00.123456",
        "2024-02-29",
    }


def _replace_bytes(path: Path, line: int, old: bytes, new: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_bytes(b"\n".join(lines))


def _header_only(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")


def _repeat_column(path: Path, column: str) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    index = rows[0].index(column)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[*r, r[index]] for r in rows])
    path.write_text(out.getvalue(), encoding="utf-8")


# Each case: how to spoil the sample, and the start of the error both engines give.
WHOLE_FILE = {
    "duration against the dates": (
        lambda f: set_field(f / "campaigns.csv", 3, "duration_days", "999"),
        "campaigns.csv, column 'duration_days', line 3: duration_days 999 disagrees",
    ),
    "header-only events": (
        lambda f: _header_only(f / "ad_events.csv"),
        "ad_events.csv: the file has no events",
    ),
    "not UTF-8 in campaigns": (
        lambda f: _replace_bytes(f / "campaigns.csv", 5, b"Campaign", b"Camp\xffaign"),
        "campaigns.csv, line 5: byte 0xff is not UTF-8 text",
    ),
    "not UTF-8 in events": (
        lambda f: _replace_bytes(
            f / "ad_events.csv",
            501,
            b",",
            b",\xfe",
        ),
        "ad_events.csv, line 501: byte 0xfe is not UTF-8 text",
    ),
    "quote left open in campaigns": (
        lambda f: _replace_bytes(f / "campaigns.csv", 4, b",Campaign", b',"Campaign'),
        "campaigns.csv, line 4: a quote opens a value that does not close on this line",
    ),
    "quote left open in events": (
        lambda f: _replace_bytes(f / "ad_events.csv", 44, b",", b',"'),
        "ad_events.csv, line 44: a quote opens a value that does not close on this line",
    ),
    "column named twice": (
        lambda f: _repeat_column(f / "campaigns.csv", "duration_days"),
        "campaigns.csv, column 'duration_days', line 1: the header names the column",
    ),
}


@pytest.mark.parametrize(("spoil", "expected"), WHOLE_FILE.values(), ids=WHOLE_FILE)
def test_whole_file_problems_give_the_same_error(
    spark: object, tmp_path: Path, spoil, expected: str
) -> None:
    folder = copy_sample(tmp_path / "data")
    spoil(folder)
    errors = []
    for engine in ("pandas", "spark"):
        with pytest.raises(DataError) as caught:
            aggregate_dir(folder, engine, spark)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert errors[0].startswith(f"{folder}/{expected}")
