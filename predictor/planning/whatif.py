"""What-if curves: purchases against the budget and against the number of ads, one call each."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.notices import BACKEND_CODES, Notice, NoticeCode, code_of
from predictor.contract.plan import FIELD_RULES, MIXES, CampaignPlan
from predictor.serving.extrapolation import (
    ABSURD_FACTOR,
    TrainingBounds,
    absurd_rows,
    refuse_absurd,
)

_BUDGET = FEATURE_COLUMNS.index("total_budget")


class Scorer(Protocol):
    """What the curves need of a :class:`predictor.Predictor`."""

    @property
    def metadata(self) -> Any: ...

    def what_if(
        self, plan: CampaignPlan, field: str, values: Sequence[float], level: float
    ) -> pd.DataFrame: ...

    def predict_frame(self, features: pd.DataFrame, level: float) -> pd.DataFrame: ...


ADS_HINT = "Add ads to the plan (and its mixes) to see how purchases change with the number of ads."


@dataclass(frozen=True)
class Curves:
    """Two curves (columns ``x``, ``prediction``, ``lower``, ``upper``, ``beyond``: the point
    lies outside the training data) and notes about them. The budget curve also has
    ``marginal_cost``: what the next purchase costs from that budget on. ``knee`` is the budget
    where returns flatten (``None`` for a curve without a bend)."""

    budget: pd.DataFrame
    ads: pd.DataFrame
    notices: tuple[str, ...]
    level: float
    knee: float | None = None
    spans: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None)


def scale_counts(counts: Sequence[int], total: int, new_total: int) -> list[int]:
    """``counts`` of a mix scaled from ``total`` to ``new_total`` ads, keeping their shares.

    Whole numbers by largest remainder, so a mix that matched the total still matches it.
    """
    if total <= 0:
        return [0] * len(counts)
    exact = [c * new_total / total for c in counts]
    target = round(sum(counts) * new_total / total)
    floors = [math.floor(x) for x in exact]
    order = sorted(range(len(counts)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[: max(target - sum(floors), 0)]:
        floors[i] += 1
    return floors


def budget_values(budget: float, points: int = 41) -> np.ndarray:
    """Budgets from 0 to twice the plan's (or 100,000 with no budget), including the plan's;
    never beyond the largest budget a plan may have."""
    top = min(2 * budget, FIELD_RULES["total_budget"].high) if budget > 0 else 100_000.0
    return np.unique(np.append(np.linspace(0.0, top, points), budget))


def ads_values(total_ads: int, max_points: int = 60) -> np.ndarray:
    """Ad counts from 0 to about twice the plan's (at least 8), including the plan's; never
    beyond the most ads a plan may have."""
    top = min(max(2 * total_ads, 8), int(FIELD_RULES["total_ads"].high))
    values = np.unique(np.rint(np.linspace(0, top, min(top + 1, max_points))).astype(int))
    return np.unique(np.append(values, total_ads))


def ads_plans(plan: CampaignPlan, counts: Sequence[int]) -> list[CampaignPlan]:
    """The plan at each number of ads, every mix scaled to keep its shares."""
    plans = []
    for n in counts:
        changes: dict[str, int] = {"total_ads": int(n)}
        for fields in MIXES.values():
            scaled = scale_counts([getattr(plan, f) for f in fields], plan.total_ads, int(n))
            changes.update(zip(fields, scaled, strict=True))
        plans.append(plan.replace(**changes))
    return plans


def training_span(training_range: Mapping, column: str) -> tuple[float, float] | None:
    """The ``[min, max]`` of ``column`` in the training data, from a bundle's training range."""
    bounds = (training_range or {}).get(column)
    if isinstance(bounds, list | tuple) and len(bounds) == 2:
        return float(bounds[0]), float(bounds[1])
    return None


def beyond(x: pd.Series, span: tuple[float, float] | None) -> np.ndarray:
    """Which points of a curve lie outside the training data's ``span``."""
    values = x.to_numpy(dtype=float)
    if span is None:
        return np.zeros(len(values), dtype=bool)
    return (values < span[0]) | (values > span[1])


def extrapolation_note(x: pd.Series, span: tuple[float, float] | None, what: str) -> str:
    """A sentence naming the part of a curve beyond the campaigns the model learned from, or
    ``""`` when it stays among them."""
    if span is None or x.empty:
        return ""
    low, high = span
    parts = []
    if x.min() < low:
        parts.append(f"below {low:,.0f}")
    if x.max() > high:
        parts.append(f"above {high:,.0f}")
    if not parts:
        return ""
    return (
        f"{what.capitalize()} {' and '.join(parts)} are beyond the campaigns the model learned "
        "from: that part of the curve (grey) is a guess, with a wider range."
    )


