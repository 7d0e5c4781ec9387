"""Outcomes: the purchases a plan actually brought, next to what was predicted for it at the time.

A row holds the plan, the actual purchases (and the spend, when given), and the answer that was
shown for that plan (prediction, range, level, model name and version, backend), copied when
the outcome is recorded, so that a later model never rewrites history. Nothing else: no IP
address, no user agent, no free text except a scenario name.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from predictor.contract.plan import FIELD_RULES, PLAN_FIELDS, CampaignPlan
from predictor.record.log_rows import MAX_NAME, answer_columns, plan_columns, record_table

OUTCOME_TABLE_NAME = "outcomes"
# What was shown at the time the plan was predicted.
SHOWN_FIELDS: tuple[str, ...] = (
    "predicted",
    "lower",
    "upper",
    "level",
    "model",
    "model_version",
    "backend",
    "predicted_at",
)
OUTCOME_COLUMNS: tuple[str, ...] = (
    "id",
    "recorded_at",
    "scenario_name",
    "scenario_key",
    *PLAN_FIELDS,
    "actual_purchases",
    "spend",
    *SHOWN_FIELDS,
)
# More purchases than any campaign brings: a typo.
MAX_PURCHASES = 1_000_000_000
MAX_SPEND = FIELD_RULES["total_budget"].high
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")

OUTCOME_METADATA = sa.MetaData()
OUTCOME_TABLE = record_table(
    OUTCOME_TABLE_NAME,
    OUTCOME_METADATA,
    "recorded_at",
    sa.Column("scenario_name", sa.String(MAX_NAME), nullable=True),
    # One outcome per scenario (its name and plan): see scenario_key.
    sa.Column("scenario_key", sa.String(40), nullable=False, unique=True),
    *plan_columns(),
    sa.Column("actual_purchases", sa.Integer, nullable=False),
    sa.Column("spend", sa.Float, nullable=True),
    sa.Column("predicted", sa.Integer, nullable=False),
    *answer_columns(),
    sa.Column("predicted_at", sa.DateTime(), nullable=True),  # UTC
)


class OutcomeError(ValueError):
    """An outcome cannot be recorded; the message says what to change."""


@dataclass(frozen=True)
class Shown:
    """The answer shown for a plan: the prediction, its range at ``level``, and who gave it."""

    predicted: int
    lower: int
    upper: int
    level: float
    model: str
    model_version: str = ""
    backend: str = "local"
    predicted_at: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.lower <= self.predicted <= self.upper:
            raise OutcomeError(
                f"the shown range {self.lower}–{self.upper} does not hold the prediction "
                f"{self.predicted}; give lower <= prediction <= upper, all 0 or more"
            )
        if not 0 < self.level < 1:
            raise OutcomeError(f"the level is {self.level:g}; give 0.8, 0.9 or 0.95")
        if not self.model:
            raise OutcomeError("the model that gave the prediction is missing; name it")

    @classmethod
    def of(cls, answer: Mapping[str, Any], model: str | None = None) -> Shown:
        """From an answer record (``answer_record``: purchases, lower, upper, level, backend,
        model, model_version) or a log row; raises :class:`OutcomeError` if it is not one."""
        try:
            return cls(
                predicted=int(answer["purchases"]),
                lower=int(answer["lower"]),
                upper=int(answer["upper"]),
                level=float(answer["level"]),
                model=str(model or answer.get("model") or ""),
                model_version=str(answer.get("model_version") or ""),
                backend=str(answer.get("backend") or "local"),
                predicted_at=_utc(answer.get("created_at")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, OutcomeError):
                raise
            raise OutcomeError(
                "the answer shown for that plan is incomplete; predict it again"
            ) from None


def _utc(value: Any) -> datetime | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime().replace(tzinfo=None)


def _number(what: str, value: object) -> float | None:
    """``value`` as a float, None when empty; :class:`OutcomeError` for text, NaN or infinity."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        if _THOUSANDS.match(text):  # 1,234 as a spreadsheet writes it
            text = text.replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise OutcomeError(f"{what} is {value.strip()[:40]!r}, not a number") from None
    elif isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise OutcomeError(f"{what} must be a number, not {type(value).__name__}")
    else:
        number = float(value)
    if math.isnan(number):
        raise OutcomeError(f"{what} is not a number (NaN); enter a number")
    if math.isinf(number):
        raise OutcomeError(f"{what} is infinite; enter a finite number")
    return number


def check_purchases(value: object, what: str = "actual purchases") -> int:
    """The actual purchases as a whole number of at least 0 (3.0 counts as 3)."""
    number = _number(what, value)
    if number is None:
        raise OutcomeError(f"{what} is empty; enter how many purchases the campaign brought")
    if number < 0:
        raise OutcomeError(f"{what} is {number:g}; a campaign brings 0 purchases or more")
    if not number.is_integer():
        raise OutcomeError(f"{what} is {number:g}; enter a whole number of purchases")
    if number > MAX_PURCHASES:
        raise OutcomeError(f"{what} is {number:,.0f}; enter at most {MAX_PURCHASES:,}")
    return int(number)


def check_spend(value: object) -> float | None:
    """The optional spend: None when empty, else a number from 0 to the budget limit."""
    number = _number("spend", value)
    if number is None:
        return None
    if number < 0:
        raise OutcomeError(f"spend is {number:g}; enter 0 or more, or leave it empty")
    if number > MAX_SPEND:
        raise OutcomeError(f"spend is {number:g}; enter at most {MAX_SPEND:,.0f}")
    return number


def clean_name(name: object) -> str | None:
    """A scenario name with its spaces tidied (at most MAX_NAME characters); None when empty."""
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return None
    text = " ".join(str(name).split())[:MAX_NAME]
    return text or None


def scenario_key(name: str | None, plan: CampaignPlan) -> str:
    """What makes two outcomes the same scenario: its name and its plan.

    Names alone repeat (every session starts at A), so two planners' scenario A are two
    scenarios; an unnamed plan is the same scenario as the same plan unnamed (a file recorded
    twice does not count its results twice).
    """
    text = "|".join([name or "", *(repr(getattr(plan, f)) for f in PLAN_FIELDS)])
    return hashlib.sha1(text.encode()).hexdigest()


def outcome_row(
    plan: CampaignPlan,
    actual: object,
    shown: Shown,
    *,
    spend: object = None,
    scenario_name: object = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One outcome row; raises :class:`OutcomeError` for bad purchases or spend."""
    if not isinstance(plan, CampaignPlan):
        raise TypeError(f"plan must be a CampaignPlan, not {type(plan).__name__}")
    name = clean_name(scenario_name)
    when = (at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    return {
        "id": uuid.uuid4().hex,
        "recorded_at": when,
        "scenario_name": name,
        "scenario_key": scenario_key(name, plan),
        **{f: getattr(plan, f) for f in PLAN_FIELDS},
        "actual_purchases": check_purchases(actual),
        "spend": check_spend(spend),
        "predicted": shown.predicted,
        "lower": shown.lower,
        "upper": shown.upper,
        "level": shown.level,
        "model": shown.model[:64],
        "model_version": shown.model_version[:64] or None,
        "backend": shown.backend[:32],
        "predicted_at": shown.predicted_at,
    }


def empty_outcomes() -> pd.DataFrame:
    """An outcome frame with no rows and the outcome columns."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTCOME_COLUMNS})
