"""CampaignPlan: validation, mix warnings, the feature row, and extrapolation warnings."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictor import FEATURE_COLUMNS, CampaignPlan, PlanError
from predictor.contract.features import end_month
from predictor.contract.plan import (
    MAX_BUDGET,
    MAX_COUNT,
    MAX_DURATION_DAYS,
    MIXES,
    extrapolation_warnings,
)
from ui.common import DEFAULT_PLAN

CORE = ("duration_days", "total_budget", "start_month", "num_unique_interests", "total_ads")
BASE = {f: DEFAULT_PLAN[f] for f in CORE}
FULL_MIX = {f: v for f, v in DEFAULT_PLAN.items() if f not in BASE}
FIELDS = [f.name for f in dataclasses.fields(CampaignPlan)]


def test_fields_are_exactly_the_documented_ones_and_mixes_default_to_zero():
    assert [*BASE, *FULL_MIX] == FIELDS
    plan = CampaignPlan(**BASE)
    assert all(getattr(plan, f) == 0 for f in FULL_MIX)


def test_plan_is_frozen():
    plan = CampaignPlan(**BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.total_ads = 5  # type: ignore[misc]


def test_to_features_maps_every_field_to_its_column_in_order():
    plan = CampaignPlan(**BASE, **{f: i + 1 for i, f in enumerate(FULL_MIX)})
    row = plan.to_features()
    assert list(row) == FEATURE_COLUMNS
    assert all(isinstance(v, float) for v in row.values())
    assert row["num_ads"] == 4
    assert row["end_month"] == end_month(5, 60) == plan.end_month == 6  # May 1 + 60 days
    expected = {
        "ad_platform_Facebook": plan.facebook_ads,
        "ad_platform_Instagram": plan.instagram_ads,
        "ad_type_Image": plan.image_ads,
        "ad_type_Video": plan.video_ads,
        "ad_type_Carousel": plan.carousel_ads,
        "ad_type_Stories": plan.stories_ads,
        "target_gender_Male": plan.male_ads,
        "target_gender_Female": plan.female_ads,
        "target_gender_All": plan.all_gender_ads,
        "target_age_group_18-24": plan.age_18_24_ads,
        "target_age_group_25-34": plan.age_25_34_ads,
        "target_age_group_35-44": plan.age_35_44_ads,
        "target_age_group_All": plan.all_age_ads,
    }
    assert {c: row[c] for c in expected} == expected
    # Every mix field lands in a distinct column.
    assert len({row[c] for c in expected}) == len(expected)


def test_end_month_wraps_the_year():
    plan = CampaignPlan(**{**BASE, "start_month": 12, "duration_days": 31})
    assert plan.end_month == 1


def test_integral_floats_and_numpy_numbers_are_accepted_as_counts():
    plan = CampaignPlan(
        duration_days=np.int64(30),
        total_budget=np.float32(1000.5),
        start_month=3.0,
        num_unique_interests=Decimal(2),
        total_ads=Fraction(8, 2),
        facebook_ads=4.0,
    )
    assert (plan.duration_days, plan.start_month, plan.num_unique_interests, plan.total_ads) == (
        30,
        3,
        2,
        4,
    )
    assert type(plan.total_ads) is int and type(plan.facebook_ads) is int
    assert type(plan.total_budget) is float and plan.total_budget == pytest.approx(1000.5)


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("total_budget", math.nan, "NaN"),
        ("total_budget", math.inf, "infinite"),
        ("total_budget", -1.0, "0 or more"),
        ("total_budget", 1e300, "at most"),
        ("total_budget", "5000", "text"),
        ("total_budget", None, "empty"),
        ("total_ads", True, "number"),
        ("total_ads", -1, "at least 0"),
        ("total_ads", 2.5, "whole number"),
        ("total_ads", 10**400, "too large"),
        ("facebook_ads", MAX_COUNT + 1, "at most"),
        ("duration_days", 0, "at least 1"),
        ("duration_days", MAX_DURATION_DAYS + 1, "at most"),
        ("start_month", 13, "at most 12"),
        ("start_month", 0, "at least 1"),
        ("num_unique_interests", -math.inf, "infinite"),
        ("all_age_ads", [3], "number"),
        ("male_ads", Decimal("NaN"), "NaN"),
        ("male_ads", Decimal("sNaN"), "NaN"),
    ],
)
def test_invalid_values_name_the_field_and_what_to_change(field, value, hint):
    with pytest.raises(PlanError) as info:
        CampaignPlan(**{**BASE, field: value})
    assert isinstance(info.value, ValueError)
    assert info.value.field == field
    message = str(info.value)
    assert message.startswith(field)
    assert hint in message
    assert "enter" in message


def test_mix_warnings_name_the_mix_and_the_numbers():
    assert CampaignPlan(**BASE, **FULL_MIX).warnings == ()
    over = CampaignPlan(**BASE, **{**FULL_MIX, "facebook_ads": 5})
    assert over.warnings == ("Platform mix adds up to 7 ads, more than the 4 ads in total.",)
    under = CampaignPlan(**BASE, **{**FULL_MIX, "video_ads": 0, "stories_ads": 0})
    assert under.warnings == ("Format mix adds up to 2 ads, fewer than the 4 ads in total.",)
    empty_mix = CampaignPlan(**BASE)
    assert [w.split(" mix")[0] for w in empty_mix.warnings] == list(MIXES)
    assert all("0 ads, fewer than the 4 ads" in w for w in empty_mix.warnings)


def test_zero_ads_with_an_empty_mix_has_no_warning():
    assert CampaignPlan(**{**BASE, "total_ads": 0}).warnings == ()


def test_replace_validates_again_and_rejects_unknown_fields():
    plan = CampaignPlan(**BASE)
    assert plan.replace(total_budget=10.0).total_budget == 10.0
    assert plan.total_budget == 50000
    with pytest.raises(PlanError) as info:
        plan.replace(total_ads=-3)
    assert info.value.field == "total_ads"
    with pytest.raises(PlanError) as info:
        plan.replace(budget=3)
    assert info.value.field == "budget"
    assert "not a plan field" in str(info.value)


def test_extrapolation_warnings_flag_values_outside_the_training_range():
    ranges = {c: [0.0, 10.0] for c in FEATURE_COLUMNS}
    ranges["total_budget"] = [100.0, 90000.0]
    inside = CampaignPlan(**{**BASE, "total_budget": 5000, "duration_days": 10}).to_features()
    assert extrapolation_warnings(inside, ranges) == ()
    outside = CampaignPlan(**{**BASE, "total_budget": 250000, "duration_days": 10}).to_features()
    (warning,) = extrapolation_warnings(outside, ranges)
    assert warning == (
        "Total budget 250,000 is outside the training data's range (100–90,000); "
        "the prediction extrapolates."
    )
    # Missing or malformed ranges are ignored rather than guessed.
    assert extrapolation_warnings(outside, {"total_budget": "n/a"}) == ()


# -- property-based: every input builds a plan or raises PlanError, nothing else ------------------

values = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.fractions(),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.complex_numbers(max_magnitude=10),
)
plan_kwargs = st.fixed_dictionaries(
    {f: values for f in BASE}, optional=dict.fromkeys(FULL_MIX, values)
)


@settings(max_examples=400, deadline=None)
@given(plan_kwargs)
def test_any_input_builds_a_valid_plan_or_raises_plan_error(kwargs):
    try:
        plan = CampaignPlan(**kwargs)
    except PlanError as exc:
        assert exc.field in kwargs
        assert str(exc).startswith(exc.field)
        return
    for field in FIELDS:
        value = getattr(plan, field)
        if field == "total_budget":
            assert type(value) is float and 0 <= value <= MAX_BUDGET
        else:
            assert type(value) is int and value >= 0
            assert value == kwargs.get(field, 0)
    assert 1 <= plan.start_month <= 12 and 1 <= plan.duration_days <= MAX_DURATION_DAYS
    row = plan.to_features()
    assert list(row) == FEATURE_COLUMNS and all(math.isfinite(v) for v in row.values())


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=50),
    mix=st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=2),
)
def test_platform_warning_iff_mix_differs_from_total(total, mix):
    plan = CampaignPlan(**{**BASE, "total_ads": total}, facebook_ads=mix[0], instagram_ads=mix[1])
    platform = [w for w in plan.warnings if w.startswith("Platform mix")]
    assert bool(platform) == (sum(mix) != total)
    if platform:
        word = "more" if sum(mix) > total else "fewer"
        assert f"{sum(mix):,} ad" in platform[0] and word in platform[0]
