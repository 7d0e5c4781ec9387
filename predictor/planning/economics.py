"""Campaign economics from a purchase prediction: revenue, ROAS, CPA and profit, each with a range.

Every range comes from the purchase interval: the metric evaluated at the interval's lower and
upper purchase counts. Pure arithmetic, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from predictor.contract.formatting import MINUS, fmt_money, fmt_typed, money_range, signed
from predictor.contract.plan import MAX_BUDGET

# The largest amount of money (order value, cost per purchase) and number of purchases an
# economics input may hold: beyond them it is a typo or an attack, and every figure derived
# from it would run to dozens of digits.
MAX_AMOUNT = MAX_BUDGET
MAX_PURCHASES = 1e12
NOT_A_PREDICTION = (
    "prediction must be the prediction object returned by /predict (its third output)."
)


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


def as_float(value: int | float) -> float:
    """``value`` as a float; an int beyond any float is infinite (then refused as such)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _finite(field: str, value: object, *, low: float = 0.0, high: float = MAX_AMOUNT) -> float:
    """``value`` as a finite float in ``[low, high]``; :class:`EconomicsError` names ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EconomicsError(field, f"{field} must be a number; enter a number")
    number = as_float(value)
    if not (math.isfinite(number) or isinstance(value, int)):  # a huge int is just too large
        raise EconomicsError(field, f"{field} must be a finite number; enter a finite number")
    if number < low:
        raise EconomicsError(
            field, f"{field} is {fmt_typed(value)}; enter {fmt_typed(low)} or more"
        )
    if number > high:
        raise EconomicsError(
            field, f"{field} is {fmt_typed(value)}; enter at most {fmt_typed(high)}"
        )
    return number


def positive_amount(field: str, value: object, high: float = MAX_AMOUNT) -> float:
    """``value`` as a finite number above 0 and at most ``high`` (:class:`EconomicsError`
    naming ``field`` otherwise): an amount of money, a ratio or a number of purchases."""
    number = _finite(field, value, high=high)
    if number <= 0:
        raise EconomicsError(field, f"{field} is {fmt_typed(value)}; enter a number above 0")
    return number


def _count(field: str, value: object) -> int:
    number = _finite(field, value, high=MAX_PURCHASES)
    if not number.is_integer():
        raise EconomicsError(field, f"{field} is {fmt_typed(number)}; enter a whole number")
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


def economics_inputs(
    average_order_value: object = None, margin: object = None
) -> tuple[float | None, Margin | None]:
    """The order value and the margin as typed, checked (0 or empty: not given), whether or not
    there is an answer to apply them to; :class:`EconomicsError` names the bad one."""
    aov = _optional(average_order_value)
    share = None if _optional(margin) is None else parse_margin(margin)
    return (None if aov is None else _finite("average_order_value", aov)), share


def answer_economics(
    answer: Mapping[str, Any], average_order_value: object = None, margin: object = None
) -> dict[str, Any]:
    """Economics of an answer record (``purchases``, ``lower``, ``upper``, ``plan``) as plain data.

    ``margin`` is 0.4 or 40 for 40% (see :func:`parse_margin`); 0 or empty leaves profit out,
    as an empty or 0 ``average_order_value`` leaves out revenue, ROAS and profit. The record
    says how the margin was read (``margin_note``) and why ROAS is low when it is (``roas_note``).
    """
    econ, share = answer_economics_of(answer, average_order_value, margin)
    metrics = {
        m.name.lower(): {"value": m.value, "low": m.low, "high": m.high, "note": m.note}
        for m in econ.metrics()
    }
    notes = {
        "margin_note": share.note if share else None,
        "roas_note": low_roas_note(econ.roas.value) if econ.roas else None,
    }
    return {"budget": econ.budget, "purchases": econ.purchases, **metrics, **notes}


def answer_economics_of(
    answer: Mapping[str, Any], average_order_value: object = None, margin: object = None
) -> tuple[Economics, Margin | None]:
    """The :class:`Economics` of an answer record, and how the margin was read."""
    if not isinstance(answer, Mapping) or not {"purchases", "lower", "upper"} <= set(answer):
        raise EconomicsError("prediction", NOT_A_PREDICTION)
    aov, share = economics_inputs(average_order_value, margin)
    econ = campaign_economics(
        _answer_budget(answer),
        answer["purchases"],
        answer["lower"],
        answer["upper"],
        aov,
        share.fraction if share else None,
    )
    return econ, share


def _answer_budget(answer: Mapping[str, Any]) -> object:
    """The total budget of an answer record: from its plan, else from its features."""
    for part in ("plan", "features"):
        values = answer.get(part)
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise EconomicsError(
                "prediction",
                f"the prediction's {part} is {type(values).__name__}, not an object; "
                f"{NOT_A_PREDICTION}",
            )
        if "total_budget" in values:
            return values["total_budget"]
    raise EconomicsError(
        "prediction", f"the prediction's plan has no total_budget; {NOT_A_PREDICTION}"
    )


# -- margin input -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Margin:
    """A margin as a fraction (0.4 = 40%), and how the typed number was read."""

    fraction: float
    typed: float
    interpretation: str  # "fraction" (0 < m <= 1) or "percent" (1 < m <= 100)

    @property
    def note(self) -> str:
        """One sentence saying how the typed number was read."""
        how = "a fraction" if self.interpretation == "fraction" else "a percentage"
        return f"Margin {self.typed:g} read as {how}: {100 * self.fraction:.4g}% of each order."


def parse_margin(value: object) -> Margin:
    """Read a typed margin: 0.4 and 40 both mean 40%.

    ``0 < m <= 1`` is a fraction (so 1 means 100%), ``1 < m <= 100`` a percentage; anything
    else raises :class:`EconomicsError`. Type 0.5% as 0.005.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EconomicsError("margin", "margin must be a number; enter 0.4 or 40 for 40%")
    typed = as_float(value)
    if math.isfinite(typed) and 0 < typed <= 1:
        return Margin(typed, typed, "fraction")
    if math.isfinite(typed) and 1 < typed <= 100:
        return Margin(typed / 100, typed, "percent")
    raise EconomicsError(
        "margin",
        f"margin {fmt_typed(value)} is not a share of the order value; "
        "enter a number above 0 and up to 100, such as 0.4 or 40 for 40%",
    )


