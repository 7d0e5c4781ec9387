"""Aggregation of ads and events into one row per campaign."""

from __future__ import annotations

import csv
import logging
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from predictor.contract.features import AD_CATEGORIES, FEATURE_COLUMNS, TARGET_COLUMN
from tests.support.common import SAMPLE
from tests.support.data import copy_sample, replace_line, to_parquet, write_generated
from training import sources
from training.aggregate import TABLE_COLUMNS, aggregate_campaigns, aggregate_dir, write_table
from training.checks import DataError, Rows, to_int
from training.data import load_dataset
from training.schema import EVENT_COLUMNS


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def reference_table(folder: Path) -> dict[int, dict[str, float]]:
    """The campaign table computed row by row with the csv module, independently of pandas."""
    ads = read_rows(folder / "ads.csv")
    campaign_of_ad = {int(ad["ad_id"]): int(ad["campaign_id"]) for ad in ads}
    purchases = Counter(
        campaign_of_ad[int(event["ad_id"])]
        for event in read_rows(folder / "ad_events.csv")
        if event["event_type"] == "Purchase" and int(event["ad_id"]) in campaign_of_ad
    )
    table = {}
    for campaign in read_rows(folder / "campaigns.csv"):
        cid = int(campaign["campaign_id"])
        own = [ad for ad in ads if int(ad["campaign_id"]) == cid]
        row = {
            "duration_days": int(campaign["duration_days"]),
            "total_budget": float(campaign["total_budget"]),
            "start_month": date.fromisoformat(campaign["start_date"]).month,
            "end_month": date.fromisoformat(campaign["end_date"]).month,
            "num_ads": len(own),
            "num_unique_interests": len(
                {i.strip() for ad in own for i in ad["target_interests"].split(",")}
            ),
        }
        for column, categories in AD_CATEGORIES.items():
            for category in categories:
                row[f"{column}_{category}"] = sum(ad[column] == category for ad in own)
        row[TARGET_COLUMN] = purchases[cid]
        table[cid] = row
    return table


@pytest.fixture(scope="module")
def sample_table() -> pd.DataFrame:
    return aggregate_campaigns(load_dataset(SAMPLE))


def test_sample_table_shape_and_types(sample_table: pd.DataFrame) -> None:
    assert list(sample_table.columns) == ["campaign_id", *FEATURE_COLUMNS, TARGET_COLUMN]
    assert list(sample_table.columns) == TABLE_COLUMNS
    assert len(sample_table) == 50
    assert sample_table["campaign_id"].is_monotonic_increasing
    assert sample_table["campaign_id"].is_unique
    for column in sample_table.columns:
        expected = np.float64 if column == "total_budget" else np.int64
        assert sample_table[column].dtype == expected, column


def test_sample_table_matches_row_by_row_reference(sample_table: pd.DataFrame) -> None:
    reference = reference_table(SAMPLE)
    assert sample_table["campaign_id"].tolist() == sorted(reference)
    for record in sample_table.to_dict("records"):
        expected = reference[record.pop("campaign_id")]
        assert record == expected


def test_sample_keeps_campaigns_without_ads(sample_table: pd.DataFrame) -> None:
    with_ads = {int(ad["campaign_id"]) for ad in read_rows(SAMPLE / "ads.csv")}
    without = sorted(set(sample_table["campaign_id"]) - with_ads)
    assert without  # the sample has campaigns without ads
    rows = sample_table.set_index("campaign_id").loc[without]
    assert (rows[FEATURE_COLUMNS[4:]] == 0).all().all()
    assert (rows[TARGET_COLUMN] == 0).all()
    assert (rows["total_budget"] > 0).all()


def test_sample_purchases_total(sample_table: pd.DataFrame) -> None:
    events = read_rows(SAMPLE / "ad_events.csv")
    assert sample_table[TARGET_COLUMN].sum() == sum(e["event_type"] == "Purchase" for e in events)


# --- tiny hand-made tables ------------------------------------------------------------------


