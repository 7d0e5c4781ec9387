"""The raw data's schema: file names, columns, vocabularies and value rules.

Shared by every engine that reads the event logs (the pandas/Arrow loader and the Spark job), so
that a value is accepted or refused the same way wherever it is read. The categories that become
model features (platforms, formats, targets) belong to the model's contract and are re-exported
from :mod:`predictor.contract.features`.
"""

from __future__ import annotations

from predictor.contract.features import (
    AD_CATEGORIES,
    AD_TYPES,
    AGE_GROUPS,
    FEATURE_COLUMNS,
    GENDERS,
    PLATFORMS,
    TARGET_COLUMN,
)

__all__ = [
    "AD_CATEGORIES",
    "AD_TYPES",
    "AGE_GROUPS",
    "GENDERS",
    "PLATFORMS",
]

INTERESTS: tuple[str, ...] = (
    "art",
    "technology",
    "travel",
    "photography",
    "news",
    "finance",
    "health",
    "fashion",
    "gaming",
    "fitness",
    "lifestyle",
    "food",
    "sports",
)
TIMES_OF_DAY: tuple[str, ...] = ("Morning", "Afternoon", "Evening", "Night")
EVENT_TYPES: tuple[str, ...] = ("Impression", "Click", "Like", "Comment", "Share", "Purchase")
DAYS_OF_WEEK: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)

# The event that the model predicts: its count per campaign is the target.
PURCHASE = "Purchase"
# target_interests holds 1 or more interests separated by commas (spaces around them ignored).
INTEREST_SEPARATOR = ","

# Table names; each is read from NAME.csv, NAME.parquet or a folder NAME/ (Parquet or Delta).
CAMPAIGNS = "campaigns"
ADS = "ads"
EVENTS = "ad_events"
USERS = "users"

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

# Categorical event columns and their allowed values, in the order they are checked.
EVENT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "day_of_week": DAYS_OF_WEEK,
    "time_of_day": TIMES_OF_DAY,
    "event_type": EVENT_TYPES,
}

# duration_days is the days from start_date to end_date; one day either way is how the last day
# is counted, more means the number or the dates are wrong.
DURATION_TOLERANCE_DAYS = 1

# Dates and timestamps are ISO 8601, as in the dataset.
DATE_EXAMPLE = "2025-05-25"
TIMESTAMP_EXAMPLE = "2025-07-26 00:19:56"
# The text forms accepted for whole numbers and timestamps (a timestamp must also be a real
# date and time: 2025-02-30 or 25:00 are refused). Arrow's parsers accept exactly these; engines
# without them (Spark) check the pattern and then the calendar.
WHOLE_NUMBER_PATTERN = r"^-?[0-9]+$"
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?)?$"
)

# The campaign table: one row per campaign, sorted by campaign_id. Every column is int64 except
# total_budget (float64).
TABLE_COLUMNS: list[str] = ["campaign_id", *FEATURE_COLUMNS, TARGET_COLUMN]
FLOAT_COLUMNS: tuple[str, ...] = ("total_budget",)
