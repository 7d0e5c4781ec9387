"""The exact optimum for the served Ridge model.

The model is linear on the log scale: ``log1p(purchases) = b + sum_j w_j * z_j(x_j)``, where
each ``z_j`` depends on one input only (its ``log1p`` for budget, duration, ads and interests,
then standardized). So a plan's score is a sum of one term per input, and the parts of the plan
can be chosen one at a time: start month and duration together (the end month depends on both),
the interests on their own, and, for each number of ads, each mix on its own by enumerating
every whole split of the ads inside its bounds. The budget is chosen last, by the goal: the
largest allowed (most purchases), the least that reaches the purchases wanted, or the largest
whose cost per purchase stays under the limit. Each term is computed by the model's own
transform, so the scores are the model's, not a copy of its arithmetic.

Expected purchases grow with the score, so for the goals about expected purchases this is the
optimum over the whole space. The lower end of the range depends on more than the score, so the
careful goal uses the search (it starts from this optimum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS, end_months
from predictor.planning.explain import LinearTerms
from predictor.planning.optimize_goals import Goal, Objective
from predictor.planning.optimize_space import (
    FIELD_COLUMN,
    GROUPS,
    INDEX,
    MIX_GROUPS,
    Space,
    features_of,
)
from predictor.planning.target_budget import whole_grid


@dataclass(frozen=True)
class ExactAnswer:
    """The optimal row of plan values and its score (``log1p`` of expected purchases)."""

    row: np.ndarray
    score: float
    reached: bool


class Terms:
    """Each input's term ``w_j * z_j`` of the served model, by the model's own transform."""

    def __init__(self, terms: LinearTerms, base: np.ndarray) -> None:
        self.terms = terms
        self.base = base  # a valid feature row the tables vary one column of
        self.position = {c: terms.columns.index(c) for c in FEATURE_COLUMNS}
        self.tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def tabulate(self, values: dict[str, np.ndarray]) -> None:
        """Compute the terms of each column at each of its ``values`` once, for lookups."""
        keys = {c: np.unique(np.asarray(v, dtype=float)) for c, v in values.items()}
        for column, effect in self.effects(keys).items():
            self.tables[column] = (keys[column], effect)

    def effects(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The term of each column at each of its ``values``, in one transform: each column's
        term depends on that column alone, so the columns share the rows."""
        values = {c: np.asarray(v, dtype=float).reshape(-1) for c, v in values.items()}
        size = max((len(v) for v in values.values()), default=0)
        rows = np.tile(self.base, (max(size, 1), 1))
        for column, v in values.items():
            rows[: len(v), FEATURE_COLUMNS.index(column)] = v
        z = self.terms.transform(pd.DataFrame(rows, columns=FEATURE_COLUMNS))
        out = {}
        for column, v in values.items():
            j = self.position[column]
            out[column] = self.terms.weights[j] * z[: len(v), j]
        return out

    def effect(self, column: str, values: np.ndarray) -> np.ndarray:
        """The term of ``column`` at each of ``values`` (the other inputs do not matter)."""
        values = np.asarray(values, dtype=float).reshape(-1)
        if column in self.tables:
            keys, effect = self.tables[column]
            at = np.clip(np.searchsorted(keys, values), 0, len(keys) - 1)
            if (keys[at] == values).all():
                return effect[at]
        return self.effects({column: values})[column]

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """The model's log-scale prediction of each row: intercept plus every term."""
        z = self.terms.transform(features[FEATURE_COLUMNS])
        return self.terms.intercept + z @ self.terms.weights


def _closest(scores: np.ndarray, distance: np.ndarray) -> int:
    """The best score; among equal scores, the one closest to the plan."""
    top = scores.max()
    tied = np.flatnonzero(scores >= top - 1e-12 * max(1.0, abs(top)))
    return int(tied[np.argmin(distance[tied])])


def _months_and_days(space: Space, terms: Terms) -> tuple[float, float, float]:
    """(start month, duration, term) of the best pair; the end month follows from both."""
    months, days = np.meshgrid(space.scalars["start_month"], space.scalars["duration_days"])
    months, days = months.ravel(), days.ravel()
    ends = end_months(months.astype(np.int64), days.astype(np.int64))
    score = (
        terms.effect("start_month", months)
        + terms.effect("duration_days", days)
        + terms.effect("end_month", ends)
    )
    plan = space.plan
    distance = (months != plan.start_month) + np.abs(days - plan.duration_days) / 1e4
    i = _closest(score, distance)
    return float(months[i]), float(days[i]), float(score[i])


def _mix_at(space: Space, terms: Terms, group: str, n: int) -> tuple[np.ndarray, float]:
    """The best counts of one mix at ``n`` ads (the plan's shares if the mix may not change)."""
    fields = GROUPS[group]
    if not space.free(group):
        counts = space.mix_counts(group, n)
        rows = counts[None, :]
    else:
        rows = space.box(group, n).compositions.astype(float)
    score = np.zeros(len(rows))
    for k, field in enumerate(fields):
        score += terms.effect(FIELD_COLUMN[field], rows[:, k])
    start = space.mix_counts(group, n) if n else np.zeros(len(fields))
    distance = np.abs(rows - start).sum(axis=1)
    i = _closest(score, distance)
    return rows[i], float(score[i])


