"""Campaign economics from a purchase prediction: revenue, ROAS, CPA and profit, each with a range.

Every range comes from the purchase interval: the metric evaluated at the interval's lower and
upper purchase counts. Pure arithmetic, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class EconomicsError(ValueError):
    """An economics input is invalid; ``field`` names it and the message says what to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Metric:
    """A metric's expected value and range; ``None`` where undefined, ``math.inf`` if unbounded.

    ``note`` explains an undefined or unbounded value in words.
    """

    name: str
    value: float | None
    low: float | None
    high: float | None
    note: str = ""


@dataclass(frozen=True)
class Economics:
    """Revenue, ROAS, CPA and profit for one prediction. Metrics that need an input the user
    did not give (average order value, margin) are ``None``."""

    budget: float
    purchases: int
    lower: int
    upper: int
    revenue: Metric | None
    roas: Metric | None
    cpa: Metric
    profit: Metric | None

    def metrics(self) -> tuple[Metric, ...]:
        """The metrics that could be computed, in display order."""
        return tuple(m for m in (self.revenue, self.roas, self.cpa, self.profit) if m is not None)


def _finite(field: str, value: object, *, low: float = 0.0, high: float = math.inf) -> float:
    """``value`` as a finite float in ``[low, high]``; :class:`EconomicsError` names ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EconomicsError(field, f"{field} must be a number; enter a number")
    number = float(value)
    if not math.isfinite(number):
        raise EconomicsError(field, f"{field} must be a finite number; enter a finite number")
    if number < low or number > high:
        bound = f"between {low:g} and {high:g}" if math.isfinite(high) else f"{low:g} or more"
        raise EconomicsError(field, f"{field} is {number:g}; enter {bound}")
    return number


def _count(field: str, value: object) -> int:
    number = _finite(field, value)
    if not number.is_integer():
        raise EconomicsError(field, f"{field} is {number:g}; enter a whole number")
    return int(number)


def revenue(purchases: float, average_order_value: float) -> float:
    """Expected revenue: purchases × average order value."""
    return purchases * average_order_value


def roas(revenue_value: float, budget: float) -> float | None:
    """Return on ad spend: revenue ÷ budget; ``None`` when the budget is 0."""
    if budget == 0:
        return None
    return revenue_value / budget


def cpa(budget: float, purchases: float) -> float | None:
    """Cost per acquisition: budget ÷ purchases; ``None`` when there are no purchases."""
    if purchases == 0:
        return None
    return budget / purchases


def profit(purchases: float, average_order_value: float, margin: float, budget: float) -> float:
    """Profit: purchases × average order value × margin − budget.

    ``margin`` is the share of each order's value kept after the cost of goods (0 to 1).
    """
    return purchases * average_order_value * margin - budget


def _cpa_metric(budget: float, purchases: int, lower: int, upper: int) -> Metric:
    if purchases == 0:
        # The best case of the range still gives a lower bound when the range reaches above 0.
        low = cpa(budget, upper)
        return Metric(
            "CPA",
            None,
            low,
            None if low is None else math.inf,
            "CPA is undefined: the prediction is 0 purchases, so there is no cost per purchase.",
        )
    if budget == 0:
        return Metric("CPA", 0.0, 0.0, 0.0)
    # CPA falls as purchases rise, so the upper purchase bound gives the low CPA.
    high = cpa(budget, lower)
    if high is None:
        return Metric(
            "CPA",
            cpa(budget, purchases),
            cpa(budget, upper),
            math.inf,
            "The range includes 0 purchases, so CPA has no upper bound.",
        )
    return Metric("CPA", cpa(budget, purchases), cpa(budget, upper), high)


def campaign_economics(
    budget: float,
    purchases: int,
    lower: int,
    upper: int,
    average_order_value: float | None = None,
    margin: float | None = None,
) -> Economics:
    """Revenue, ROAS, CPA and profit of a campaign with ``budget`` and the purchase prediction
    ``purchases`` in ``[lower, upper]``.

    Revenue and ROAS need ``average_order_value``; profit needs it and ``margin`` (0 to 1).
    Raises :class:`EconomicsError` for invalid input.
    """
    budget = _finite("budget", budget)
    purchases = _count("purchases", purchases)
    lower = _count("lower", lower)
    upper = _count("upper", upper)
    if not lower <= purchases <= upper:
        raise EconomicsError(
            "lower",
            f"the range {lower}–{upper} does not contain {purchases} purchases; "
            "pass the lower and upper bounds of the same prediction",
        )
    cpa_metric = _cpa_metric(budget, purchases, lower, upper)
    if average_order_value is None:
        return Economics(budget, purchases, lower, upper, None, None, cpa_metric, None)
    aov = _finite("average_order_value", average_order_value)

    rev = Metric("Revenue", revenue(purchases, aov), revenue(lower, aov), revenue(upper, aov))
    if budget == 0:
        roas_metric = Metric("ROAS", None, None, None, "ROAS is undefined with a budget of 0.")
    else:
        roas_metric = Metric(
            "ROAS", roas(rev.value, budget), roas(rev.low, budget), roas(rev.high, budget)
        )
    profit_metric = None
    if margin is not None:
        m = _finite("margin", margin, high=1.0)
        profit_metric = Metric(
            "Profit",
            profit(purchases, aov, m, budget),
            profit(lower, aov, m, budget),
            profit(upper, aov, m, budget),
        )
    return Economics(budget, purchases, lower, upper, rev, roas_metric, cpa_metric, profit_metric)


def _optional(value: object) -> object | None:
    # The page's number boxes cannot be empty, so 0 means "not given" there.
    return None if value is None or value == "" or value == 0 else value


def answer_economics(
    answer: Mapping[str, Any], average_order_value: object = None, margin_percent: object = None
) -> dict[str, Any]:
    """Economics of an answer record (``purchases``, ``lower``, ``upper``, ``plan``) as plain data.

    ``margin_percent`` is a percentage from 0 to 100; 0 or empty leaves profit out, as an empty
    or 0 ``average_order_value`` leaves out revenue, ROAS and profit.
    """
    if not isinstance(answer, Mapping) or not {"purchases", "lower", "upper"} <= set(answer):
        raise EconomicsError(
            "prediction",
            "prediction must be the prediction object returned by /predict (its third output).",
        )
    margin = _optional(margin_percent)
    if margin is not None:
        if (
            isinstance(margin, bool)
            or not isinstance(margin, int | float)
            or not 0 <= margin <= 100
        ):
            raise EconomicsError(
                "margin", f"Margin {margin!r} is not a percentage; enter a number from 0 to 100."
            )
        margin = margin / 100
    plan = answer.get("plan") or {}
    budget = plan.get("total_budget", (answer.get("features") or {}).get("total_budget"))
    econ = campaign_economics(
        budget,
        answer["purchases"],
        answer["lower"],
        answer["upper"],
        _optional(average_order_value),
        margin,
    )
    metrics = {
        m.name.lower(): {"value": m.value, "low": m.low, "high": m.high, "note": m.note}
        for m in econ.metrics()
    }
    return {"budget": econ.budget, "purchases": econ.purchases, **metrics}
