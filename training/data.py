"""Load and validate ad data in the "Social Media Advertisement Performance" schema.

Four CSV files live in one folder: ``campaigns.csv``, ``ads.csv`` and ``ad_events.csv`` are
required, ``users.csv`` is optional. Every problem found is raised as a :class:`DataError`
that names the file, the column and, where possible, the line and the offending value.
Validation is vectorized so that millions of events load in a few seconds.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from predictor.features import (
    AD_TYPES,
    AGE_GROUPS,
    DAYS_OF_WEEK,
    EVENT_TYPES,
    GENDERS,
    INTERESTS,
    PLATFORMS,
    TIMES_OF_DAY,
)

logger = logging.getLogger(__name__)

CAMPAIGNS_FILE = "campaigns.csv"
ADS_FILE = "ads.csv"
EVENTS_FILE = "ad_events.csv"
USERS_FILE = "users.csv"

CAMPAIGN_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "name",
    "start_date",
    "end_date",
    "duration_days",
    "total_budget",
)
AD_COLUMNS: tuple[str, ...] = (
    "ad_id",
    "campaign_id",
    "ad_platform",
    "ad_type",
    "target_gender",
    "target_age_group",
    "target_interests",
)
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "ad_id",
    "user_id",
    "timestamp",
    "day_of_week",
    "time_of_day",
    "event_type",
)
USER_COLUMNS: tuple[str, ...] = (
    "user_id",
    "user_gender",
    "user_age",
    "age_group",
    "country",
    "location",
    "interests",
)

# Dates and timestamps are ISO 8601, as in the dataset.
DATE_EXAMPLE = "2025-05-25"
TIMESTAMP_EXAMPLE = "2025-07-26 00:19:56"

# The header is line 1, so the row at position 0 is line 2.
_FIRST_DATA_LINE = 2


class DataError(ValueError):
    """A data file that cannot be used, with the place of the problem and how to fix it."""

    def __init__(
        self,
        file: str | Path,
        problem: str,
        *,
        column: str | None = None,
        line: int | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file)
        self.column = column
        self.line = line
        self.value = value
        self.problem = problem
        self.hint = hint
        place = [self.file]
        if column is not None:
            place.append(f"column '{column}'")
        if line is not None:
            place.append(f"line {line}")
        message = f"{', '.join(place)}: {problem}"
        if hint:
            message += f". {hint}"
        super().__init__(message)


@dataclass(frozen=True, eq=False)
class Dataset:
    """The validated tables of one data folder (``users`` is None when users.csv is absent)."""

    campaigns: pd.DataFrame
    ads: pd.DataFrame
    events: pd.DataFrame
    users: pd.DataFrame | None = None


def load_dataset(data_dir: str | Path) -> Dataset:
    """Read and validate the CSV files in ``data_dir``; raise :class:`DataError` on bad data.

    Events whose ad_id is not in ads.csv are dropped with a warning that gives their count.
    """
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DataError(
            folder,
            "data folder not found",
            hint=f"Pass a folder that holds {CAMPAIGNS_FILE}, {ADS_FILE} and {EVENTS_FILE}",
        )
    campaigns = load_campaigns(folder / CAMPAIGNS_FILE)
    ads = load_ads(folder / ADS_FILE, campaign_ids=campaigns["campaign_id"])
    events = load_events(folder / EVENTS_FILE, ad_ids=ads["ad_id"])
    users_path = folder / USERS_FILE
    users = load_users(users_path) if users_path.exists() else None
    return Dataset(campaigns=campaigns, ads=ads, events=events, users=users)


def load_campaigns(path: str | Path) -> pd.DataFrame:
    """Read campaigns.csv: unique integer ids, ISO dates, non-negative duration and budget."""
    path = Path(path)
    raw = _read_csv(path, CAMPAIGN_COLUMNS)
    if raw.empty:
        raise DataError(path, "the file has no campaigns", hint="Add at least one campaign row")
    campaign_id = _to_int(raw, "campaign_id", path)
    _check_unique(campaign_id, "campaign_id", path)
    start = _to_datetime(raw, "start_date", path, DATE_EXAMPLE)
    end = _to_datetime(raw, "end_date", path, DATE_EXAMPLE)
    before = np.flatnonzero(end < start)
    if before.size:
        row = int(before[0])
        raise DataError(
            path,
            f"end_date {raw['end_date'].iat[row]!r} is before start_date "
            f"{raw['start_date'].iat[row]!r}",
            column="end_date",
            line=row + _FIRST_DATA_LINE,
            value=raw["end_date"].iat[row],
            hint="Swap or correct the dates",
        )
    return pd.DataFrame(
        {
            "campaign_id": campaign_id,
            "name": raw["name"],
            "start_date": start,
            "end_date": end,
            "duration_days": _to_int(raw, "duration_days", path, non_negative=True),
            "total_budget": _to_float(raw, "total_budget", path, non_negative=True),
        }
    )


def load_ads(path: str | Path, campaign_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Read ads.csv: unique ids, known categories and interests, existing campaigns.

    ``campaign_ids`` are the valid campaigns; None skips that check.
    """
    path = Path(path)
    raw = _read_csv(path, AD_COLUMNS)
    ad_id = _to_int(raw, "ad_id", path)
    _check_unique(ad_id, "ad_id", path)
    campaign_id = _to_int(raw, "campaign_id", path)
    if campaign_ids is not None:
        known = pd.Index(campaign_ids)
        missing = ~np.isin(campaign_id, known.to_numpy())
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise DataError(
                path,
                f"campaign_id {raw['campaign_id'].iat[row]!r} does not exist in {CAMPAIGNS_FILE}"
                + _more(int(missing.sum()) - 1, "unknown campaigns"),
                column="campaign_id",
                line=row + _FIRST_DATA_LINE,
                value=raw["campaign_id"].iat[row],
                hint=f"Add that campaign to {CAMPAIGNS_FILE} or remove the ad",
            )
    _check_interests(raw, "target_interests", path)
    return pd.DataFrame(
        {
            "ad_id": ad_id,
            "campaign_id": campaign_id,
            "ad_platform": _to_category(raw, "ad_platform", path, PLATFORMS),
            "ad_type": _to_category(raw, "ad_type", path, AD_TYPES),
            "target_gender": _to_category(raw, "target_gender", path, GENDERS),
            "target_age_group": _to_category(raw, "target_age_group", path, AGE_GROUPS),
            "target_interests": raw["target_interests"],
        }
    )


