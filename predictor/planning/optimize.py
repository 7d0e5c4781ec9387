"""Find the best plan: the plan optimizer behind the page, the ``/optimize`` API and the CLI.

>>> answer = optimize(predictor, plan, "most_purchases", ["platform", "format"],
...                   {"instagram_ads": {"max_share": 60}})  # doctest: +SKIP
>>> answer.best.plan, answer.gain, answer.limits  # doctest: +SKIP

Starting from ``plan``, only the groups in ``changeable`` move (see ``GROUPS``); every returned
plan meets every bound, keeps whole counts and mixes that add up to the number of ads, and stays
inside the training data's range wherever the bounds allow (``optimize_space``). The served Ridge
model is answered exactly for the goals about expected purchases (``optimize_exact``), then
checked by one model call; the careful goal, the nonlinear model and an endpoint serving another
model get the batched search (``optimize_search``). Either way an answer takes at most
:data:`MAX_CALLS` endpoint requests, ranges included, or :data:`MAX_LOCAL_CALLS` calls of the
local bundle (no network: the search looks longer).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from predictor.contract.notices import Notice, NoticeCode, code_of
from predictor.contract.plan import CampaignPlan, PlanError, extrapolation_warnings
from predictor.planning.explain import ExplainError, linear_terms
from predictor.planning.optimize_exact import Terms, exact_optimum
from predictor.planning.optimize_goals import (
    GOAL_LABELS,
    Goal,
    Objective,
    check_goal_numbers,
    cost_limit,
    parse_goal,
)
from predictor.planning.optimize_limits import (
    active_limits,
    deciding,
    limit_sentence,
    relaxed_rows,
)
from predictor.planning.optimize_search import FULL, LIGHT, Scored, score_rows, search
from predictor.planning.optimize_space import (
    INDEX,
    Space,
    build_space,
    features_of,
    parse_bounds,
    parse_changeable,
    plan_from_row,
)
from predictor.planning.optimize_text import change_lines, gain_text
from predictor.serving.bundle import BundleError

if TYPE_CHECKING:
    from predictor.serving.predictor import Predictor

MAX_CALLS = 5
# Model calls per answer when the local bundle answers: no network, so the search may look longer.
MAX_LOCAL_CALLS = 8
FOUND = "found"
ALREADY_BEST = "already_best"
OUT_OF_REACH = "out_of_reach"
EXACT = "exact"
SEARCH = "search"


@dataclass(frozen=True)
class ScoredPlan:
    """A plan with its expected purchases (unrounded), whole-number range and flags."""

    plan: CampaignPlan
    purchases: float
    lower: int
    upper: int
    extrapolated: bool
    unreliable: bool

    def record(self) -> dict[str, Any]:
        """Plain, JSON-ready form."""
        return {
            "plan": asdict(self.plan),
            "purchases": self.purchases,
            "lower": self.lower,
            "upper": self.upper,
            "extrapolated": self.extrapolated,
            "unreliable": self.unreliable,
        }


@dataclass(frozen=True)
class Optimized:
    """The optimizer's answer.

    ``status``: ``found``, ``already_best`` (the current plan is the best: said, not silent), or
    ``out_of_reach`` (no plan in the bounds meets the goal; ``best`` is then the closest, named
    as such in ``message``). ``limits`` holds one sentence per bound that decides the answer.
    """

    goal: Goal
    level: float
    status: str
    method: str
    message: str
    current: ScoredPlan
    best: ScoredPlan
    changes: tuple[str, ...]
    gain: str
    limits: tuple[str, ...]
    notices: tuple[str, ...]
    model_calls: int
    backend: str
    target: float | None = None
    max_cost_per_purchase: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form (the API's and the command line's answer)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("current", "best", "goal")}
        out.update(
            goal=str(self.goal),
            current=self.current.record(),
            best=self.best.record(),
            changes=list(self.changes),
            limits=list(self.limits),
            notices=[str(n) for n in self.notices],
        )
        return out


class _Counted:
    """``predictor.predict_frame`` at one level, counting the calls and keeping the notices."""

    def __init__(self, predictor: Predictor, level: float) -> None:
        self.predictor = predictor
        self.level = level
        self.calls = 0
        self.backend = ""
        self.notices: list[str] = []

    def __call__(self, features: pd.DataFrame) -> pd.DataFrame:
        self.calls += 1
        frame = self.predictor.predict_frame(features, self.level)
        self.backend = frame.attrs.get("backend", "")
        for notice in frame.attrs.get("notices", ()):
            if code_of(notice) is not NoticeCode.EXTRAPOLATION and notice not in self.notices:
                self.notices.append(notice)
        return frame


def _objective(
    goal: Goal,
    current: float,
    target: float | None,
    max_cost: float | None,
    min_roas: float | None,
    order_value: float | None,
) -> Objective:
    check_goal_numbers(target, max_cost, min_roas, order_value)
    if goal is Goal.LEAST_BUDGET:
        if target is None:
            return Objective(goal, target=max(current, 0.0))
        return Objective(goal, target=float(target))
    if goal is Goal.WITHIN_COST:
        limit, _ = cost_limit(max_cost, min_roas, order_value)
        return Objective(goal, max_cost=limit)
    return Objective(goal)


def _ridge_terms(predictor: Predictor) -> Any:
    """The served Ridge model's terms, or ``None`` for another model."""
    try:
        if predictor.is_tree_ensemble():  # not the Ridge: no need to load the model to know it
            return None
        return linear_terms(predictor.local_estimator())
    except (ExplainError, BundleError):
        return None