def tiny_frames() -> dict[str, pd.DataFrame]:
    """Three campaigns (listed out of order); campaign 3 has no ads, campaign 1 no events."""
    campaigns = pd.DataFrame(
        {
            "campaign_id": [2, 1, 3],
            "name": ["B", "A", "C"],
            "start_date": ["2025-06-20", "2025-01-31", "2025-11-15"],
            "end_date": ["2025-07-05", "2025-03-01", "2026-01-10"],
            "duration_days": [15, 29, 56],
            "total_budget": [500.0, 1234.5, 80.25],
        }
    )
    ads = pd.DataFrame(
        {
            "ad_id": [7, 5, 6, 8],
            "campaign_id": [2, 1, 1, 2],
            "ad_platform": ["Instagram", "Facebook", "Facebook", "Instagram"],
            "ad_type": ["Video", "Image", "Stories", "Video"],
            "target_gender": ["All", "Female", "Female", "Male"],
            "target_age_group": ["All", "18-24", "25-34", "All"],
            "target_interests": ["food", "art, technology", "technology, travel", "food, food"],
        }
    )
    events = pd.DataFrame(
        {
            "event_id": [1, 2, 3, 4, 5, 6],
            "ad_id": [7, 7, 8, 8, 5, 99],
            "event_type": ["Purchase", "Click", "Purchase", "Purchase", "Impression", "Purchase"],
        }
    )
    return {"campaigns": campaigns, "ads": ads, "events": events}


# Worked out by hand from tiny_frames().
EXPECTED = {
    1: {
        "duration_days": 29,
        "total_budget": 1234.5,
        "start_month": 1,
        "end_month": 3,
        "num_ads": 2,
        "num_unique_interests": 3,  # art, technology, travel
        "ad_platform_Facebook": 2,
        "ad_platform_Instagram": 0,
        "ad_type_Carousel": 0,
        "ad_type_Image": 1,
        "ad_type_Stories": 1,
        "ad_type_Video": 0,
        "target_gender_All": 0,
        "target_gender_Female": 2,
        "target_gender_Male": 0,
        "target_age_group_18-24": 1,
        "target_age_group_25-34": 1,
        "target_age_group_35-44": 0,
        "target_age_group_All": 0,
        "num_purchases": 0,  # only an impression
    },
    2: {
        "duration_days": 15,
        "total_budget": 500.0,
        "start_month": 6,
        "end_month": 7,
        "num_ads": 2,
        "num_unique_interests": 1,  # food, counted once
        "ad_platform_Facebook": 0,
        "ad_platform_Instagram": 2,
        "ad_type_Carousel": 0,
        "ad_type_Image": 0,
        "ad_type_Stories": 0,
        "ad_type_Video": 2,
        "target_gender_All": 1,
        "target_gender_Female": 0,
        "target_gender_Male": 1,
        "target_age_group_18-24": 0,
        "target_age_group_25-34": 0,
        "target_age_group_35-44": 0,
        "target_age_group_All": 2,
        "num_purchases": 3,  # one from ad 7, two from ad 8; ad 99 is unknown
    },
    3: {
        "duration_days": 56,
        "total_budget": 80.25,
        "start_month": 11,
        "end_month": 1,
        "num_ads": 0,
        "num_unique_interests": 0,
        **dict.fromkeys(FEATURE_COLUMNS[6:], 0),
        "num_purchases": 0,
    },
}


def test_tiny_tables_known_answers() -> None:
    table = aggregate_campaigns(tiny_frames())
    assert table["campaign_id"].tolist() == [1, 2, 3]
    assert list(table.columns) == TABLE_COLUMNS
    for record in table.to_dict("records"):
        assert record == EXPECTED[record.pop("campaign_id")]


def test_no_events_at_all_means_zero_purchases() -> None:
    frames = tiny_frames()
    frames["events"] = frames["events"].iloc[0:0]
    table = aggregate_campaigns(frames)
    assert table[TARGET_COLUMN].tolist() == [0, 0, 0]
    assert table["num_ads"].tolist() == [2, 2, 0]


def test_no_ads_at_all() -> None:
    frames = tiny_frames()
    frames["ads"] = frames["ads"].iloc[0:0]
    table = aggregate_campaigns(frames)
    assert len(table) == 3
    assert (table[[*FEATURE_COLUMNS[4:], TARGET_COLUMN]] == 0).all().all()
    assert table["duration_days"].tolist() == [29, 15, 56]