def marginal_cost(curve: pd.DataFrame) -> np.ndarray:
    """What the next purchase costs from each budget of a budget curve on: the budget added to
    the next point over the purchases it adds (``inf`` where it adds none; ``NaN`` at the end)."""
    x = curve["x"].to_numpy(dtype=float)
    p = curve["prediction"].to_numpy(dtype=float)
    cost = np.full(len(x), np.nan)
    if len(x) > 1:
        added, spent = np.diff(p), np.diff(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            cost[:-1] = np.where(added > 0, spent / np.where(added > 0, added, 1.0), np.inf)
    return cost


# A bend smaller than this share of the curve's height is no knee.
MIN_BEND = 0.05


def knee(curve: pd.DataFrame) -> float | None:
    """Where returns flatten on a rising curve: the point farthest above the straight line from
    its first to its last point (the "kneedle" rule), both axes scaled to 0–1; ``None`` when
    the curve does not rise or bends less than :data:`MIN_BEND`."""
    x = curve["x"].to_numpy(dtype=float)
    p = curve["prediction"].to_numpy(dtype=float)
    if len(x) < 3 or x[-1] <= x[0] or p[-1] <= p[0]:
        return None
    gap = (p - p[0]) / (p[-1] - p[0]) - (x - x[0]) / (x[-1] - x[0])
    best = int(np.argmax(gap))
    return float(x[best]) if gap[best] >= MIN_BEND else None


def flatten_note(curve: pd.DataFrame, plan_budget: float, bend: float | None) -> str:
    """The marginal figures in words: what the next purchase costs at the plan's budget, and
    where returns flatten."""
    cost = dict(zip(curve["x"], curve["marginal_cost"], strict=True)).get(plan_budget)
    parts = []
    if cost is not None and np.isfinite(cost):
        parts.append(f"At your budget the next purchase costs about {cost:,.0f}.")
    elif cost is not None and np.isinf(cost):
        parts.append("At your budget more money brings no more purchases.")
    if bend is not None and bend > 0:
        parts.append(
            f"Returns flatten around a budget of {bend:,.0f} (green line): past it, each extra "
            "purchase costs more."
        )
    return " ".join(parts)


def falling_ads_note(curve: pd.DataFrame, x: str = "x") -> str | None:
    """One sentence when predicted purchases fall as ads grow on an ads curve, else ``None``.

    ``curve`` has the ad count in column ``x`` (``"x"`` or ``"total_ads"``) and ``prediction``.
    Falling means: past the curve's peak (at 1 ad or more), the last point is lower by at least
    half a purchase and 1% of the peak.
    """
    points = curve.loc[curve[x] >= 1, [x, "prediction"]].sort_values(x)
    if len(points) < 2:
        return None
    peak = int(points["prediction"].to_numpy().argmax())
    top = float(points["prediction"].iloc[peak])
    drop = top - float(points["prediction"].iloc[-1])
    if peak == len(points) - 1 or drop < max(0.5, 0.01 * top):
        return None
    where = "" if peak == 0 else f" beyond {int(points[x].iloc[peak]):,} ads"
    return (
        f"Purchases fall as ads are added{where}: the plan's budget is split over more ads, "
        "so each ad gets less of it."
    )


def what_if_curves(predictor: Scorer, plan: CampaignPlan, level: float) -> Curves:
    """Budget and ads curves of ``plan`` at ``level``: one model call each, none without ads.

    A plan with an absurd input is refused as a prediction of it is; the curves stop where
    their points would become absurd (see :mod:`predictor.serving.extrapolation`).
    """
    bounds = TrainingBounds.from_metadata(predictor.metadata.training_range)
    refuse_absurd(np.array([list(plan.to_features().values())]), bounds)
    budgets = budget_values(plan.total_budget)
    budgets = budgets[budgets <= ABSURD_FACTOR * bounds.high[_BUDGET]]
    budget = predictor.what_if(plan, "total_budget", budgets, level)
    budget = budget.rename(columns={"total_budget": "x"})
    counts = ads_values(plan.total_ads)
    if plan.total_ads == 0:
        # With no ads there are no shares to keep: a curve cannot be built from this plan.
        ads = pd.DataFrame({"x": counts, "prediction": 0.0, "lower": 0, "upper": 0})
        ads_notices: tuple[str, ...] = (ADS_HINT,)
    else:
        frame = pd.DataFrame([p.to_features() for p in ads_plans(plan, counts)])
        sensible = ~absurd_rows(frame.to_numpy(dtype=float), bounds)
        frame, counts = frame[sensible].reset_index(drop=True), counts[sensible]
        ads = predictor.predict_frame(frame, level).reset_index(drop=True)
        ads.insert(0, "x", counts)
        falling = falling_ads_note(ads)
        ads_notices = tuple(ads.attrs.get("notices", ()))
        if falling:
            ads_notices += (Notice(NoticeCode.ADS_SPLIT_BUDGET, falling),)
    training_range = predictor.metadata.training_range
    budget_span = training_span(training_range, "total_budget")
    ads_span = training_span(training_range, "num_ads")
    budget["beyond"] = beyond(budget["x"], budget_span)
    ads["beyond"] = beyond(ads["x"], ads_span)
    budget["marginal_cost"] = marginal_cost(budget)
    bend = knee(budget)
    notes = (
        extrapolation_note(budget["x"], budget_span, "budgets"),
        extrapolation_note(ads["x"], ads_span, "ad counts"),
        flatten_note(budget, plan.total_budget, bend),
    )
    notices = tuple(
        n
        for n in dict.fromkeys((*budget.attrs.get("notices", ()), *ads_notices, *notes))
        # Which model answered is shown with the prediction already; the rows outside the
        # training data are drawn grey and named in a sentence above.
        if n and code_of(n) not in {*BACKEND_CODES, NoticeCode.EXTRAPOLATION}
    )
    return Curves(
        budget=budget,
        ads=ads,
        notices=notices,
        level=level,
        knee=bend,
        spans=(budget_span, ads_span),
    )