def load_events(path: str | Path, ad_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Read ad_events.csv: unique ids, timestamps, known categories; user_id stays a string.

    Events whose ad_id is not in ``ad_ids`` are dropped with a logged warning (None keeps all).
    """
    path = Path(path)
    raw = _read_csv(path, EVENT_COLUMNS)
    event_id = _to_int(raw, "event_id", path)
    _check_unique(event_id, "event_id", path)
    events = pd.DataFrame(
        {
            "event_id": event_id,
            "ad_id": _to_int(raw, "ad_id", path),
            "user_id": raw["user_id"],
            "timestamp": _to_datetime(raw, "timestamp", path, TIMESTAMP_EXAMPLE),
            "day_of_week": _to_category(raw, "day_of_week", path, DAYS_OF_WEEK),
            "time_of_day": _to_category(raw, "time_of_day", path, TIMES_OF_DAY),
            "event_type": _to_category(raw, "event_type", path, EVENT_TYPES),
        }
    )
    if ad_ids is not None:
        known = events["ad_id"].isin(pd.Index(ad_ids))
        dropped = int((~known).sum())
        if dropped:
            logger.warning(
                "%s: dropped %d event(s) whose ad_id is not in %s (first: ad_id %d on line %d)",
                path,
                dropped,
                ADS_FILE,
                events["ad_id"].to_numpy()[~known.to_numpy()][0],
                int(np.flatnonzero(~known.to_numpy())[0]) + _FIRST_DATA_LINE,
            )
            events = events[known.to_numpy()].reset_index(drop=True)
    return events


def load_users(path: str | Path) -> pd.DataFrame:
    """Read users.csv: unique non-empty user_id strings and non-negative integer ages."""
    path = Path(path)
    raw = _read_csv(path, USER_COLUMNS)
    empty = np.flatnonzero((raw["user_id"] == "").to_numpy())
    if empty.size:
        raise DataError(
            path,
            "user_id is empty",
            column="user_id",
            line=int(empty[0]) + _FIRST_DATA_LINE,
            value="",
            hint="Give every user an id",
        )
    _check_unique(raw["user_id"], "user_id", path)
    users = raw.copy()
    users["user_age"] = _to_int(raw, "user_age", path, non_negative=True)
    return users


# --- reading -------------------------------------------------------------------------------


def _read_csv(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """The required ``columns`` of a CSV file as strings, in that order; extra columns dropped."""
    if not path.is_file():
        raise DataError(
            path,
            "required file is missing",
            hint=f"Put {path.name} with the columns {', '.join(columns)} in {path.parent}",
        )
    header = _read_header(path)
    missing = [column for column in columns if column not in header]
    if missing:
        raise DataError(
            path,
            f"required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
            f"(found: {', '.join(header) or 'no header'})",
            column=missing[0],
            line=1,
            hint=f"The header line must contain {', '.join(columns)}",
        )
    try:
        frame = pd.read_csv(
            path,
            usecols=list(columns),
            dtype=str,
            keep_default_na=False,
            engine="pyarrow",
        )
    except (pd.errors.ParserError, pa.ArrowException, UnicodeDecodeError) as error:
        raise DataError(
            path,
            f"not a readable CSV file ({error})",
            hint="Save it as UTF-8 CSV with one value per column on every row",
        ) from None
    return frame[list(columns)]


def _read_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except UnicodeDecodeError:
        raise DataError(
            path, "the header is not UTF-8 text", hint="Save the file as UTF-8"
        ) from None


# --- vectorized checks ---------------------------------------------------------------------


def _more(count: int, what: str = "this problem") -> str:
    """Suffix telling how many more rows share the problem."""
    if count <= 0:
        return ""
    return f" ({count} more row{'s' if count > 1 else ''} with {what})"


def _describe(value: str) -> str:
    return "an empty value" if value == "" else repr(value)


def _first_bad(
    raw: pd.DataFrame, column: str, bad: np.ndarray, path: Path, problem: str, hint: str
) -> NoReturn:
    """Raise a DataError for the first True in ``bad``, counting the others."""
    rows = np.flatnonzero(bad)
    row = int(rows[0])
    value = raw[column].iat[row]
    raise DataError(
        path,
        f"{problem}: {_describe(value)}" + _more(rows.size - 1),
        column=column,
        line=row + _FIRST_DATA_LINE,
        value=value,
        hint=hint,
    )


def _arrow(raw: pd.DataFrame, column: str) -> pa.Array:
    return pa.array(raw[column], type=pa.large_string())


def _first_cast_failure(values: pa.Array, target: pa.DataType) -> int:
    """Position of the first value that cannot be cast, found by bisection (all vectorized)."""
    low, high = 0, len(values)  # the first failure lies in values[low:high]
    while high - low > 1:
        middle = (low + high) // 2
        try:
            pc.cast(values.slice(low, middle - low), target)
        except pa.ArrowException:
            high = middle
        else:
            low = middle
    return low


def _cast(
    raw: pd.DataFrame, column: str, path: Path, target: pa.DataType, problem: str, hint: str
) -> np.ndarray:
    """Cast a string column with Arrow; on failure, name the first value that does not parse."""
    values = _arrow(raw, column)
    try:
        return pc.cast(values, target).to_numpy(zero_copy_only=False)
    except pa.ArrowException:
        row = _first_cast_failure(values, target)
        bad = np.zeros(len(values), dtype=bool)
        bad[row] = True
        _first_bad(raw, column, bad, path, problem, hint)


def _to_int(
    raw: pd.DataFrame, column: str, path: Path, *, non_negative: bool = False
) -> np.ndarray:
    """Parse a column of whole numbers into int64."""
    hint = "Write it as digits, like 42"
    values = _cast(raw, column, path, pa.int64(), "not a whole number", hint)
    if non_negative and (values < 0).any():
        _first_bad(raw, column, values < 0, path, "must not be negative", hint)
    return values.astype(np.int64, copy=False)


def _to_float(
    raw: pd.DataFrame, column: str, path: Path, *, non_negative: bool = False
) -> np.ndarray:
    """Parse a column of finite numbers into float64."""
    hint = "Write it as a plain number, like 24021.32"
    values = _cast(raw, column, path, pa.float64(), "not a number", hint)
    not_finite = ~np.isfinite(values)
    if not_finite.any():
        _first_bad(raw, column, not_finite, path, "not a finite number", hint)
    if non_negative and (values < 0).any():
        _first_bad(raw, column, values < 0, path, "must not be negative", hint)
    return values.astype(np.float64, copy=False)


def _to_datetime(raw: pd.DataFrame, column: str, path: Path, example: str) -> np.ndarray:
    """Parse ISO 8601 dates or timestamps (impossible dates such as 2025-02-30 are rejected)."""
    kind = "date" if len(example) == len("2025-05-25") else "timestamp"
    return _cast(
        raw, column, path, pa.timestamp("us"), f"not a valid {kind}", f"Write it like {example}"
    )


def _to_category(
    raw: pd.DataFrame, column: str, path: Path, allowed: Sequence[str]
) -> pd.Categorical:
    """Check a column against its allowed values and return it as a categorical."""
    codes = pc.index_in(_arrow(raw, column), value_set=pa.array(allowed, type=pa.large_string()))
    if codes.null_count:
        unknown = codes.is_null().to_numpy(zero_copy_only=False)
        _first_bad(
            raw, column, unknown, path, "unknown value", f"Allowed values: {', '.join(allowed)}"
        )
    return pd.Categorical.from_codes(codes.to_numpy(zero_copy_only=False), categories=list(allowed))


def _check_unique(ids: np.ndarray | pd.Series, column: str, path: Path) -> None:
    """Raise on the first id that appears a second time, naming both lines."""
    series = pd.Series(ids)
    duplicated = series.duplicated().to_numpy()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        value = series.iat[row]
        value = value if isinstance(value, str) else int(value)
        first = int(np.flatnonzero((series == value).to_numpy())[0])
        raise DataError(
            path,
            f"duplicate {column} {value!r}: already used on line {first + _FIRST_DATA_LINE}",
            column=column,
            line=row + _FIRST_DATA_LINE,
            value=value,
            hint=f"Every {column} must be unique; renumber or remove one of the rows",
        )


def split_interests(interests: pd.Series) -> pd.Series:
    """One row per interest of a comma-separated interests column (index kept, text stripped)."""
    return interests.str.split(",").explode().str.strip()


def _check_interests(raw: pd.DataFrame, column: str, path: Path) -> None:
    """Every comma-separated interest must be known; no ad may have none."""
    parts = split_interests(raw[column])
    bad = ~parts.isin(INTERESTS).to_numpy()
    if bad.any():
        rows = np.unique(parts.index.to_numpy()[bad])
        row = int(rows[0])
        interest = parts.to_numpy()[bad][0]
        problem = (
            "an empty interest"
            if interest == ""
            else f"unknown interest {interest!r} in {raw[column].iat[row]!r}"
        )
        raise DataError(
            path,
            problem + _more(rows.size - 1, "bad interests"),
            column=column,
            line=row + _FIRST_DATA_LINE,
            value=raw[column].iat[row],
            hint=f"Use 1 or more comma-separated interests from: {', '.join(INTERESTS)}",
        )