# -- display ------------------------------------------------------------------------------------

LOW_ROAS = 1.0


def format_ratio(value: float | None) -> str:
    """A ratio such as ROAS: ``0.4567`` -> ``"0.46×"``; ``None`` -> ``"—"``."""
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    return f"{value:,.2f}×"


def low_roas_note(roas_value: float | None, threshold: float = LOW_ROAS) -> str | None:
    """One sentence on why ROAS is low when it is below ``threshold``, else ``None``."""
    if roas_value is None or not math.isfinite(roas_value) or roas_value >= threshold:
        return None
    return (
        f"ROAS is {format_ratio(roas_value)}, below {format_ratio(threshold)}: the campaigns the "
        "model learned from brought few purchases for their spend (purchases are sparse in the "
        "dataset), so predicted revenue rarely covers the budget."
    )


def _metric_format(metric: Metric) -> Callable[[float | None], str]:
    return format_ratio if metric.name == "ROAS" else fmt_money


def metric_value_text(metric: Metric) -> str:
    """A metric's expected value as the page shows it: ``"2.76×"``, ``"1,250"``; ``"—"`` when
    undefined (the metric's note says why)."""
    return "—" if metric.value is None else _metric_format(metric)(metric.value)


def metric_range_text(metric: Metric) -> str:
    """A metric's range as the page shows it: ``"−49,472 to −48,344"``, ``"1.50× to 3.90×"``,
    ``"100 or more"``, or ``"no range"``; money ends in one format."""
    fmt = _metric_format(metric)
    if metric.low is None and metric.high is None:
        return "no range"
    if metric.high is not None and math.isinf(metric.high):
        return f"{fmt(metric.low)} or more"
    if metric.name == "ROAS":
        return f"{fmt(metric.low)} to {fmt(metric.high)}"
    return money_range(metric.low, metric.high)


def metric_diff_text(metric: Metric, base: Metric | None) -> str | None:
    """``metric``'s value against ``base``'s: ``"+0.40×"``, ``"−1,200"``; ``None`` when either
    is undefined."""
    if base is None or metric.value is None or base.value is None:
        return None
    diff = metric.value - base.value
    if metric.name == "ROAS":
        return "±0.00×" if round(diff, 2) == 0 else f"{diff:+,.2f}×".replace("-", MINUS)
    return signed(diff, money=True)


SCENARIO_METRICS: tuple[tuple[str, str, str], ...] = (
    # (Economics attribute, row label, CSV column prefix)
    ("roas", "ROAS", "roas"),
    ("cpa", "Cost per purchase", "cost_per_purchase"),
    ("profit", "Profit", "profit"),
)


def scenario_rows(econ: Economics, base: Economics | None = None) -> dict[str, str]:
    """Display rows for the scenario comparison: ROAS, cost per purchase and profit, each as
    ``"value (difference from base) · low to high"``; metrics that need a missing input are
    left out, and the difference where ``base`` is not given, is ``econ`` or lacks the metric."""
    rows = {}
    for attribute, label, _ in SCENARIO_METRICS:
        metric = getattr(econ, attribute)
        if metric is None:
            continue
        text = metric_value_text(metric)
        if base is not None and base is not econ:
            diff = metric_diff_text(metric, getattr(base, attribute))
            text += f" ({diff})" if diff else ""
        rows[label] = f"{text} · {metric_range_text(metric)}"
    return rows


def scenario_columns(econ: Economics) -> dict[str, float | None]:
    """Numbers for a scenario CSV: ``roas``, ``roas_low``, ``roas_high``, likewise
    ``cost_per_purchase_*`` and ``profit_*``; ``None`` where undefined or not computed."""
    columns: dict[str, float | None] = {}
    for attribute, _, prefix in SCENARIO_METRICS:
        metric = getattr(econ, attribute)
        for suffix, part in (("", "value"), ("_low", "low"), ("_high", "high")):
            columns[prefix + suffix] = None if metric is None else getattr(metric, part)
    return columns
