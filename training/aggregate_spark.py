"""The campaign aggregation on Spark: the engine Databricks runs, for event logs of any size.

Campaigns, ads and users are small: Spark reads them (CSV, Parquet or Delta) and the driver
checks them with the same ``check_*`` functions as the pandas engine. The event log is the large
table: Spark checks every event against the schema's rules (:mod:`training.schema`) and reduces
it to purchases per ad in one pass. The driver then builds the table with the shared
:func:`~training.aggregate.campaign_table`, so both engines give the same rows, and the same
:class:`~training.checks.DataError` (file, column, line, value) for the same bad data.
"""

from __future__ import annotations

import functools
import operator
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from training.campaigns import campaign_table
from training.checks import (
    WHOLE_NUMBER,
    DataError,
    Rows,
    Rule,
    bad_value,
    category_rule,
    datetime_rule,
    duplicate_error,
)
from training.data import (
    Orphans,
    check_ads,
    check_campaigns,
    check_users,
    find_tables,
    no_events_error,
)
from training.schema import (
    AD_COLUMNS,
    CAMPAIGN_COLUMNS,
    EVENT_CATEGORIES,
    EVENT_COLUMNS,
    PURCHASE,
    TIMESTAMP_EXAMPLE,
    TIMESTAMP_PATTERN,
    USER_COLUMNS,
    WHOLE_NUMBER_PATTERN,
)
from training.sources import (
    CSV,
    DELTA,
    PARQUET,
    Source,
    check_csv_text,
    csv_error,
    csv_files,
    csv_header,
    missing_columns_error,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

# Settings of the local session (a cluster's or Databricks' own session is used as it is).
LOCAL_MASTER = "local[2]"
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    # Splits of 64 MiB keep both cores busy to the end of a file of a few hundred MiB.
    "spark.sql.files.maxPartitionBytes": "64m",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "2g",
    "spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile="
    + str(Path(__file__).with_name("log4j2.properties")),
}
_POS = "_pos"
REPLACEMENT_CHARACTER = "\ufffd"


def spark_session(master: str = LOCAL_MASTER) -> SparkSession:
    """The active session (a notebook's, a job's, a cluster's), else a quiet local one."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise _engine_error(
            "pyspark is not installed", "pip install -r requirements-dev.txt"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if "DATABRICKS_RUNTIME_VERSION" in os.environ:
        return SparkSession.builder.getOrCreate()
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise _engine_error(
            "local Spark needs Java, and java was not found",
            "Install a Java 17 or 21 runtime (Debian: apt-get install -y openjdk-17-jre-headless)",
        )
    builder = SparkSession.builder.master(master).appName("campaign-aggregation")
    for key, value in LOCAL_CONF.items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():
        # PySpark warns about pandas 3 when it starts; this module hands Spark no pandas data.
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _engine_error(problem: str, fix: str) -> DataError:
    return DataError("--engine spark", problem, hint=f"{fix}, or use --engine pandas")


def aggregate_spark(data_dir: str | Path, spark: SparkSession | None = None) -> pd.DataFrame:
    """The campaign table of the tables in ``data_dir``, computed with Spark."""
    tables = find_tables(data_dir)
    spark = spark or spark_session()
    campaigns = check_campaigns(_small_table(spark, tables.campaigns, CAMPAIGN_COLUMNS))
    ads = check_ads(_small_table(spark, tables.ads, AD_COLUMNS), campaigns["campaign_id"])
    purchases = purchases_by_ad(spark, tables.events, ads["ad_id"])
    if tables.users:
        check_users(_small_table(spark, tables.users, USER_COLUMNS))
    return campaign_table(campaigns, ads, purchases)


# --- reading ---------------------------------------------------------------------------------


@contextmanager
def _reading(source: Source) -> Iterator[None]:
    """Spark's errors while reading a table become one clear DataError, not a Java trace."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JJavaError) as error:
        lines = str(error).strip().splitlines()
        raise csv_error(source, lines[0][:300] if lines else type(error).__name__) from None


def read_table(spark: SparkSession, source: Source, columns: Sequence[str]) -> DataFrame:
    """A table as a Spark DataFrame whose required ``columns`` exist (CSV cells as text)."""
    if source.format == CSV:
        for path in csv_files(source):
            csv_header(path)  # Spark would rename a repeated column
    with _reading(source):
        if source.format == CSV:
            reader = spark.read.options(header=True, escape='"', mode="FAILFAST")
            frame = reader.csv(str(source.path))
        elif source.format == PARQUET:
            frame = spark.read.parquet(str(source.path))
        else:
            frame = spark.read.format(DELTA).load(str(source.path))
        found = frame.columns
    error = missing_columns_error(source.file, columns, found, 1 if source.format == CSV else None)
    if error:
        raise error
    return frame.select(*columns)


def _small_table(spark: SparkSession, source: Source, columns: Sequence[str]) -> Rows:
    """A small table collected to the driver as Arrow, for the shared checks."""
    check_csv_text(source)
    frame = read_table(spark, source, columns)
    with _reading(source):
        table = frame.toArrow()
    return Rows(table, source.file, source.first_line)


# --- the event log ---------------------------------------------------------------------------


def _text(column: str) -> Column:
    """A column as text, empty cells as "" (Spark reads them as null)."""
    from pyspark.sql import functions as F

    return F.coalesce(F.col(column).cast("string"), F.lit(""))


