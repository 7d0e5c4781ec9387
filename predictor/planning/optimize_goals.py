"""The optimizer's four goals: what makes one scored plan better than another."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from predictor.contract.formatting import fmt_echo, fmt_money
from predictor.planning.economics import MAX_PURCHASES, EconomicsError, positive_amount
from predictor.planning.optimize_space import BoundsError


class Goal(StrEnum):
    """What the optimizer looks for."""

    MOST_PURCHASES = "most_purchases"  # the most expected purchases
    CAREFUL = "careful"  # the most purchases at the lower end of the range
    LEAST_BUDGET = "least_budget"  # the least budget that still brings a number of purchases
    WITHIN_COST = "within_cost"  # the most purchases with the cost per purchase under a limit


GOAL_LABELS: dict[Goal, str] = {
    Goal.MOST_PURCHASES: "Most expected purchases",
    Goal.CAREFUL: "Most purchases at the lower end of the range (the careful plan)",
    Goal.LEAST_BUDGET: "Least budget for the purchases",
    Goal.WITHIN_COST: "Most purchases within a cost per purchase (or ROAS)",
}
# What improving the goal means, for the sentences about bounds that decide the answer.
GOAL_GAINS: dict[Goal, str] = {
    Goal.MOST_PURCHASES: "bring more purchases",
    Goal.CAREFUL: "raise the lower end of the range",
    Goal.LEAST_BUDGET: "reach the purchases with less budget",
    Goal.WITHIN_COST: "bring more purchases within the cost limit",
}


def parse_goal(goal: object) -> Goal:
    """The goal named by ``goal`` (its value, like ``"careful"``, or the :class:`Goal` itself)."""
    if isinstance(goal, Goal):
        return goal
    key = str(goal or "").strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Goal(key)
    except ValueError:
        raise BoundsError(
            "goal",
            f"goal: {fmt_echo(goal)} is not a goal; choose one of {', '.join(g for g in Goal)}",
        ) from None


def check_goal_numbers(
    target_purchases: object = None,
    max_cost_per_purchase: object = None,
    min_roas: object = None,
    average_order_value: object = None,
) -> None:
    """Refuse a goal number that is given but not a finite number above 0 (or too large), even
    when the chosen goal does not use it: a wrong value is never silently ignored."""
    if target_purchases is not None:
        positive_amount("target_purchases", target_purchases, high=MAX_PURCHASES)
    for name, value in (
        ("max_cost_per_purchase", max_cost_per_purchase),
        ("min_roas", min_roas),
        ("average_order_value", average_order_value),
    ):
        if value is not None:
            positive_amount(name, value)


def cost_limit(
    max_cost_per_purchase: float | None,
    min_roas: float | None = None,
    average_order_value: float | None = None,
) -> tuple[float, str]:
    """The cost-per-purchase limit of the goal and its words: given as is, or from a minimum
    ROAS and the average order value (ROAS >= Y means cost per purchase <= order value / Y)."""
    if max_cost_per_purchase is not None:
        limit = positive_amount("max_cost_per_purchase", max_cost_per_purchase)
        return limit, f"cost per purchase at most {fmt_money(limit)}"
    if min_roas is None:
        raise EconomicsError(
            "max_cost_per_purchase",
            "give a maximum cost per purchase, or a minimum ROAS with an average order value",
        )
    roas = positive_amount("min_roas", min_roas)
    if average_order_value is None:
        raise EconomicsError(
            "average_order_value", "a minimum ROAS needs the average order value; enter it"
        )
    aov = positive_amount("average_order_value", average_order_value)
    limit = aov / roas
    return limit, (
        f"ROAS at least {roas:g} with an order value of {fmt_money(aov)}: cost per purchase at "
        f"most {fmt_money(limit)}"
    )


@dataclass(frozen=True)
class Objective:
    """A goal with its numbers: the purchases to reach (least budget) or the cost limit."""

    goal: Goal
    target: float | None = None
    max_cost: float | None = None

    def feasible(self, budget: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Which scored plans meet the goal's condition."""
        budget, pred = np.asarray(budget, dtype=float), np.asarray(pred, dtype=float)
        if self.goal is Goal.LEAST_BUDGET:
            return pred >= self.target - 1e-9
        if self.goal is Goal.WITHIN_COST:
            return (pred > 0) & (budget <= self.max_cost * pred * (1 + 1e-12))
        return np.ones(len(pred), dtype=bool)

    def quantity(self, budget: np.ndarray, pred: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """The goal's quantity: purchases, lower end, or budget (for the least budget)."""
        if self.goal is Goal.CAREFUL:
            return np.asarray(lower, dtype=float)
        if self.goal is Goal.LEAST_BUDGET:
            return np.asarray(budget, dtype=float)
        return np.asarray(pred, dtype=float)

    def order(
        self,
        budget: np.ndarray,
        pred: np.ndarray,
        lower: np.ndarray,
        changes: np.ndarray | None = None,
    ) -> np.ndarray:
        """Indices of the scored plans, best first: plans meeting the condition first, then by
        the goal's quantity, then by expected purchases, then by the smaller budget and fewer changes from the start."""
        budget, pred = np.asarray(budget, dtype=float), np.asarray(pred, dtype=float)
        lower = np.asarray(lower, dtype=float)
        ok = self.feasible(budget, pred)
        if self.goal is Goal.LEAST_BUDGET:
            primary = np.where(ok, -budget, pred - 1e15)
            secondary = pred
        elif self.goal is Goal.WITHIN_COST:
            cost = np.divide(budget, pred, out=np.full(len(pred), np.inf), where=pred > 0)
            primary = np.where(ok, pred, -cost - 1e15)
            secondary = -budget
        elif self.goal is Goal.CAREFUL:
            primary, secondary = lower, pred
        else:
            primary, secondary = pred, lower
        fewer = -(np.zeros(len(pred)) if changes is None else np.asarray(changes, dtype=float))
        # Equal answers: the smaller budget (money not spent for nothing), then fewer changes.
        return np.lexsort((fewer, -budget, secondary, primary, ok))[::-1]

    def better(self, a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
        """Whether scored plan ``a`` (budget, prediction, lower) beats ``b`` clearly."""
        order = self.order(np.array([a[0], b[0]]), np.array([a[1], b[1]]), np.array([a[2], b[2]]))
        if order[0] != 0:
            return False
        tol = 1e-9 * max(1.0, abs(b[1]))
        if self.goal is Goal.LEAST_BUDGET:
            return a[0] < b[0] - 1e-6 or (a[0] <= b[0] and a[1] > b[1] + tol)
        if self.goal is Goal.WITHIN_COST:
            return a[1] > b[1] + tol
        if self.goal is Goal.CAREFUL:
            return a[2] > b[2] or (a[2] == b[2] and a[1] > b[1] + tol)
        return a[1] > b[1] + tol
