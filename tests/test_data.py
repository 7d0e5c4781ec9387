"""Loading and validating the four CSV files of the ad dataset."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.common import SAMPLE
from tests.support.data import ADS, CAMPAIGNS, EVENTS, FILES, write_files
from training.data import (
    AD_COLUMNS,
    CAMPAIGN_COLUMNS,
    EVENT_COLUMNS,
    USER_COLUMNS,
    DataError,
    Dataset,
    load_dataset,
)
from training.schema import AD_TYPES, EVENT_TYPES, INTERESTS, PLATFORMS


def replace_line(text: str, line: int, new: str) -> str:
    """``text`` with its 1-based ``line`` replaced by ``new``."""
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- the real sample ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_dataset(SAMPLE)


def test_real_sample_loads_unchanged(sample: Dataset) -> None:
    campaigns = read_rows(SAMPLE / "campaigns.csv")
    ads = read_rows(SAMPLE / "ads.csv")
    events = read_rows(SAMPLE / "ad_events.csv")
    assert (len(sample.campaigns), len(sample.ads), len(sample.events)) == (50, 200, 1000)
    assert sample.users is None
    assert list(sample.campaigns.columns) == list(CAMPAIGN_COLUMNS)
    assert list(sample.ads.columns) == list(AD_COLUMNS)
    assert list(sample.events.columns) == list(EVENT_COLUMNS)

    # Rows keep the file's order (ads.csv is not sorted by id) and every value survives.
    assert sample.ads["ad_id"].tolist() == [int(row["ad_id"]) for row in ads]
    assert sample.ads["target_interests"].tolist() == [row["target_interests"] for row in ads]
    assert sample.ads["ad_platform"].astype(str).tolist() == [row["ad_platform"] for row in ads]
    assert sample.campaigns["total_budget"].tolist() == [
        float(row["total_budget"]) for row in campaigns
    ]
    assert sample.campaigns["start_date"].dt.strftime("%Y-%m-%d").tolist() == [
        row["start_date"] for row in campaigns
    ]
    assert sample.events["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist() == [
        row["timestamp"] for row in events
    ]
    assert sample.events["event_type"].astype(str).tolist() == [row["event_type"] for row in events]


def test_user_id_stays_a_string(sample: Dataset) -> None:
    expected = [row["user_id"] for row in read_rows(SAMPLE / "ad_events.csv")]
    user_ids = sample.events["user_id"]
    assert pd.api.types.is_string_dtype(user_ids)
    assert user_ids.tolist() == expected
    # The sample holds ids a number parser would mangle.
    assert {"03834", "19e47", "50e00"} <= set(user_ids)


def test_types(sample: Dataset) -> None:
    assert sample.campaigns["campaign_id"].dtype == np.int64
    assert sample.campaigns["duration_days"].dtype == np.int64
    assert sample.campaigns["total_budget"].dtype == np.float64
    assert pd.api.types.is_datetime64_dtype(sample.campaigns["end_date"])
    assert sample.ads["ad_id"].dtype == np.int64
    assert list(sample.ads["ad_type"].cat.categories) == list(AD_TYPES)
    assert list(sample.events["event_type"].cat.categories) == list(EVENT_TYPES)
    assert pd.api.types.is_datetime64_dtype(sample.events["timestamp"])


# --- tiny files -----------------------------------------------------------------------------


def test_tiny_dataset_with_users(tmp_path: Path) -> None:
    data = load_dataset(write_files(tmp_path))
    assert data.users is not None
    assert list(data.users.columns) == list(USER_COLUMNS)
    assert data.users["user_id"].tolist() == ["00e12", "2359b", "1e500"]
    assert data.events["user_id"].tolist() == ["00e12", "2359b", "1e500"]
    assert data.users["user_age"].tolist() == [29, 41, 19]


def test_users_file_is_optional(tmp_path: Path) -> None:
    assert load_dataset(write_files(tmp_path, users=None)).users is None


def add_column(text: str, position: int, name: str, value: str) -> str:
    """``text`` with a column inserted at ``position`` of every row."""
    rows = list(csv.reader(text.splitlines()))
    rows = [
        [*row[:position], name if i == 0 else value, *row[position:]] for i, row in enumerate(rows)
    ]
    with_column = [",".join(f'"{cell}"' if "," in cell else cell for cell in row) for row in rows]
    return "\n".join(with_column) + "\n"


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "extra").mkdir()
    plain = load_dataset(write_files(tmp_path / "plain"))
    extra = load_dataset(
        write_files(
            tmp_path / "extra",
            campaigns=add_column(CAMPAIGNS, 6, "notes", "n/a"),
            ads=add_column(ADS, 1, "creative_url", "http://x"),
            events=add_column(EVENTS, 3, "device", "NA"),
        )
    )
    for name in ("campaigns", "ads", "events"):
        pd.testing.assert_frame_equal(getattr(extra, name), getattr(plain, name))


def test_events_of_unknown_ads_are_dropped_with_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = EVENTS + (
        "4,99,abcde,2025-03-03 09:00:00,Monday,Morning,Purchase\n"
        "5,10,abcdf,2025-03-03 09:10:00,Monday,Morning,Click\n"
        "6,98,abcd0,2025-03-03 09:20:00,Monday,Morning,Click\n"
    )
    with caplog.at_level(logging.WARNING, logger="training.data"):
        data = load_dataset(write_files(tmp_path, events=events))
    assert data.events["event_id"].tolist() == [1, 2, 3, 5]
    messages = [r.getMessage() for r in caplog.records if r.name == "training.data"]
    assert len(messages) == 1
    assert "dropped 2 event" in messages[0]
    assert "ad_events.csv" in messages[0]


def test_no_warning_when_all_events_match(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="training.data"):
        load_dataset(write_files(tmp_path))
    assert not [r for r in caplog.records if r.name == "training.data"]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="folder not found"):
        load_dataset(tmp_path / "nope")


@pytest.mark.parametrize("name", ["campaigns", "ads", "ad_events"])
def test_missing_required_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, **{name.replace("ad_events", "events"): None}))
    assert caught.value.file.endswith(f"{name}.csv")
    assert f"{name}.csv" in str(caught.value)
    assert "missing" in str(caught.value)


@pytest.mark.parametrize(
    ("file", "column"),
    [
        ("campaigns", "total_budget"),
        ("campaigns", "start_date"),
        ("ads", "target_gender"),
        ("events", "event_type"),
        ("events", "user_id"),
        ("users", "user_age"),
    ],
)
def test_missing_column(tmp_path: Path, file: str, column: str) -> None:
    name = "ad_events.csv" if file == "events" else f"{file}.csv"
    rows = list(csv.reader(FILES[name].splitlines()))
    index = rows[0].index(column)
    text = "\n".join(",".join(r[:index] + r[index + 1 :]) for r in rows) + "\n"
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, **{file: text}))
    error = caught.value
    assert (Path(error.file).name, error.column, error.line) == (name, column, 1)
    assert name in str(error) and column in str(error) and "missing" in str(error)


# Each case: file key, 1-based line to replace, its new text, the column and value to be named.
BAD_ROWS = {
    "duplicate campaign_id": (
        "campaigns",
        3,
        "1,Again,2025-06-15,2025-08-01,47,2500",
        "campaign_id",
        1,
    ),
    "duplicate ad_id": ("ads", 4, "11,2,Facebook,Stories,Male,25-34,food", "ad_id", 11),
    "duplicate event_id": (
        "events",
        4,
        "2,12,1e500,2025-06-20 21:00:00,Friday,Night,Purchase",
        "event_id",
        2,
    ),
    "duplicate user_id": ("users", 4, "2359b,Other,19,18-24,India,Pune,food", "user_id", "2359b"),
    "ad of unknown campaign": (
        "ads",
        4,
        "12,7,Facebook,Stories,Male,25-34,food",
        "campaign_id",
        "7",
    ),
    "unknown platform": ("ads", 3, "11,1,TikTok,Video,Female,All,art", "ad_platform", "TikTok"),
    "unknown ad type": ("ads", 2, "10,1,Facebook,Reel,All,18-24,art", "ad_type", "Reel"),
    "unknown gender": ("ads", 2, "10,1,Facebook,Image,Other,18-24,art", "target_gender", "Other"),
    "unknown age group": (
        "ads",
        3,
        "11,1,Instagram,Video,Female,45-54,art",
        "target_age_group",
        "45-54",
    ),
    "unknown interest": (
        "ads",
        4,
        '12,2,Facebook,Stories,Male,25-34,"fitness, cooking"',
        "target_interests",
        "fitness, cooking",
    ),
    "empty interests": ("ads", 3, "11,1,Instagram,Video,Female,All,", "target_interests", ""),
    "unknown event type": (
        "events",
        3,
        "2,10,2359b,2025-03-02 10:05:00,Sunday,Morning,Buy",
        "event_type",
        "Buy",
    ),
    "unknown time of day": (
        "events",
        2,
        "1,10,00e12,2025-03-02 10:00:00,Sunday,Noon,Impression",
        "time_of_day",
        "Noon",
    ),
    "unknown day of week": (
        "events",
        4,
        "3,12,1e500,2025-06-20 21:00:00,friday,Night,Purchase",
        "day_of_week",
        "friday",
    ),
    "impossible date": (
        "campaigns",
        2,
        "1,Spring,2025-02-30,2025-04-10,40,1000.5",
        "start_date",
        "2025-02-30",
    ),
    "non-ISO date": (
        "campaigns",
        3,
        "2,Summer,2025-06-15,01/08/2025,47,2500",
        "end_date",
        "01/08/2025",
    ),
    "end before start": (
        "campaigns",
        3,
        "2,Summer,2025-06-15,2025-05-01,47,2500",
        "end_date",
        "2025-05-01",
    ),
    "bad timestamp": (
        "events",
        3,
        "2,10,2359b,2025-03-02 25:05:00,Sunday,Morning,Purchase",
        "timestamp",
        "2025-03-02 25:05:00",
    ),
    "negative budget": (
        "campaigns",
        3,
        "2,Summer,2025-06-15,2025-08-01,47,-5",
        "total_budget",
        "-5",
    ),
    "non-numeric budget": (
        "campaigns",
        2,
        "1,Spring,2025-03-01,2025-04-10,40,lots",
        "total_budget",
        "lots",
    ),
    "infinite budget": (
        "campaigns",
        2,
        "1,Spring,2025-03-01,2025-04-10,40,inf",
        "total_budget",
        "inf",
    ),
    "negative duration": (
        "campaigns",
        2,
        "1,Spring,2025-03-01,2025-04-10,-40,1000.5",
        "duration_days",
        "-40",
    ),
    "fractional duration": (
        "campaigns",
        3,
        "2,Summer,2025-06-15,2025-08-01,4.5,2500",
        "duration_days",
        "4.5",
    ),
    "non-numeric id": ("ads", 3, "x11,1,Instagram,Video,Female,All,art", "ad_id", "x11"),
    "empty ad_id in events": (
        "events",
        4,
        "3,,1e500,2025-06-20 21:00:00,Friday,Night,Purchase",
        "ad_id",
        "",
    ),
    "negative user age": (
        "users",
        3,
        "2359b,Male,-41,35-44,Brazil,Recife,fitness",
        "user_age",
        "-41",
    ),
}


@pytest.mark.parametrize(
    ("file", "line", "new", "column", "value"), BAD_ROWS.values(), ids=BAD_ROWS
)
def test_bad_value_names_file_column_line_and_value(
    tmp_path: Path, file: str, line: int, new: str, column: str, value: object
) -> None:
    name = "ad_events.csv" if file == "events" else f"{file}.csv"
    text = replace_line(FILES[name], line, new)
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, **{file: text}))
    error = caught.value
    message = str(error)
    assert (Path(error.file).name, error.column, error.line, error.value) == (
        name,
        column,
        line,
        value,
    )
    assert name in message
    assert f"'{column}'" in message
    assert f"line {line}" in message
    assert (repr(value) if value != "" else "empty") in message
    # The line the error names really is the line that was changed.
    assert (tmp_path / name).read_text().splitlines()[error.line - 1] == new


def test_unknown_category_lists_allowed_values(tmp_path: Path) -> None:
    ads = replace_line(ADS, 3, "11,1,TikTok,Video,Female,All,art")
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, ads=ads))
    assert all(platform in str(caught.value) for platform in PLATFORMS)


def test_unknown_interest_lists_allowed_interests(tmp_path: Path) -> None:
    ads = replace_line(ADS, 2, '10,1,Facebook,Image,All,18-24,"art, cooking"')
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, ads=ads))
    assert "'cooking'" in str(caught.value)
    assert all(interest in str(caught.value) for interest in INTERESTS)


def test_duplicate_names_both_lines(tmp_path: Path) -> None:
    campaigns = (
        CAMPAIGNS + "3,Autumn,2025-09-01,2025-10-01,30,900\n2,Again,2025-06-01,2025-07-01,30,9\n"
    )
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, campaigns=campaigns))
    assert caught.value.line == 5
    assert "line 3" in str(caught.value)


def test_count_of_further_bad_rows(tmp_path: Path) -> None:
    events = EVENTS.replace("Sunday,Morning,", "Sunday,Dawn,")
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, events=events))
    assert caught.value.line == 2
    assert "1 more row" in str(caught.value)
