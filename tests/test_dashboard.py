"""The dashboard's figures on tiny inline logs."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from predictor.record import dashboard
from predictor.record.log_rows import empty_frame

MIX_FIELDS = [
    "facebook_ads",
    "instagram_ads",
    "image_ads",
    "video_ads",
    "carousel_ads",
    "stories_ads",
]


def _log(rows: list[dict]) -> pd.DataFrame:
    """A log frame: each row names what it sets; every other count is 0."""
    full = [
        {
            "total_budget": 100.0,
            "purchases": 0,
            "created_at": "2026-01-01T00:00:00Z",
            **dict.fromkeys(MIX_FIELDS, 0),
            **row,
        }
        for row in rows
    ]
    frame = pd.DataFrame(full)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def test_budget_bands_are_left_closed_and_named_by_their_edges():
    assert dashboard.budget_band_labels() == [
        "under 1k",
        "1k–5k",
        "5k–20k",
        "20k–100k",
        "100k and more",
    ]
    bands = dashboard.budget_band(pd.Series([0, 999.99, 1000, 4999, 5000, 100_000, 1e9]))
    assert list(bands.astype(str)) == [
        "under 1k",
        "under 1k",
        "1k–5k",
        "1k–5k",
        "5k–20k",
        "100k and more",
        "100k and more",
    ]


def test_mix_label_names_the_categories_a_plan_uses():
    frame = _log(
        [
            {"facebook_ads": 2},
            {"facebook_ads": 1, "instagram_ads": 1, "image_ads": 1, "stories_ads": 2},
            {},
        ]
    )
    assert list(dashboard.mix_label(frame, "Platform")) == [
        "Facebook",
        "Facebook + Instagram",
        "none",
    ]
    assert list(dashboard.mix_label(frame, "Format")) == ["none", "Image + Stories", "none"]


def test_common_plans_counts_kinds_with_share_and_median():
    kind_a = {"total_budget": 500, "facebook_ads": 1, "image_ads": 1}
    kind_b = {"total_budget": 7000, "instagram_ads": 3, "video_ads": 3, "purchases": 40}
    frame = _log(
        [
            {**kind_a, "purchases": 1},
            {**kind_b},
            {**kind_a, "purchases": 2},
            {**kind_a, "purchases": 10},
        ]
    )
    table = dashboard.common_plans(frame)
    assert table.to_dict("records") == [
        {
            "budget_band": "under 1k",
            "platform_mix": "Facebook",
            "format_mix": "Image",
            "predictions": 3,
            "share": 0.75,
            "median_purchases": 2.0,
        },
        {
            "budget_band": "5k–20k",
            "platform_mix": "Instagram",
            "format_mix": "Video",
            "predictions": 1,
            "share": 0.25,
            "median_purchases": 40.0,
        },
    ]
    assert len(dashboard.common_plans(frame, top=1)) == 1


def test_histogram_counts_every_value_once_with_the_last_edge_included():
    table = dashboard.histogram(pd.Series([0, 1, 2, 3, 4]), bins=2)
    assert table.to_dict("list") == {
        "bin": ["0–2", "2–4"],
        "low": [0.0, 2.0],
        "high": [2.0, 4.0],
        "count": [2, 3],
    }


def test_budget_bins_are_short_distinct_and_in_order():
    frame = _log([{"total_budget": b, "purchases": 1} for b in (5_008.25, 9_000, 16_600, 119_780)])
    table = dashboard.budget_distribution(frame, bins=4)
    assert table["bin"].iloc[0] == "5.01k–33.7k" and table["bin"].iloc[-1] == "91.1k–120k"
    assert list(table["low"]) == sorted(table["low"])
    assert dashboard.short_amount(1_500_000) == "1.5M" and dashboard.short_amount(950) == "950"
    # Edges that would read alike keep their long labels.
    close = dashboard.histogram(pd.Series([10_000.0, 10_040.0]), bins=4, short=True)
    assert list(close["bin"])[:2] == ["10,000–10,010", "10,010–10,020"]


def test_a_single_value_is_one_bar_named_by_it():
    table = dashboard.histogram(pd.Series([46, 46, 46]))
    assert table.to_dict("list") == {"bin": ["46"], "low": [46.0], "high": [46.0], "count": [3]}
    assert list(dashboard.histogram(pd.Series([50_000.0]), short=True)["bin"]) == ["50k"]


def test_distributions_read_budgets_and_purchases():
    frame = _log([{"total_budget": 10, "purchases": 5}, {"total_budget": 30, "purchases": 5}])
    assert list(dashboard.budget_distribution(frame, bins=2)["count"]) == [1, 1]
    assert list(dashboard.purchases_distribution(frame, bins=3)["count"]) == [2]


def test_predictions_over_time_fill_empty_periods_with_zero():
    frame = _log(
        [
            {"created_at": "2026-03-01T10:00:00Z"},
            {"created_at": "2026-03-01T23:59:59Z"},
            {"created_at": "2026-03-03T01:00:00Z"},
        ]
    )
    daily = dashboard.predictions_over_time(frame, "D")
    assert [str(p.date()) for p in daily["period"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert list(daily["predictions"]) == [2, 0, 1]
    hourly = dashboard.predictions_over_time(frame, "h")
    assert len(hourly) == 40  # 10:00 on the 1st to 01:00 on the 3rd
    assert hourly["predictions"].sum() == 3
    assert hourly["period"].dt.tz is not None
    with pytest.raises(ValueError, match="use 'D'"):
        dashboard.predictions_over_time(frame, "W")


def test_an_empty_log_gives_empty_frames_with_the_columns():
    empty = empty_frame()
    assert list(dashboard.common_plans(empty).columns) == dashboard.COMMON_PLAN_COLUMNS
    assert list(dashboard.budget_distribution(empty).columns) == dashboard.HISTOGRAM_COLUMNS
    assert dashboard.purchases_distribution(empty).empty
    over_time = dashboard.predictions_over_time(empty)
    assert over_time.empty and list(over_time.columns) == ["period", "predictions"]
    columns = [c for c in empty.columns if c != "scenario_name"] + ["saved_as_scenario"]
    assert dashboard.log_csv(empty).strip() == ",".join(columns)


def test_csv_neutralises_formulas_and_keeps_the_rest():
    frame = _log(
        [
            {"purchases": 3, "model": '=HYPERLINK("http://x")', "scenario_name": "Secret"},
            {"purchases": 4, "model": "+cmd|' /C calc'!A0", "scenario_name": ""},
            {"purchases": 5, "model": "ridge", "scenario_name": None},
        ]
    )
    text = dashboard.log_csv(frame)
    back = pd.read_csv(io.StringIO(text))
    assert list(back["model"]) == ['\'=HYPERLINK("http://x")', "'+cmd|' /C calc'!A0", "ridge"]
    assert list(back["purchases"]) == [3, 4, 5]
    assert back["created_at"][0] == "2026-01-01T00:00:00.000000Z"


def test_the_public_log_keeps_scenario_names_out():
    frame = _log(
        [
            {"purchases": 3, "scenario_name": "Anna's launch for ACME"},
            {"purchases": 4, "scenario_name": None},
        ]
    )
    public = dashboard.public_log(frame)
    assert "scenario_name" not in public and list(public["saved_as_scenario"]) == [True, False]
    assert "Anna" not in dashboard.log_csv(frame)
    assert "scenario_name" in frame  # the caller's frame is left as it was


def test_write_csv_writes_the_csv_text(tmp_path):
    frame = _log([{"purchases": 7}])
    path = dashboard.write_csv(frame, tmp_path)
    assert path == tmp_path / "scenario_log.csv"
    assert path.read_text(encoding="utf-8") == dashboard.log_csv(frame)