def _exact(
    space: Space, terms: Any, make: Any, score: _Counted
) -> tuple[Scored, int, Objective] | None:
    """The exact optimum checked by one model call, or ``None`` if the model that answered
    disagrees with the local Ridge model (an endpoint serving another model)."""
    model = Terms(terms, features_of(space.start).to_numpy()[0])
    local_current = float(np.expm1(model.score(features_of(space.start))[0]))
    local_current = max(local_current, 0.0) if space.plan.total_ads else 0.0
    objective = make(local_current)
    answer = exact_optimum(space, terms, objective)
    rows = np.vstack([space.start, answer.row])
    frame = score_rows(score, rows)
    # A plan with no ads is 0 without the model, as predict_frame answers it.
    local = np.where(rows[:, INDEX["total_ads"]] > 0, np.expm1(model.score(features_of(rows))), 0)
    if not np.allclose(frame["prediction"].to_numpy(), np.maximum(local, 0.0), rtol=1e-6):
        return None
    return Scored(rows, frame, 1), 1, objective


def _limits_of(
    space: Space,
    scored: Scored,
    best: int,
    objective: Objective,
    score: _Counted,
    calls: int,
    allowed: int = MAX_CALLS,
) -> tuple[str, ...]:
    """Sentences for the limits that decide the answer (one more model call, if any is active)."""
    row = scored.rows[best]
    limits = active_limits(space, row)
    relaxed = [relaxed_rows(space, row, limit) for limit in limits]
    sizes = [len(r) for r in relaxed]
    if not sum(sizes) or calls >= allowed:
        return ()
    frame = score_rows(score, np.vstack(relaxed))
    budgets = np.vstack(relaxed)[:, INDEX["total_budget"]]
    triples = np.column_stack([budgets, frame["prediction"], frame["lower"]])
    parts = np.split(triples, np.cumsum(sizes)[:-1])
    head = scored.frame.iloc[best]
    mine = (row[INDEX["total_budget"]], float(head["prediction"]), float(head["lower"]))
    return tuple(limit_sentence(lim, objective) for lim in deciding(objective, mine, limits, parts))


def _scored_plan(row: np.ndarray, answer: pd.Series) -> ScoredPlan:
    return ScoredPlan(
        plan=plan_from_row(row),
        purchases=float(answer["prediction"]),
        lower=int(answer["lower"]),
        upper=int(answer["upper"]),
        extrapolated=bool(answer["extrapolated"]),
        unreliable=bool(answer["unreliable"]),
    )


