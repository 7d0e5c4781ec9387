"""The feature contract shared by training/ and predictor/: names, order, categories.

Everything that turns a campaign into the model's input row is defined here once.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

# Categories of the ad columns that become features (the raw data's other vocabularies, used
# only by training, are in training/schema.py).
PLATFORMS: tuple[str, ...] = ("Facebook", "Instagram")
AD_TYPES: tuple[str, ...] = ("Carousel", "Image", "Stories", "Video")
GENDERS: tuple[str, ...] = ("All", "Female", "Male")
AGE_GROUPS: tuple[str, ...] = ("18-24", "25-34", "35-44", "All")

# Ad-level categorical columns and the categories each one-hot count is built from.
AD_CATEGORIES: dict[str, tuple[str, ...]] = {
    "ad_platform": PLATFORMS,
    "ad_type": AD_TYPES,
    "target_gender": GENDERS,
    "target_age_group": AGE_GROUPS,
}

BASE_COLUMNS: tuple[str, ...] = (
    "duration_days",
    "total_budget",
    "start_month",
    "end_month",
    "num_ads",
    "num_unique_interests",
)

MIX_COLUMNS: tuple[str, ...] = tuple(
    f"{column}_{category}"
    for column, categories in AD_CATEGORIES.items()
    for category in categories
)

# The 19 model inputs, in the order the model was trained on.
FEATURE_COLUMNS: list[str] = [*BASE_COLUMNS, *MIX_COLUMNS]

TARGET_COLUMN = "num_purchases"

# Calendar year used to derive the end month of a plan (the dataset's year; not a leap year).
PLAN_YEAR = 2025


def end_month(start_month: int, duration_days: int, year: int = PLAN_YEAR) -> int:
    """Month (1-12) of the day ``duration_days`` after the first day of ``start_month``."""
    return (dt.date(year, start_month, 1) + dt.timedelta(days=int(duration_days))).month


def end_months(
    start_month: np.ndarray, duration_days: np.ndarray, year: int = PLAN_YEAR
) -> np.ndarray:
    """:func:`end_month` of arrays of whole start months (1-12) and durations, vectorized."""
    first = np.datetime64(f"{year}-01", "M") + (np.asarray(start_month, dtype=np.int64) - 1)
    end = first.astype("datetime64[D]") + np.asarray(duration_days, dtype=np.int64)
    return end.astype("datetime64[M]").astype(np.int64) % 12 + 1
