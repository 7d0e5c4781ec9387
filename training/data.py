"""Load and validate ad data in the "Social Media Advertisement Performance" schema.

Four tables live in one folder: ``campaigns``, ``ads`` and ``ad_events`` are required, ``users``
is optional; each is a CSV file (as in the dataset) or Parquet (see :mod:`training.sources`).
Every problem found is raised as a :class:`DataError` that names the file, the column and, where
possible, the line and the offending value. The checks on a table's rows are the ``check_*``
functions, shared by every engine; validation is vectorized so that millions of events load in
a few seconds, and events can be streamed in batches (:func:`stream_purchases`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from training.checks import (
    DataError,
    Rows,
    check_interests,
    check_unique,
    is_increasing,
    more,
    split_interests,
    to_category,
    to_codes,
    to_datetime,
    to_float,
    to_int,
)
from training.schema import (
    AD_CATEGORIES,
    AD_COLUMNS,
    ADS,
    CAMPAIGN_COLUMNS,
    CAMPAIGNS,
    DATE_EXAMPLE,
    DURATION_TOLERANCE_DAYS,
    EVENT_CATEGORIES,
    EVENT_COLUMNS,
    EVENT_TYPES,
    EVENTS,
    PURCHASE,
    TIMESTAMP_EXAMPLE,
    USER_COLUMNS,
    USERS,
)
from training.sources import CSV, PARQUET, Source, data_folder, find_source, read_batches, read_rows

__all__ = [
    "AD_COLUMNS",
    "CAMPAIGN_COLUMNS",
    "EVENT_COLUMNS",
    "USER_COLUMNS",
    "DataError",
    "Dataset",
    "load_dataset",
    "split_interests",
]

logger = logging.getLogger(__name__)

CAMPAIGNS_FILE = f"{CAMPAIGNS}.csv"
ADS_FILE = f"{ADS}.csv"
EVENTS_FILE = f"{EVENTS}.csv"
USERS_FILE = f"{USERS}.csv"
_PURCHASE_CODE = EVENT_TYPES.index(PURCHASE)


@dataclass(frozen=True, eq=False)
class Dataset:
    """The validated tables of one data folder (``users`` is None when there are no users)."""

    campaigns: pd.DataFrame
    ads: pd.DataFrame
    events: pd.DataFrame
    users: pd.DataFrame | None = None


@dataclass(frozen=True, eq=False)
class Tables:
    """The sources of a data folder's tables (``users`` is None when absent)."""

    campaigns: Source
    ads: Source
    events: Source
    users: Source | None


def find_tables(data_dir: str | Path) -> Tables:
    """Locate the four tables of ``data_dir``; a DataError names the first one missing."""
    folder = data_folder(data_dir)
    return Tables(
        campaigns=find_source(folder, CAMPAIGNS, CAMPAIGN_COLUMNS),
        ads=find_source(folder, ADS, AD_COLUMNS),
        events=find_source(folder, EVENTS, EVENT_COLUMNS),
        users=find_source(folder, USERS, USER_COLUMNS, required=False),
    )


def load_dataset(data_dir: str | Path) -> Dataset:
    """Read and validate the tables in ``data_dir``; raise :class:`DataError` on bad data.

    Events whose ad_id is not in the ads are dropped with a warning that gives their count.
    """
    tables = find_tables(data_dir)
    campaigns = load_campaigns(tables.campaigns)
    ads = load_ads(tables.ads, campaign_ids=campaigns["campaign_id"])
    events = load_events(tables.events, ad_ids=ads["ad_id"])
    users = load_users(tables.users) if tables.users else None
    return Dataset(campaigns=campaigns, ads=ads, events=events, users=users)


def load_campaigns(path: str | Path | Source) -> pd.DataFrame:
    """Read and check the campaigns table."""
    return check_campaigns(_read(path, CAMPAIGNS, CAMPAIGN_COLUMNS))


