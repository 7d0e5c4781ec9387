"""Target budget: the budget a plan needs for N purchases, or to keep the cost per purchase under X.

The search stays inside the training data's budget range (``training_range["total_budget"]`` in
the bundle's metadata) and never extrapolates: a geometric grid of budgets is scored in one
``predict_frame`` call, then a whole-number grid across the step where the answer changes in a
second call (every whole budget there, for budgets up to a few hundred thousand). Every answer
names a budget that was actually scored, with its prediction.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.formatting import fmt_money, fmt_number, fmt_typed
from predictor.contract.plan import CampaignPlan, PlanError
from predictor.planning.economics import (
    MAX_AMOUNT,
    MAX_PURCHASES,
    EconomicsError,
    as_float,
    parse_margin,
)
from predictor.serving.bundle import BundleError

if TYPE_CHECKING:
    from predictor.serving.predictor import Predictor

GRID_POINTS = 256
# The second call scores every whole budget across the step when there are at most this many.
FINE_POINTS = 4096
FOUND = "found"  # the budget lies inside the training range
RANGE_EDGE = "range_edge"  # the answer is at the range's edge; beyond it the model has no data
OUT_OF_REACH = "out_of_reach"  # no budget inside the training range meets the target


@dataclass(frozen=True)
class BudgetAnswer:
    """One answer of the search. ``budget`` is ``None`` when out of reach; the prediction is then
    the one at the closest budget tried (named in ``message``)."""

    status: str
    budget: float | None
    purchases: int
    lower: int
    upper: int
    message: str

    @property
    def reachable(self) -> bool:
        """Whether a budget inside the training range meets the target."""
        return self.budget is not None


@dataclass(frozen=True)
class TargetBudget:
    """Budgets for ``target`` purchases: ``expected`` (the prediction reaches it) and ``assured``
    (the lower end of the ``level`` range reaches it)."""

    target: float
    level: float
    training_range: tuple[float, float]
    expected: BudgetAnswer
    assured: BudgetAnswer
    model_calls: int


@dataclass(frozen=True)
class CpaBudget:
    """The largest budgets whose cost per purchase stays at or under ``max_cost_per_purchase``:
    ``expected`` on the predicted purchases, ``assured`` on the lower end of the range.

    ``basis`` says where the limit came from (given, or the order value's break-even).
    """

    max_cost_per_purchase: float
    basis: str
    level: float
    training_range: tuple[float, float]
    expected: BudgetAnswer
    assured: BudgetAnswer
    model_calls: int


def _positive(
    field: str, value: object, error: type[ValueError], high: float = MAX_AMOUNT
) -> float:
    """``value`` as a float above 0 and at most ``high``; ``error`` names ``field``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(field, f"{field} must be a number; enter a number above 0")
    number = as_float(value)
    if math.isnan(number) or number <= 0 or (math.isinf(number) and not isinstance(value, int)):
        raise error(field, f"{field} is {fmt_typed(value)}; enter a finite number above 0")
    if number > high:
        raise error(field, f"{field} is {fmt_typed(value)}; enter at most {fmt_typed(high)}")
    return number


def budget_span(predictor: Predictor) -> tuple[float, float]:
    """Smallest and largest whole budgets inside the training data's budget range."""
    pair = (predictor.metadata.training_range or {}).get("total_budget")
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise BundleError("the bundle's metadata has no training range for total_budget")
    low, high = float(pair[0]), float(pair[1])
    if math.ceil(low) <= math.floor(high):
        low, high = float(math.ceil(low)), float(math.floor(high))
    return low, high


def first_true(mask: np.ndarray) -> int | None:
    """Index of the first ``True`` in ``mask``, or ``None``."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def last_true(mask: np.ndarray) -> int | None:
    """Index of the last ``True`` in ``mask``, or ``None``."""
    hits = np.flatnonzero(mask)
    return int(hits[-1]) if hits.size else None


def whole_grid(start: float, stop: float, points: int = FINE_POINTS) -> np.ndarray:
    """Every whole number from ``start`` to ``stop`` (rounded inward), or ``points`` of them
    spread evenly when there are more; ``[start, stop]`` when no whole number lies between."""
    low, high = math.ceil(start), math.floor(stop)
    if low > high:
        return np.array([start, stop], dtype=float)
    if high - low < points:
        return np.arange(low, high + 1, dtype=float)
    return np.unique(np.rint(np.linspace(low, high, points)))


def _score(predictor: Predictor, plan: CampaignPlan, budgets: np.ndarray, level: float):
    row = np.array([plan.to_features()[c] for c in FEATURE_COLUMNS], dtype=float)
    values = np.tile(row, (len(budgets), 1))
    values[:, FEATURE_COLUMNS.index("total_budget")] = budgets
    result = predictor.predict_frame(pd.DataFrame(values, columns=FEATURE_COLUMNS), level)
    return result.assign(budget=budgets).reset_index(drop=True)


Condition = Callable[[pd.DataFrame], np.ndarray]


def _search(
    predictor: Predictor,
    plan: CampaignPlan,
    level: float,
    conditions: tuple[Condition, Condition],
    largest: bool,
) -> tuple[list[tuple[str, pd.Series]], tuple[float, float], int, pd.DataFrame]:
    """For each condition: (status, scored row) of the smallest (or ``largest``) budget meeting it.

    Out of reach gives the row at the budget closest to meeting it (the top of the range, for
    the smallest budget; see the callers). Two ``predict_frame`` calls at most.
    """
    if plan.total_ads == 0:
        raise PlanError("total_ads", "the plan has no ads, so no budget brings purchases; add ads")
    low, high = budget_span(predictor)
    coarse = _score(predictor, plan, np.geomspace(low, high, GRID_POINTS), level)
    pick, edge = (last_true, len(coarse) - 1) if largest else (first_true, 0)
    found: list[tuple[str, int | None]] = []
    grids = []
    for condition in conditions:
        i = pick(condition(coarse))
        found.append((OUT_OF_REACH if i is None else RANGE_EDGE if i == edge else FOUND, i))
        if i is not None and i != edge:
            near = i + 1 if largest else i - 1
            a, b = sorted(coarse["budget"].iloc[[i, near]])
            grids.append(whole_grid(a, b))
    fine = _score(predictor, plan, np.concatenate(grids), level) if grids else coarse.iloc[:0]
    calls = 2 if grids else 1
    answers = []
    for (status, i), condition in zip(found, conditions, strict=True):
        if i is None:
            answers.append((status, coarse.iloc[-1]))
            continue
        row = coarse.iloc[i]
        if status == FOUND:
            a, b = sorted(coarse["budget"].iloc[[i, i + 1 if largest else i - 1]])
            part = fine[(fine["budget"] >= a) & (fine["budget"] <= b)]
            j = pick(condition(part))
            if j is not None:
                row = part.iloc[j]
        answers.append((status, row))
    return answers, (low, high), calls, coarse


def _range(row: pd.Series, level: float) -> str:
    return f"range {int(row['lower']):,}–{int(row['upper']):,} at {level:.0%}"


def _answer(status: str, row: pd.Series, message: str, reached: bool) -> BudgetAnswer:
    return BudgetAnswer(
        status=status,
        budget=float(row["budget"]) if reached else None,
        purchases=round(float(row["prediction"])),
        lower=int(row["lower"]),
        upper=int(row["upper"]),
        message=message,
    )


def budget_for_purchases(
    predictor: Predictor, plan: CampaignPlan, target: float, level: float = 0.9
) -> TargetBudget:
    """The budgets ``plan`` needs for ``target`` purchases, inside the training budget range.

    ``expected``: the smallest budget whose predicted purchases reach ``target``; ``assured``:
    the smallest whose lower end of the ``level`` range does. The plan's own budget is ignored.
    """
    target = _positive("target", target, PlanError, high=MAX_PURCHASES)
    conditions = (
        lambda f: f["prediction"].to_numpy() >= target,
        lambda f: f["lower"].to_numpy() >= target,
    )
    answers, (low, high), calls, _ = _search(predictor, plan, level, conditions, largest=False)
    goal = f"{fmt_number(target)} purchases"
    out = []
    for (status, row), assured in zip(answers, (False, True), strict=True):
        budget, predicted = fmt_money(row["budget"]), f"{round(row['prediction']):,}"
        if status == OUT_OF_REACH:
            message = (
                f"{goal} are out of reach inside the training data's budgets "
                f"({fmt_money(low)} to {fmt_money(high)}): the largest brings {predicted} "
                f"({_range(row, level)}). A larger budget would extrapolate beyond what the "
                "model has seen."
            )
        else:
            reaches = (
                f"lifts the lower end of the {level:.0%} range to {goal} or more "
                f"({predicted} predicted, {_range(row, level)})"
                if assured
                else f"is predicted to bring {goal} or more ({predicted}, {_range(row, level)})"
            )
            message = f"A budget of {budget} {reaches}."
            if status == RANGE_EDGE:
                message = (
                    f"Even the smallest budget in the training data, {budget}, "
                    f"{reaches.replace('is predicted', 'is already predicted')}; the model has "
                    "not seen smaller budgets."
                )
        out.append(_answer(status, row, message, status != OUT_OF_REACH))
    return TargetBudget(target, level, (low, high), out[0], out[1], calls)


def cost_limit(
    max_cost_per_purchase: float | None,
    average_order_value: float | None = None,
    margin: float | None = None,
) -> tuple[float, str]:
    """The cost-per-purchase limit and its basis.

    Given: used as is. Otherwise the break-even of the order value: the order value itself
    (revenue covers the spend, ROAS 1) or, with a ``margin`` (0.4 or 40 for 40%), order value ×
    margin (profit covers the spend).
    """
    if max_cost_per_purchase is not None:
        limit = _positive("max_cost_per_purchase", max_cost_per_purchase, EconomicsError)
        return limit, "given"
    if average_order_value is None:
        raise EconomicsError(
            "max_cost_per_purchase",
            "give a maximum cost per purchase, or an average order value to break even on",
        )
    aov = _positive("average_order_value", average_order_value, EconomicsError)
    if margin is None:
        return aov, "break-even on revenue: the order value (ROAS 1)"
    share = parse_margin(margin)
    return aov * share.fraction, (
        f"break-even on profit: the order value × the margin ({share.fraction:.0%})"
    )


def budget_for_cpa(
    predictor: Predictor,
    plan: CampaignPlan,
    max_cost_per_purchase: float | None = None,
    *,
    average_order_value: float | None = None,
    margin: float | None = None,
    level: float = 0.9,
) -> CpaBudget:
    """The largest budgets inside the training range that keep budget ÷ purchases at or under
    the limit (see :func:`cost_limit`): on predicted purchases, and on the range's lower end.

    Purchases grow slower than the budget, so past some budget each purchase costs more.
    """
    limit, basis = cost_limit(max_cost_per_purchase, average_order_value, margin)

    def keeps(column: str) -> Condition:
        return lambda f: (f[column].to_numpy() > 0) & (f["budget"].to_numpy() <= limit * f[column])

    answers, (low, high), calls, coarse = _search(
        predictor, plan, level, (keeps("prediction"), keeps("lower")), largest=True
    )
    out = []
    for (status, row), column in zip(answers, ("prediction", "lower"), strict=True):
        what = "predicted" if column == "prediction" else "at the lower end of the range"
        if status == OUT_OF_REACH:
            cost = coarse["budget"] / coarse[column].where(coarse[column] > 0)
            best = coarse.loc[cost.idxmin()] if cost.notna().any() else coarse.iloc[-1]
            lowest = "none" if cost.isna().all() else fmt_money(cost.min())
            message = (
                f"No budget inside the training data's budgets ({fmt_money(low)} to "
                f"{fmt_money(high)}) keeps the cost per purchase ({what}) at or under "
                f"{fmt_money(limit)}; the lowest it gets is {lowest}, at a budget of "
                f"{fmt_money(best['budget'])}."
            )
            row = best
        else:
            cost = row["budget"] / row[column]
            message = (
                f"A budget of up to {fmt_money(row['budget'])} keeps the cost per purchase "
                f"({what}) at or under {fmt_money(limit)}: {fmt_money(cost)} with "
                f"{round(row['prediction']):,} purchases predicted, {_range(row, level)}."
            )
            if status == RANGE_EDGE:
                message += " That is the largest budget in the training data; the model has not "
                message += "seen larger ones."
        out.append(_answer(status, row, message, status != OUT_OF_REACH))
    return CpaBudget(limit, basis, level, (low, high), out[0], out[1], calls)