def test_unknown_category_in_frames_is_refused() -> None:
    frames = tiny_frames()
    frames["ads"].loc[0, "ad_type"] = "Reel"
    with pytest.raises(ValueError, match="Reel"):
        aggregate_campaigns(frames)


def test_loaded_files_give_the_same_table(tmp_path: Path) -> None:
    frames = tiny_frames()
    frames["events"] = frames["events"].assign(
        user_id="0e123",
        timestamp="2025-06-21 12:00:00",
        day_of_week="Saturday",
        time_of_day="Afternoon",
    )[["event_id", "ad_id", "user_id", "timestamp", "day_of_week", "time_of_day", "event_type"]]
    for name, file in (("campaigns", "campaigns"), ("ads", "ads"), ("events", "ad_events")):
        frames[name].to_csv(tmp_path / f"{file}.csv", index=False)
    from_files = aggregate_dir(tmp_path)
    pd.testing.assert_frame_equal(from_files, aggregate_campaigns(tiny_frames()))


def test_write_table_round_trip(tmp_path: Path, sample_table: pd.DataFrame) -> None:
    path = write_table(sample_table, tmp_path / "out" / "campaigns.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == TABLE_COLUMNS
    pd.testing.assert_frame_equal(back, sample_table, check_dtype=False)


# --- data folders: streamed in batches, Parquet, bad rows deep in the log --------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_generated(tmp_path_factory.mktemp("generated"))


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of about 1,000 events, so that even small logs stream in many batches."""
    monkeypatch.setattr(sources, "BLOCK_SIZE", 1 << 16)


def test_streamed_table_equals_the_in_memory_table(generated: Path, small_batches: None) -> None:
    events = sources.find_source(generated, "ad_events", EVENT_COLUMNS)
    assert sum(1 for _ in sources.read_batches(events, EVENT_COLUMNS)) > 50
    streamed = aggregate_dir(generated)
    pd.testing.assert_frame_equal(streamed, aggregate_campaigns(load_dataset(generated)))
    assert streamed[TARGET_COLUMN].sum() > 300


def test_bad_event_in_a_late_batch_names_its_line(
    generated: Path, tmp_path: Path, small_batches: None
) -> None:
    folder = shutil.copytree(generated, tmp_path / "data")
    line = 150_001
    old = replace_line(folder / "ad_events.csv", line, "")
    new = old.rsplit(",", 1)[0] + ",Buy"
    replace_line(folder / "ad_events.csv", line, new)
    with pytest.raises(DataError) as caught:
        aggregate_dir(folder)
    error = caught.value
    assert (error.column, error.line, error.value) == ("event_type", line, "Buy")
    assert (folder / "ad_events.csv").read_text().splitlines()[error.line - 1] == new
    assert "Allowed values: Impression, Click, Like, Comment, Share, Purchase" in str(error)


def test_parquet_tables_give_the_same_table(generated: Path, tmp_path: Path) -> None:
    single = to_parquet(generated, tmp_path / "single")
    parts = to_parquet(generated, tmp_path / "parts", events_as_folder=True)
    expected = aggregate_dir(generated)
    pd.testing.assert_frame_equal(aggregate_dir(single), expected)
    pd.testing.assert_frame_equal(aggregate_dir(parts), expected)


def test_bad_parquet_value_is_named_without_a_line(generated: Path, tmp_path: Path) -> None:
    folder = to_parquet(generated, tmp_path / "data")
    ads = pd.read_parquet(folder / "ads.parquet")
    ads["ad_platform"] = ads["ad_platform"].astype(str)
    ads.loc[7, "ad_platform"] = "TikTok"
    ads.to_parquet(folder / "ads.parquet")
    with pytest.raises(DataError) as caught:
        aggregate_dir(folder)
    assert (caught.value.column, caught.value.line, caught.value.value) == (
        "ad_platform",
        None,
        "TikTok",
    )
    assert str(caught.value).startswith(f"{folder / 'ads.parquet'}, column 'ad_platform': ")


def shuffled_events(folder: Path, seed: int = 3) -> list[str]:
    """Shuffle the rows of the event log (ids out of order); returns the new lines."""
    lines = (folder / "ad_events.csv").read_text().splitlines()
    body = lines[1:]
    np.random.default_rng(seed).shuffle(body)
    (folder / "ad_events.csv").write_text("\n".join([lines[0], *body]) + "\n")
    return [lines[0], *body]


def test_unsorted_event_ids_are_accepted_and_a_repeat_found(
    generated: Path, tmp_path: Path, small_batches: None
) -> None:
    folder = shutil.copytree(generated, tmp_path / "data")
    lines = shuffled_events(folder)
    pd.testing.assert_frame_equal(aggregate_dir(folder), aggregate_dir(generated))

    repeated_id = lines[1000 - 1].split(",", 1)[0]  # the id on line 1000
    new = repeated_id + "," + lines[120_000 - 1].split(",", 1)[1]
    replace_line(folder / "ad_events.csv", 120_000, new)
    with pytest.raises(DataError) as caught:
        aggregate_dir(folder)
    assert (caught.value.column, caught.value.line) == ("event_id", 120_000)
    assert f"duplicate event_id {int(repeated_id)}: already used on line 1000" in str(caught.value)


def test_events_of_unknown_ads_dropped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, small_batches: None
) -> None:
    folder = copy_sample(tmp_path / "data")
    old = replace_line(folder / "ad_events.csv", 700, "")
    replace_line(folder / "ad_events.csv", 700, old.replace(old.split(",")[1], "99999", 1))
    with caplog.at_level(logging.WARNING, logger="training.data"):
        table = aggregate_dir(folder)
    assert table[TARGET_COLUMN].sum() == sum(
        e["event_type"] == "Purchase" for e in read_rows(folder / "ad_events.csv")
    ) - ("Purchase" in old)
    [message] = [r.getMessage() for r in caplog.records if r.name == "training.data"]
    assert "dropped 1 event(s)" in message and "ad_id 99999 on line 700" in message


def test_delta_table_needs_the_spark_engine(tmp_path: Path) -> None:
    folder = copy_sample(tmp_path / "data")
    (folder / "ad_events.csv").unlink()
    (folder / "ad_events" / "_delta_log").mkdir(parents=True)
    with pytest.raises(DataError, match="--engine spark"):
        aggregate_dir(folder)


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="pandas, spark"):
        aggregate_dir(SAMPLE, engine="dask")


@pytest.mark.parametrize(
    ("texts", "bad"),
    [
        (["42", "-7", "007", "0x1F"], "0x1F"),
        (["42", "+5"], "+5"),
        (["42", " 4"], " 4"),
        (["4.0"], "4.0"),
        (["9223372036854775808"], "9223372036854775808"),
        (["1", ""], ""),
    ],
)
def test_whole_numbers_are_plain_digits(texts: list[str], bad: str) -> None:
    rows = Rows(pa.table({"n": texts}), "t.csv")
    with pytest.raises(DataError) as caught:
        to_int(rows, "n")
    assert (caught.value.value, caught.value.line) == (bad, texts.index(bad) + 2)


def test_whole_numbers_parse() -> None:
    rows = Rows(pa.table({"n": ["42", "-7", "007"]}), "t.csv")
    assert to_int(rows, "n").tolist() == [42, -7, 7]


def test_cli_aggregates_parquet(generated: Path, tmp_path: Path) -> None:
    from training.__main__ import main

    folder = to_parquet(generated, tmp_path / "data")
    assert main(["aggregate", "--data-dir", str(folder), "--out", str(tmp_path / "t.csv")]) == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "t.csv"), aggregate_dir(generated), check_dtype=False
    )


def test_spark_engine_without_java_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyspark.sql import SparkSession

    from training.__main__ import main

    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    out = ["--out", "unused.csv", "--engine", "spark"]
    assert main(["aggregate", "--data-dir", str(SAMPLE), *out]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --engine spark: local Spark needs Java")
    assert "openjdk-17-jre-headless" in error and "--engine pandas" in error