def event_rules() -> list[tuple[str, Column, Rule]]:
    """(column, expression true for a refused value, rule), in the order the loader checks."""

    def whole(column: str) -> Column:
        # Spark's cast alone would also take " 42" or "+5": the pattern keeps the schema's rule.
        text = _text(column)
        return ~(text.rlike(WHOLE_NUMBER_PATTERN) & text.try_cast("bigint").isNotNull())

    stamp = _text("timestamp")
    rules = [
        ("event_id", whole("event_id"), WHOLE_NUMBER),
        ("ad_id", whole("ad_id"), WHOLE_NUMBER),
        (
            "timestamp",
            ~(stamp.rlike(TIMESTAMP_PATTERN) & stamp.try_cast("timestamp").isNotNull()),
            datetime_rule(TIMESTAMP_EXAMPLE),
        ),
    ]
    for column, allowed in EVENT_CATEGORIES.items():
        rules.append((column, ~_text(column).isin(list(allowed)), category_rule(allowed)))
    return rules


def purchases_by_ad(spark: SparkSession, source: Source, ad_ids: Sequence[int]) -> pd.Series:
    """Purchases per ad_id of the event log, after checking every event as the loader does.

    One pass turns each event into its position, event_id, ad_id, whether it is a purchase and
    one flag per rule, and groups them by ad: purchases, refused values and the first of them.
    A second pass looks for a repeated event_id. Only when something is wrong do further passes
    fetch the first refused value and the file lines to name. (Caching the parsed log between
    the two passes was slower on a local session than reading it twice.)
    """
    from pyspark.sql import functions as F

    events = read_table(spark, source, EVENT_COLUMNS).withColumn(
        _POS, F.monotonically_increasing_id()
    )
    rules = event_rules()
    # Spark reads bytes that are not UTF-8 as U+FFFD, and a quote left open as text, where the
    # pandas engine refuses the file: a scan of the file then names the line as pandas does.
    replaced = functools.reduce(
        operator.or_,
        [_text(c).contains(REPLACEMENT_CHARACTER) | _text(c).contains('"') for c in EVENT_COLUMNS],
    )
    checked = events.select(
        _POS,
        _text("event_id").try_cast("bigint").alias("id"),
        F.when(~rules[1][1], _text("ad_id").try_cast("bigint")).alias("ad_id"),
        (_text("event_type") == PURCHASE).alias("purchase"),
        replaced.alias("replaced"),
        *[bad.alias(f"bad{i}") for i, (_, bad, _) in enumerate(rules)],
    )
    aggregates = [
        F.count(F.lit(1)).alias("events"),
        F.min(_POS).alias("first"),
        F.sum(F.col("purchase").cast("long")).alias("purchases"),
        F.sum(F.col("replaced").cast("long")).alias("replaced"),
    ]
    for i in range(len(rules)):
        aggregates.append(F.sum(F.col(f"bad{i}").cast("long")).alias(f"bad{i}"))
        aggregates.append(F.min(F.when(F.col(f"bad{i}"), F.col(_POS))).alias(f"at{i}"))
    with _reading(source):
        groups = checked.groupBy("ad_id").agg(*aggregates).collect()
    if not groups:
        raise no_events_error(source.file)
    if any(group["replaced"] for group in groups):
        check_csv_text(source)
    for i, (column, _, rule) in enumerate(rules):
        count = sum(group[f"bad{i}"] for group in groups)
        if count:
            pos = min(group[f"at{i}"] for group in groups if group[f"at{i}"] is not None)
            with _reading(source):
                value = events.where(F.col(_POS) == pos).select(_text(column)).first()[0]
            raise bad_value(source.file, column, rule, value, count, _line(events, source, pos))
        if column == "event_id":
            _check_unique_ids(checked, events, source)

    known = set(pd.Index(ad_ids).to_numpy().tolist())
    orphans = [group for group in groups if group["ad_id"] not in known]
    if orphans:
        first = min(orphans, key=lambda group: group["first"])
        counter = Orphans()
        line = _line(events, source, first["first"])
        counter.record(sum(group["events"] for group in orphans), first["ad_id"], line)
        counter.warn(source.file)
    purchases = {g["ad_id"]: g["purchases"] for g in groups if g["ad_id"] in known}
    return pd.Series(purchases, dtype="int64")


def _check_unique_ids(checked: DataFrame, events: DataFrame, source: Source) -> None:
    """Raise the loader's error for the first row whose event_id was used before."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ids = checked.select("id", _POS)
    with _reading(source):
        repeated = ids.groupBy("id").count().where("count > 1").limit(1).collect()
    if not repeated:
        return
    order = Window.partitionBy("id").orderBy(_POS)
    ranked = ids.withColumn("n", F.row_number().over(order)).where("n <= 2")
    with _reading(source):
        second = ranked.where("n = 2").orderBy(_POS).first()
        first = ranked.where((F.col("n") == 1) & (F.col("id") == second["id"])).first()
    used_on, line = (_line(events, source, row[_POS]) for row in (first, second))
    raise duplicate_error(source.file, "event_id", int(second["id"]), used_on, line)


def _line(events: DataFrame, source: Source, pos: int) -> int | None:
    """File line of the row at Spark position ``pos``: rows before it, plus the header."""
    from pyspark.sql import functions as F

    if source.first_line is None:
        return None
    with _reading(source):
        before = events.where(F.col(_POS) < pos).count()
    return source.first_line + before