def optimize(
    predictor: Predictor,
    plan: CampaignPlan,
    goal: Goal | str = Goal.MOST_PURCHASES,
    changeable: Iterable[str] | str = (),
    bounds: Mapping[str, object] | None = None,
    level: float = 0.9,
    *,
    target_purchases: float | None = None,
    max_cost_per_purchase: float | None = None,
    min_roas: float | None = None,
    average_order_value: float | None = None,
    seed: int = 0,
    max_calls: int | None = None,
) -> Optimized:
    """The best plan for ``goal`` when the groups in ``changeable`` may change within ``bounds``.

    ``goal``: ``most_purchases``, ``careful`` (the most purchases at the lower end of the
    ``level`` range), ``least_budget`` (the least budget bringing ``target_purchases``, by default
    the current plan's expected purchases) or ``within_cost`` (the most purchases with the cost
    per purchase at most ``max_cost_per_purchase``, or ROAS at least ``min_roas`` with
    ``average_order_value``). ``bounds``: see :func:`parse_bounds`. ``max_calls`` caps the
    model calls (by default :data:`MAX_CALLS` on an endpoint, :data:`MAX_LOCAL_CALLS` locally).
    Raises :class:`PlanError` (or its :class:`BoundsError`) naming the field for bad input or
    contradictory bounds.
    """
    if not isinstance(plan, CampaignPlan):
        raise PlanError("plan", "plan must be a CampaignPlan")
    goal = parse_goal(goal)
    groups = parse_changeable(changeable)
    if goal is Goal.LEAST_BUDGET:
        groups |= {"budget"}
    space = build_space(plan, groups, parse_bounds(bounds), predictor.metadata.training_range)

    def make(current: float) -> Objective:
        return _objective(
            goal, current, target_purchases, max_cost_per_purchase, min_roas, average_order_value
        )

    make(1.0)  # the goal's inputs are checked before any model call
    score = _Counted(predictor, level)
    terms = _ridge_terms(predictor)
    found = None
    if terms is not None and goal is not Goal.CAREFUL:
        found = _exact(space, terms, make, score)
    method = EXACT if found is not None else SEARCH
    allowed = max_calls or (MAX_CALLS if predictor.uses_endpoint else MAX_LOCAL_CALLS)
    if found is None:
        seeds = None
        if terms is not None:
            seeds = exact_optimum(space, terms, Objective(Goal.MOST_PURCHASES)).row[None, :]
        effort = LIGHT if seeds is not None else FULL
        rng = np.random.default_rng(seed)
        rounds = allowed - score.calls - 1
        scored, best, objective = search(score, space, make, rounds, seeds, rng, effort)
    else:
        scored, best, objective = found
    limits = _limits_of(space, scored, best, objective, score, score.calls, allowed)
    return _answer(space, scored, best, objective, level, method, limits, score)


def _answer(
    space: Space,
    scored: Scored,
    best: int,
    objective: Objective,
    level: float,
    method: str,
    limits: tuple[str, ...],
    score: _Counted,
) -> Optimized:
    current = _scored_plan(scored.rows[0], scored.frame.iloc[0])
    top = _scored_plan(scored.rows[best], scored.frame.iloc[best])
    budget = top.plan.total_budget
    reached = bool(objective.feasible(np.array([budget]), np.array([top.purchases]))[0])
    same = bool((scored.rows[best] == scored.rows[0]).all())
    status = OUT_OF_REACH if not reached else ALREADY_BEST if same else FOUND
    notices = list(space.forced)
    if top.extrapolated and not space.forced:
        notices += extrapolation_warnings(top.plan.to_features(), space.training_range)
    notices += [*top.plan.warnings, *score.notices]
    return Optimized(
        goal=objective.goal,
        level=level,
        status=status,
        method=method,
        message=_message(status, objective, top, level),
        current=current,
        best=top,
        changes=change_lines(current.plan, top.plan),
        gain=gain_text(objective, level, current.record(), top.record()),
        limits=limits,
        notices=tuple(notices),
        model_calls=score.calls,
        backend=score.backend,
        target=objective.target,
        max_cost_per_purchase=objective.max_cost,
    )


def _message(status: str, objective: Objective, best: ScoredPlan, level: float) -> str:
    """The headline of the answer."""
    goal = GOAL_LABELS[objective.goal].lower()
    scored = (
        f"{round(best.purchases):,} expected purchases ({level:.0%} range "
        f"{best.lower:,}–{best.upper:,})"
    )
    if status == ALREADY_BEST:
        return f"Your current plan is already the best for {goal} within these bounds: {scored}."
    if status == FOUND:
        flag = (
            " It is extrapolated: outside the training data's range." if best.extrapolated else ""
        )
        return f"Best plan for {goal}: {scored}.{flag}"
    if objective.goal is Goal.LEAST_BUDGET:
        return (
            f"{objective.target:,.1f} expected purchases are out of reach within your bounds and "
            f"the training data's range: the closest plan brings {scored}."
        )
    cost = best.plan.total_budget / best.purchases if best.purchases > 0 else math.inf
    return (
        f"No plan within your bounds keeps the cost per purchase at or under "
        f"{objective.max_cost:,.2f}: the closest costs {cost:,.2f} per purchase, with {scored}."
    )


__all__ = [
    "ALREADY_BEST",
    "FOUND",
    "MAX_CALLS",
    "MAX_LOCAL_CALLS",
    "OUT_OF_REACH",
    "Goal",
    "Notice",
    "Optimized",
    "ScoredPlan",
    "optimize",
]