def load_ads(path: str | Path | Source, campaign_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Read and check the ads table; ``campaign_ids`` are the valid campaigns (None: no check)."""
    return check_ads(_read(path, ADS, AD_COLUMNS), campaign_ids)


def load_users(path: str | Path | Source) -> pd.DataFrame:
    """Read and check the users table."""
    return check_users(_read(path, USERS, USER_COLUMNS))


def load_events(path: str | Path | Source, ad_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Read ad_events: unique ids, timestamps, known categories; user_id stays a string.

    Events whose ad_id is not in ``ad_ids`` are dropped with a logged warning (None keeps all).
    """
    rows = _read(path, EVENTS, EVENT_COLUMNS)
    if not len(rows):
        raise no_events_error(rows.file)
    parsed = check_events(rows)
    check_unique(parsed["event_id"], "event_id", rows.file, rows.first_line)
    events = pd.DataFrame(
        {
            "event_id": parsed["event_id"],
            "ad_id": parsed["ad_id"],
            "user_id": pd.Series(rows.values("user_id").to_pylist(), dtype=str),
            "timestamp": parsed["timestamp"],
            **{
                column: pd.Categorical.from_codes(parsed[column], categories=list(allowed))
                for column, allowed in EVENT_CATEGORIES.items()
            },
        }
    )
    if ad_ids is not None:
        known = np.isin(parsed["ad_id"], pd.Index(ad_ids).to_numpy())
        orphans = Orphans()
        orphans.add(parsed["ad_id"], known, rows.line(0))
        orphans.warn(rows.file)
        if orphans.count:
            events = events[known].reset_index(drop=True)
    return events


# --- the checks of each table, shared by every engine ---------------------------------------


def check_campaigns(rows: Rows) -> pd.DataFrame:
    """Campaigns: unique integer ids, ISO dates, end not before start, non-negative numbers."""
    if not len(rows):
        raise DataError(
            rows.file, "the file has no campaigns", hint="Add at least one campaign row"
        )
    campaign_id = to_int(rows, "campaign_id")
    check_unique(campaign_id, "campaign_id", rows.file, rows.first_line)
    start = to_datetime(rows, "start_date", DATE_EXAMPLE)
    end = to_datetime(rows, "end_date", DATE_EXAMPLE)
    before = np.flatnonzero(end < start)
    if before.size:
        row = int(before[0])
        raise DataError(
            rows.file,
            f"end_date {rows.value('end_date', row)!r} is before start_date "
            f"{rows.value('start_date', row)!r}",
            column="end_date",
            line=rows.line(row),
            value=rows.value("end_date", row),
            hint="Swap or correct the dates",
        )
    duration = to_int(rows, "duration_days", non_negative=True)
    check_duration(rows, duration, start, end)
    return pd.DataFrame(
        {
            "campaign_id": campaign_id,
            "name": pd.Series(rows.values("name").to_pylist(), dtype=str),
            "start_date": start,
            "end_date": end,
            "duration_days": duration,
            "total_budget": to_float(rows, "total_budget", non_negative=True),
        }
    )


def check_duration(rows: Rows, duration: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
    """duration_days must agree with the dates, within :data:`DURATION_TOLERANCE_DAYS`."""
    span = (end - start) / np.timedelta64(1, "D")
    off = np.flatnonzero(np.abs(duration - span) > DURATION_TOLERANCE_DAYS)
    if not off.size:
        return
    row = int(off[0])
    raise DataError(
        rows.file,
        f"duration_days {int(duration[row])} disagrees with the dates: "
        f"{rows.value('start_date', row)} to {rows.value('end_date', row)} is "
        f"{span[row]:g} days" + more(off.size - 1, "a duration that disagrees"),
        column="duration_days",
        line=rows.line(row),
        value=int(duration[row]),
        hint="Make duration_days the days from start_date to end_date, or correct the dates",
    )


def check_ads(rows: Rows, campaign_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Ads: unique ids, existing campaigns (unless ``campaign_ids`` is None), known categories."""
    ad_id = to_int(rows, "ad_id")
    check_unique(ad_id, "ad_id", rows.file, rows.first_line)
    campaign_id = to_int(rows, "campaign_id")
    if campaign_ids is not None:
        missing = ~np.isin(campaign_id, pd.Index(campaign_ids).to_numpy())
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            value = rows.value("campaign_id", row)
            raise DataError(
                rows.file,
                f"campaign_id {value!r} does not exist in {CAMPAIGNS_FILE}"
                + more(int(missing.sum()) - 1, "unknown campaigns"),
                column="campaign_id",
                line=rows.line(row),
                value=value,
                hint=f"Add that campaign to {CAMPAIGNS_FILE} or remove the ad",
            )
    interests = check_interests(rows, "target_interests")
    return pd.DataFrame(
        {
            "ad_id": ad_id,
            "campaign_id": campaign_id,
            **{
                column: to_category(rows, column, allowed)
                for column, allowed in AD_CATEGORIES.items()
            },
            "target_interests": interests,
        }
    )


def check_events(rows: Rows) -> dict[str, np.ndarray]:
    """Events (uniqueness aside): integer ids, timestamps, known categories, as arrays.

    Categories come back as codes: positions in their :data:`EVENT_CATEGORIES` list.
    """
    return {
        "event_id": to_int(rows, "event_id"),
        "ad_id": to_int(rows, "ad_id"),
        "timestamp": to_datetime(rows, "timestamp", TIMESTAMP_EXAMPLE),
        **{column: to_codes(rows, column, allowed) for column, allowed in EVENT_CATEGORIES.items()},
    }


def check_users(rows: Rows) -> pd.DataFrame:
    """Users: unique non-empty user_id strings and non-negative integer ages."""
    user_id = pd.Series(rows.values("user_id").to_pylist(), dtype=str)
    empty = np.flatnonzero((user_id == "").to_numpy())
    if empty.size:
        raise DataError(
            rows.file,
            "user_id is empty",
            column="user_id",
            line=rows.line(int(empty[0])),
            value="",
            hint="Give every user an id",
        )
    check_unique(user_id, "user_id", rows.file, rows.first_line)
    users = pd.DataFrame(
        {column: pd.Series(rows.values(column).to_pylist(), dtype=str) for column in USER_COLUMNS}
    )
    users["user_age"] = to_int(rows, "user_age", non_negative=True)
    return users


def no_events_error(file: str) -> DataError:
    """The error for an event log without a single event (every campaign would count 0)."""
    return DataError(
        file,
        "the file has no events, so every campaign would count 0 purchases",
        hint="Give the campaigns' events (impressions, clicks, purchases…), one per row",
    )


# --- streaming the event log ----------------------------------------------------------------


class Orphans:
    """Events whose ad_id is not among the ads: counted, then reported in one warning."""

    def __init__(self) -> None:
        self.count = 0
        self.first: tuple[int, int | None] | None = None  # (ad_id, line)

    def add(self, ad_id: np.ndarray, known: np.ndarray, first_line: int | None) -> None:
        """Count the events of one batch whose ad is unknown (``known`` False)."""
        unknown = np.flatnonzero(~known)
        if unknown.size:
            row = int(unknown[0])
            line = None if first_line is None else first_line + row
            self.record(unknown.size, int(ad_id[row]), line)

    def record(self, count: int, ad_id: int, line: int | None) -> None:
        """Count ``count`` events of unknown ads, the first (if none came before) on ``line``."""
        if self.first is None:
            self.first = (ad_id, line)
        self.count += count

    def warn(self, file: str) -> None:
        if self.count and self.first:
            ad_id, line = self.first
            logger.warning(
                "%s: dropped %d event(s) whose ad_id is not in %s (first: ad_id %d%s)",
                file,
                self.count,
                ADS_FILE,
                ad_id,
                "" if line is None else f" on line {line}",
            )


def stream_purchases(source: Source, ad_ids: Iterable[int]) -> pd.Series:
    """Purchases per ad_id of an event log read in batches, every event checked on the way.

    Memory stays flat however long the log is: only the purchases' ad_ids are kept. Events of
    unknown ads are dropped with one warning, as :func:`load_events` does.
    """
    known_ads = pa.array(pd.Index(ad_ids).to_numpy(dtype=np.int64))
    orphans = Orphans()
    purchased: list[np.ndarray] = []
    last_id: int | None = None
    increasing = True
    for rows in read_batches(source, EVENT_COLUMNS):
        parsed = check_events(rows)
        ids = parsed["event_id"]
        increasing = increasing and is_increasing(ids, last_id)
        if ids.size:
            last_id = int(ids[-1])
        known = pc.is_in(parsed["ad_id"], value_set=known_ads).to_numpy(zero_copy_only=False)
        orphans.add(parsed["ad_id"], known, rows.line(0))
        purchased.append(parsed["ad_id"][known & (parsed["event_type"] == _PURCHASE_CODE)])
    if last_id is None:
        raise no_events_error(source.file)
    if not increasing:  # ids out of order: a second pass over the ids alone finds a repeat
        check_unique(_all_ids(source), "event_id", source.file, source.first_line)
    orphans.warn(source.file)
    ad_of_purchase = np.concatenate(purchased) if purchased else np.zeros(0, np.int64)
    return pd.Series(ad_of_purchase).value_counts()


def _all_ids(source: Source) -> np.ndarray:
    parts = [to_int(rows, "event_id") for rows in read_batches(source, ("event_id",))]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _read(path: str | Path | Source, name: str, columns: Sequence[str]) -> Rows:
    """The rows of a table given by its source or path (a CSV file unless it ends in .parquet)."""
    if isinstance(path, Source):
        return read_rows(path, columns)
    path = Path(path)
    if not path.exists():
        raise DataError(
            path,
            "required file is missing",
            hint=f"Put {path.name} with the columns {', '.join(columns)} in {path.parent}",
        )
    return read_rows(Source(name, path, PARQUET if path.suffix == ".parquet" else CSV), columns)
