"""A campaign plan: the planner's inputs, validated, and the model's input row derived from them."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.features import end_month as _end_month
from predictor.contract.formatting import fmt_echo, fmt_feature, fmt_typed
from predictor.contract.notices import Notice, NoticeCode

# Upper bounds that no real campaign reaches; beyond them the input is a typo or an attack.
MAX_BUDGET = 1e12
MAX_DURATION_DAYS = 3650
MAX_COUNT = 1_000_000

# Each mix: its name in messages, and the plan fields of its categories.
MIXES: dict[str, tuple[str, ...]] = {
    "Platform": ("facebook_ads", "instagram_ads"),
    "Format": ("image_ads", "video_ads", "carousel_ads", "stories_ads"),
    "Target gender": ("male_ads", "female_ads", "all_gender_ads"),
    "Target age group": ("age_18_24_ads", "age_25_34_ads", "age_35_44_ads", "all_age_ads"),
}

# Model column -> plan field (end_month is derived, not a field).
COLUMN_FIELDS: dict[str, str] = {
    "duration_days": "duration_days",
    "total_budget": "total_budget",
    "start_month": "start_month",
    "num_ads": "total_ads",
    "num_unique_interests": "num_unique_interests",
    "ad_platform_Facebook": "facebook_ads",
    "ad_platform_Instagram": "instagram_ads",
    "ad_type_Carousel": "carousel_ads",
    "ad_type_Image": "image_ads",
    "ad_type_Stories": "stories_ads",
    "ad_type_Video": "video_ads",
    "target_gender_All": "all_gender_ads",
    "target_gender_Female": "female_ads",
    "target_gender_Male": "male_ads",
    "target_age_group_18-24": "age_18_24_ads",
    "target_age_group_25-34": "age_25_34_ads",
    "target_age_group_35-44": "age_35_44_ads",
    "target_age_group_All": "all_age_ads",
}

# Model column -> words used in user-facing messages.
COLUMN_LABELS: dict[str, str] = {
    "duration_days": "duration (days)",
    "total_budget": "total budget",
    "start_month": "start month",
    "end_month": "end month",
    "num_ads": "total ads",
    "num_unique_interests": "unique interests",
    "ad_platform_Facebook": "Facebook ads",
    "ad_platform_Instagram": "Instagram ads",
    "ad_type_Carousel": "Carousel ads",
    "ad_type_Image": "Image ads",
    "ad_type_Stories": "Stories ads",
    "ad_type_Video": "Video ads",
    "target_gender_All": "all-gender ads",
    "target_gender_Female": "female-targeted ads",
    "target_gender_Male": "male-targeted ads",
    "target_age_group_18-24": "18-24 ads",
    "target_age_group_25-34": "25-34 ads",
    "target_age_group_35-44": "35-44 ads",
    "target_age_group_All": "all-ages ads",
}


@dataclass(frozen=True)
class FieldRule:
    """What a plan field accepts: a number in ``[low, high]``, whole or not; mixes may be left out."""

    low: float
    high: float
    whole: bool = True
    required: bool = True


# The plan's fields in form order with their limits: the one table every check derives from.
FIELD_RULES: dict[str, FieldRule] = {
    "duration_days": FieldRule(1, MAX_DURATION_DAYS),
    "total_budget": FieldRule(0, MAX_BUDGET, whole=False),
    "start_month": FieldRule(1, 12),
    "num_unique_interests": FieldRule(0, MAX_COUNT),
    "total_ads": FieldRule(0, MAX_COUNT),
    **{f: FieldRule(0, MAX_COUNT, required=False) for fs in MIXES.values() for f in fs},
}
PLAN_FIELDS: tuple[str, ...] = tuple(FIELD_RULES)
MIX_FIELDS: tuple[str, ...] = tuple(f for f, rule in FIELD_RULES.items() if not rule.required)
REQUIRED_FIELDS: tuple[str, ...] = tuple(f for f, rule in FIELD_RULES.items() if rule.required)


class PlanError(ValueError):
    """A plan input is invalid; ``field`` names it and the message says what to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _number(field: str, value: object) -> float:
    """``value`` as a finite float, or :class:`PlanError` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        if value is None:
            kind = "empty"
        elif isinstance(value, str | bytes):
            kind = "text"
        else:
            kind = f"of type {type(value).__name__}"
        raise PlanError(field, f"{field} must be a number, but it is {kind}; enter a number")
    try:
        number = float(value)
    except OverflowError:
        raise PlanError(field, f"{field} is too large; enter a smaller number") from None
    except ValueError:
        raise PlanError(field, f"{field} is not a number (NaN); enter a number") from None
    if math.isnan(number):
        raise PlanError(field, f"{field} is not a number (NaN); enter a number")
    if math.isinf(number):
        raise PlanError(field, f"{field} is infinite; enter a finite number")
    return number


def check_field(field: str, value: object) -> int | float:
    """``value`` checked against ``FIELD_RULES[field]``: an int for whole fields (3.0 counts as
    3), a float otherwise; :class:`PlanError` naming the field and what to enter."""
    rule = FIELD_RULES[field]
    if rule.whole:
        return _whole(field, value, int(rule.low), int(rule.high))
    number = _number(field, value)
    if number < rule.low:
        raise PlanError(
            field, f"{field} is {fmt_typed(number)}; enter {fmt_typed(rule.low)} or more"
        )
    if number > rule.high:
        raise PlanError(
            field, f"{field} is {fmt_typed(number)}; enter at most {fmt_typed(rule.high)}"
        )
    return number


def valid_values(field: str, values: np.ndarray) -> np.ndarray:
    """Mask of the ``values`` (floats, NaN for unreadable cells) that ``check_field`` accepts."""
    rule = FIELD_RULES[field]
    with np.errstate(invalid="ignore"):
        good = np.isfinite(values) & (values >= rule.low) & (values <= rule.high)
        if rule.whole:
            good &= values == np.floor(values)
    return good


def _whole(field: str, value: object, low: int, high: int) -> int:
    """``value`` as a whole number in ``[low, high]`` (3.0 counts as 3), or :class:`PlanError`."""
    number = _number(field, value)
    shown = fmt_typed(number)
    if number < low:
        raise PlanError(field, f"{field} is {shown}; enter a whole number of at least {low:,}")
    if number > high:
        raise PlanError(field, f"{field} is {shown}; enter a whole number of at most {high:,}")
    if not number.is_integer():
        raise PlanError(field, f"{field} is {shown}; enter a whole number")
    return int(number)


def _count(n: int) -> str:
    return f"{n:,} ad" if n == 1 else f"{n:,} ads"


def mix_warning(name: str, total: int, total_ads: int) -> Notice | None:
    """The warning for mix ``name`` adding up to ``total`` of ``total_ads``, or ``None``."""
    if total == total_ads:
        return None
    more = "more" if total > total_ads else "fewer"
    return Notice(
        NoticeCode.MIX_MISMATCH,
        f"{name} mix adds up to {_count(total)}, {more} than the {_count(total_ads)} in total.",
    )


@dataclass(frozen=True)
class CampaignPlan:
    """The planner's inputs. Counts are whole numbers >= 0; the budget is finite and >= 0.

    Construction validates every field and raises :class:`PlanError` naming the first bad one.
    Mixes that do not add up to ``total_ads`` are allowed and reported in :attr:`warnings`.
    """

    duration_days: int
    total_budget: float
    start_month: int
    num_unique_interests: int
    total_ads: int
    facebook_ads: int = 0
    instagram_ads: int = 0
    image_ads: int = 0
    video_ads: int = 0
    carousel_ads: int = 0
    stories_ads: int = 0
    male_ads: int = 0
    female_ads: int = 0
    all_gender_ads: int = 0
    age_18_24_ads: int = 0
    age_25_34_ads: int = 0
    age_35_44_ads: int = 0
    all_age_ads: int = 0

    def __post_init__(self) -> None:
        values = {field: check_field(field, getattr(self, field)) for field in FIELD_RULES}
        for field, value in values.items():
            object.__setattr__(self, field, value)

    @classmethod
    def from_mapping(cls, values: object) -> CampaignPlan:
        """A plan from a mapping of its fields (as the API returns it); :class:`PlanError` for
        anything else, an unknown field, or a missing required one."""
        if not isinstance(values, Mapping):
            raise PlanError(
                "plan", f"the plan must be an object of its fields, not {type(values).__name__}"
            )
        unknown = [str(k) for k in values if k not in FIELD_RULES]
        if unknown:
            raise PlanError(
                unknown[0],
                f"{fmt_echo(unknown[0])} is not a plan field; use {', '.join(PLAN_FIELDS)}",
            )
        return cls(
            **{f: values.get(f, None if FIELD_RULES[f].required else 0) for f in PLAN_FIELDS}
        )

    @property
    def end_month(self) -> int:
        """Month (1-12) of the day ``duration_days`` after the first day of ``start_month``."""
        return _end_month(self.start_month, self.duration_days)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Human-readable warnings for mixes whose counts do not add up to ``total_ads``."""
        out = (
            mix_warning(name, sum(getattr(self, f) for f in fields), self.total_ads)
            for name, fields in MIXES.items()
        )
        return tuple(w for w in out if w is not None)

    @property
    def oversized_mixes(self) -> tuple[str, ...]:
        """Names of the mixes whose counts add up to more than ``total_ads`` (see MIXES).

        A plan with any makes the prediction unreliable: no training campaign looked like it.
        """
        return tuple(
            name
            for name, fields in MIXES.items()
            if sum(getattr(self, f) for f in fields) > self.total_ads
        )

    def to_features(self) -> dict[str, float]:
        """The model's input row: the 19 ``FEATURE_COLUMNS`` in order, as floats."""
        row = {}
        for column in FEATURE_COLUMNS:
            if column == "end_month":
                row[column] = float(self.end_month)
            else:
                row[column] = float(getattr(self, COLUMN_FIELDS[column]))
        return row

    def replace(self, **changes: object) -> CampaignPlan:
        """A copy with ``changes`` applied, validated again."""
        names = {f.name for f in dataclasses.fields(self)}
        for field in changes:
            if field not in names:
                raise PlanError(
                    field, f"{field} is not a plan field; use one of {', '.join(sorted(names))}"
                )
        return dataclasses.replace(self, **changes)


def extrapolation_warnings(
    features: Mapping[str, float], training_range: Mapping[str, object]
) -> tuple[str, ...]:
    """One warning per feature outside the ``[min, max]`` of the training data."""
    out = []
    for column in FEATURE_COLUMNS:
        bounds = training_range.get(column)
        if column not in features or not isinstance(bounds, list | tuple) or len(bounds) != 2:
            continue
        low, high = float(bounds[0]), float(bounds[1])
        value = float(features[column])
        if value < low or value > high:
            label = COLUMN_LABELS.get(column, column)
            out.append(
                Notice(
                    NoticeCode.EXTRAPOLATION,
                    f"{label.capitalize()} {fmt_feature(column, value)} is outside the training "
                    f"data's range ({fmt_feature(column, low)}–{fmt_feature(column, high)}); "
                    "the prediction extrapolates.",
                )
            )
    return tuple(out)


if tuple(f.name for f in dataclasses.fields(CampaignPlan)) != PLAN_FIELDS:  # pragma: no cover
    raise RuntimeError("CampaignPlan's fields and FIELD_RULES disagree")