def _ads_and_mixes(space: Space, terms: Terms) -> tuple[float, dict[str, np.ndarray], float]:
    """(number of ads, counts per mix, term) of the best number of ads with its best mixes."""
    scores, choices = [], []
    ads_terms = terms.effect("num_ads", space.ads)
    for n, term in zip(space.ads.astype(int), ads_terms, strict=True):
        mixes = {g: _mix_at(space, terms, g, int(n)) for g in MIX_GROUPS}
        scores.append(term + sum(s for _, s in mixes.values()))
        choices.append((float(n), {g: c for g, (c, _) in mixes.items()}))
    distance = np.abs(space.ads - space.plan.total_ads)
    i = _closest(np.array(scores), distance)
    return (*choices[i], float(scores[i]))


def _budget(
    space: Space, terms: Terms, objective: Objective, rest: float
) -> tuple[float, float, bool]:
    """(budget, term, goal reached) for the rest of the plan scoring ``rest``."""
    lo, hi = space.budget
    plan_budget = float(np.clip(space.plan.total_budget, lo, hi))
    if lo == hi:
        term = float(terms.effect("total_budget", [lo])[0])
        return lo, term, _reached(objective, lo, rest + term)
    if objective.goal in (Goal.MOST_PURCHASES, Goal.CAREFUL):
        options = np.array([hi, lo, plan_budget])
        effect = terms.effect("total_budget", options)
        i = _closest(effect, np.abs(options - plan_budget))
        return float(options[i]), float(effect[i]), True
    grid = whole_grid(lo, hi)
    meets = _meets(objective, grid, rest + terms.effect("total_budget", grid))
    least = objective.goal is Goal.LEAST_BUDGET
    hits = np.flatnonzero(meets)
    if not hits.size:
        # Out of reach: the most purchases the budget range allows.
        i = len(grid) - 1 if least else int(np.argmin(_cost(grid, rest, terms)))
        return float(grid[i]), float(terms.effect("total_budget", grid[i : i + 1])[0]), False
    i = int(hits[0] if least else hits[-1])
    near = i - 1 if least else i + 1
    if 0 <= near < len(grid):
        fine = whole_grid(*sorted((grid[near], grid[i])))
        ok = np.flatnonzero(_meets(objective, fine, rest + terms.effect("total_budget", fine)))
        if ok.size:
            budget = float(fine[ok[0] if least else ok[-1]])
            return budget, float(terms.effect("total_budget", [budget])[0]), True
    return float(grid[i]), float(terms.effect("total_budget", grid[i : i + 1])[0]), True


def _meets(objective: Objective, budgets: np.ndarray, score: np.ndarray) -> np.ndarray:
    return objective.feasible(budgets, np.maximum(np.expm1(score), 0.0))


def _reached(objective: Objective, budget: float, score: float) -> bool:
    return bool(_meets(objective, np.array([budget]), np.array([score]))[0])


def _cost(grid: np.ndarray, rest: float, terms: Terms) -> np.ndarray:
    pred = np.maximum(np.expm1(rest + terms.effect("total_budget", grid)), 0.0)
    return np.divide(grid, pred, out=np.full(len(grid), np.inf), where=pred > 0)


def exact_optimum(space: Space, terms: LinearTerms, objective: Objective) -> ExactAnswer:
    """The best plan of ``space`` for ``objective`` under the Ridge model's ``terms``."""
    start = space.start
    base = features_of(start).to_numpy()[0]
    model = Terms(terms, base)
    counts = np.arange(0, max(space.ads.max(), space.plan.total_ads) + 1)
    model.tabulate(
        {
            "start_month": np.arange(1, 13),
            "end_month": np.arange(1, 13),
            "duration_days": space.scalars["duration_days"],
            "num_unique_interests": space.scalars["num_unique_interests"],
            "num_ads": space.ads,
            **{FIELD_COLUMN[f]: counts for g in MIX_GROUPS for f in GROUPS[g]},
        }
    )
    month, days, dm_term = _months_and_days(space, model)
    interests = space.scalars["num_unique_interests"]
    interest_terms = model.effect("num_unique_interests", interests)
    k = _closest(interest_terms, np.abs(interests - space.plan.num_unique_interests))
    n, mixes, ads_term = _ads_and_mixes(space, model)
    rest = terms.intercept + dm_term + float(interest_terms[k]) + ads_term
    budget, budget_term, reached = _budget(space, model, objective, rest)
    row = start.copy()
    row[INDEX["start_month"]], row[INDEX["duration_days"]] = month, days
    row[INDEX["num_unique_interests"]] = interests[k]
    row[INDEX["total_ads"]] = n
    row[INDEX["total_budget"]] = budget
    for group, counts in mixes.items():
        row[[INDEX[f] for f in GROUPS[group]]] = counts
    return ExactAnswer(row, rest + budget_term, reached)
