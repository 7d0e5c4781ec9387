"""A batched search of the plan space: many candidate plans per model call, a few calls per answer.

Round 1 scores the start plan, any seed plans (the exact optimum, when there is one), a sweep of
every field that may change (each mix split every allowed way) and a random sample of the space.
Each later round scores the neighbours of the best plans so far (one ad moved between two
categories, one ad more or fewer, budget, duration, month and interests stepped) and a finer
sweep around the best. Every round is one ``predict_frame`` call, so one endpoint request; the
search stops after ``rounds`` calls or when a round finds nothing better.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictor.planning.optimize_goals import Goal, Objective
from predictor.planning.optimize_space import GROUPS, INDEX, MIX_GROUPS, SCALARS, Space, features_of


@dataclass(frozen=True)
class Effort:
    """How wide each round looks: random plans in the first round and in each later one, the
    plans whose neighbours a later round scores, how many of those get every split of every mix,
    and how many get the pairs of fields moved together."""

    random_first: int = 1500
    random_later: int = 200
    top: int = 6
    full: int = 2
    pairs: int = 0
    retargeted: int = 300
    polished: int = 12  # plans whose budget the last round settles (least budget, within cost)
    line: int = 64  # budgets on each of their lines


# A search with no exact optimum to start from (the nonlinear model, an endpoint serving another
# model) looks wider; one started from the exact optimum (the Ridge model's careful plan) less.
FULL = Effort(
    random_first=4000,
    random_later=500,
    top=12,
    full=3,
    pairs=3,
    retargeted=800,
    polished=30,
    line=96,
)
LIGHT = Effort()
MAX_COMBOS = 64  # ways to add or remove one ad across the mixes, at most

Scorer = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass
class Scored:
    """Every plan scored so far: its row of plan values and the model's answer."""

    rows: np.ndarray
    frame: pd.DataFrame
    calls: int = 0

    def add(self, rows: np.ndarray, frame: pd.DataFrame) -> None:
        """Append a round's plans and answers."""
        self.rows = np.vstack([self.rows, rows])
        self.frame = pd.concat([self.frame, frame.reset_index(drop=True)], ignore_index=True)
        self.calls += 1


def score_rows(score: Scorer, rows: np.ndarray) -> pd.DataFrame:
    """The model's answer (prediction, lower, upper, extrapolated, ...) for rows of plan values."""
    return score(features_of(rows)).reset_index(drop=True)


def ranked(scored: Scored, objective: Objective, start: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Indices of the scored plans inside the space (``ok``), best first."""
    idx = np.flatnonzero(ok)
    frame = scored.frame.iloc[idx]
    changes = (scored.rows[idx] != start).sum(axis=1)
    order = objective.order(
        scored.rows[idx, INDEX["total_budget"]],
        frame["prediction"].to_numpy(),
        frame["lower"].to_numpy(),
        changes,
    )
    return idx[order]


class Moves:
    """Candidate plans inside ``space``: random ones, sweeps and neighbours of a plan."""

    def __init__(self, space: Space, rng: np.random.Generator) -> None:
        self.space = space
        self.rng = rng

    def random(self, m: int) -> np.ndarray:
        """``m`` plans drawn at random from the space (mixes uniformly among their splits)."""
        space, rng = self.space, self.rng
        rows = np.tile(space.start, (m, 1))
        lo, hi = space.budget
        budget = np.exp(rng.uniform(np.log(max(lo, 1.0)), np.log(max(hi, 1.0)), m))
        rows[:, INDEX["total_budget"]] = np.clip(np.rint(budget), lo, hi) if hi > lo else lo
        for name in SCALARS:
            rows[:, INDEX[name]] = rng.choice(space.scalars[name], m)
        n = rng.choice(space.ads, m)
        rows[:, INDEX["total_ads"]] = n
        for value in np.unique(n):
            at = np.flatnonzero(n == value)
            for group in MIX_GROUPS:
                cols = [INDEX[f] for f in GROUPS[group]]
                if space.free(group):
                    splits = space.box(group, int(value)).compositions
                    rows[np.ix_(at, cols)] = splits[rng.integers(len(splits), size=len(at))]
                else:
                    rows[np.ix_(at, cols)] = space.mix_counts(group, int(value))
        return rows

    def _budgets(self, budget: float, fine: bool) -> np.ndarray:
        lo, hi = self.space.budget
        if hi <= lo:
            return np.array([lo])
        steps = (0.9, 0.95, 0.97, 0.99, 0.995, 0.999, 1.001, 1.005, 1.01, 1.03, 1.05, 1.1)
        steps = steps if fine else (0.9, 1.1)
        values = [lo, hi, *np.geomspace(max(lo, 1.0), hi, 24), *(budget * s for s in steps)]
        return np.unique(np.clip(np.rint(values), lo, hi))

    def _scalar(self, name: str, value: float) -> np.ndarray:
        values = self.space.scalars[name]
        if len(values) <= 24:
            return values
        spread = values[np.linspace(0, len(values) - 1, 24).round().astype(int)]
        near = value + np.array([-10, -3, -1, 1, 3, 10])
        return np.unique(np.concatenate([spread, near[np.isin(near, values)]]))

    def _ads_rows(self, row: np.ndarray, n: int, options: int) -> np.ndarray:
        """``row`` at ``n`` ads; each changeable mix takes its ``options`` closest splits."""
        space = self.space
        n_now = int(row[INDEX["total_ads"]])
        choices = []
        for group in MIX_GROUPS:
            cols = [INDEX[f] for f in GROUPS[group]]
            if not space.free(group):
                choices.append([(cols, space.mix_counts(group, n))])
                continue
            splits = space.box(group, n).compositions
            now = row[cols]
            target = now * n / n_now if n_now else np.full(len(cols), n / len(cols))
            distance = np.abs(splits - target).sum(axis=1)
            best = np.argsort(distance, kind="stable")[:options]
            choices.append([(cols, splits[i]) for i in best])
        combos = list(itertools.product(*choices))
        if len(combos) > MAX_COMBOS:
            pick = self.rng.choice(len(combos), MAX_COMBOS, replace=False)
            combos = [combos[i] for i in sorted(pick)]
        out = np.tile(row, (len(combos), 1))
        out[:, INDEX["total_ads"]] = n
        for k, combo in enumerate(combos):
            for cols, counts in combo:
                out[k, cols] = counts
        return out

    def neighbours(self, row: np.ndarray, full: bool, fine: bool) -> np.ndarray:
        """Plans one step from ``row``: every field that may change moved on its own (each mix
        split every allowed way when ``full``, else one ad moved between two categories)."""
        space = self.space
        out = [row[None, :]]
        if space.free("budget"):
            budgets = self._budgets(row[INDEX["total_budget"]], fine)
            out.append(_with(row, INDEX["total_budget"], budgets))
        for name in SCALARS:
            out.append(_with(row, INDEX[name], self._scalar(name, row[INDEX[name]])))
        n = int(row[INDEX["total_ads"]])
        for other in space.ads.astype(int):
            # Every number of ads for the best plans, the nearest ones for the others.
            if other != n and (full or abs(other - n) <= 2):
                out.append(self._ads_rows(row, int(other), 2 if abs(other - n) == 1 else 1))
        for group in MIX_GROUPS:
            if space.free(group):
                out.append(self._splits(row, group, n, full))
        return np.vstack(out)

    def pairs(self, row: np.ndarray) -> np.ndarray:
        """Plans two steps from ``row``: every pair of the number of ads, duration, start month
        and interests moved together over a coarse grid (a tree ensemble may reward a longer
        campaign only with more ads, which one field at a time never sees)."""
        space = self.space
        names = [n for n in SCALARS if len(space.scalars[n]) > 1]
        axes = {n: _coarse(space.scalars[n], row[INDEX[n]]) for n in names}
        out = []
        if space.free("ads"):
            now = int(row[INDEX["total_ads"]])
            for n in space.ads.astype(int):
                if n != now:
                    moved = self._ads_rows(row, int(n), 1)[0]
                    out += [_with(moved, INDEX[name], axes[name]) for name in names]
        for first, second in itertools.combinations(names, 2):
            grid = np.array(list(itertools.product(axes[first], axes[second])))
            block = np.tile(row, (len(grid), 1))
            block[:, INDEX[first]], block[:, INDEX[second]] = grid[:, 0], grid[:, 1]
            out.append(block)
        return np.vstack(out) if out else row[None, :]

    def _splits(self, row: np.ndarray, group: str, n: int, full: bool) -> np.ndarray:
        cols = [INDEX[f] for f in GROUPS[group]]
        splits = self.space.box(group, n).compositions
        if not full:
            splits = splits[np.abs(splits - row[cols]).sum(axis=1) <= 2]
        out = np.tile(row, (len(splits), 1))
        out[:, cols] = splits
        return out


def _coarse(values: np.ndarray, value: float, points: int = 10) -> np.ndarray:
    """At most ``points`` allowed values spread over the range, and ``value`` itself."""
    if len(values) <= points:
        return values
    spread = values[np.linspace(0, len(values) - 1, points).round().astype(int)]
    return np.unique(np.append(spread, value))


def _with(row: np.ndarray, column: int, values: np.ndarray) -> np.ndarray:
    out = np.tile(row, (len(values), 1))
    out[:, column] = values
    return out


def _fresh(rows: np.ndarray, seen: set[bytes]) -> np.ndarray:
    """``rows`` without duplicates and without rows already scored."""
    rows = np.unique(rows, axis=0)
    keep = [i for i, r in enumerate(rows) if r.tobytes() not in seen]
    return rows[keep]


def search(
    score: Scorer,
    space: Space,
    make: Callable[[float], Objective],
    rounds: int,
    seeds: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    effort: Effort = FULL,
) -> tuple[Scored, int, Objective]:
    """Search ``space`` in at most ``rounds`` model calls; return every scored plan, the index
    of the best and the objective (``make`` builds it from the start plan's expected purchases,
    which the first call scores: the start plan is row 0, scored as it is)."""
    rng = rng or np.random.default_rng(0)
    moves = Moves(space, rng)
    start = space.start
    base = space.project(start)
    first = [base[None, :], moves.neighbours(base, full=True, fine=False)]
    if seeds is not None and len(seeds):
        first += [seeds] + [moves.neighbours(s, full=False, fine=True) for s in seeds[:2]]
    first.append(moves.random(effort.random_first))
    candidates = np.vstack(first)
    inside = space.contains(candidates)
    rows = np.vstack([start[None, :], _fresh(candidates[inside], {start.tobytes()})])
    scored = Scored(rows, score_rows(score, rows), 1)
    objective = make(float(scored.frame["prediction"].iloc[0]))
    seen = {r.tobytes() for r in rows}
    best = _best(scored, space, objective)
    by_budget = objective.goal in BUDGET_GOALS and space.free("budget")
    beta = _elasticity(scored, base) if by_budget else None
    explored: set[int] = set()
    for left in range(rounds - 1, 0, -1):
        parts = []
        if by_budget and left == 1:
            parts += _polish(scored, objective, space, beta, effort)
        else:
            for k, (i, row) in enumerate(
                _promising(scored, objective, space, beta, explored, effort.top)
            ):
                parts.append(moves.neighbours(row, full=k < effort.full, fine=True))
                if k < effort.pairs:
                    parts.append(moves.pairs(row))
                if by_budget:
                    parts.append(_budget_line(space, scored, objective, i, beta))
            if by_budget:
                # Many more plans, each tried once more at the budget its goal needs.
                wide = _explore_order(scored, objective, space, beta)[: effort.retargeted]
                parts += [_retarget(scored, objective, space, i, beta)[None, :] for i in wide]
            parts.append(moves.random(effort.random_later))
        candidates = np.vstack(parts)
        fresh = _fresh(candidates[space.contains(candidates)], seen)
        if not len(fresh):
            break
        scored.add(fresh, score_rows(score, fresh))
        seen.update(r.tobytes() for r in fresh)
        best = _best(scored, space, objective)
    return scored, best, objective


BUDGET_GOALS = (Goal.LEAST_BUDGET, Goal.WITHIN_COST)
ELASTICITY = 0.6  # purchases ~ budget ** 0.6 when the start plan's budget sweep says nothing


def _elasticity(scored: Scored, base: np.ndarray) -> float:
    """How predicted purchases grow with the budget around the start plan: the slope of
    ``log(purchases + 1)`` on ``log(budget)`` along its budget sweep of the first round."""
    col = INDEX["total_budget"]
    same = (np.delete(scored.rows, col, axis=1) == np.delete(base, col)).all(axis=1)
    budgets = scored.rows[same, col]
    pred = scored.frame["prediction"].to_numpy()[same]
    if len(np.unique(budgets)) < 3:
        return ELASTICITY
    slope = np.polyfit(np.log(np.maximum(budgets, 1.0)), np.log(pred + 1.0), 1)[0]
    return float(np.clip(slope, 0.05, 0.95))


def _target_budget(
    objective: Objective, budget: np.ndarray, pred: np.ndarray, beta: float
) -> np.ndarray:
    """Each plan's budget where its goal's condition would just hold, if its purchases + 1 grew
    like budget ** beta: where it reaches the purchases (least budget), or where its cost per
    purchase reaches the limit (within cost)."""
    if objective.goal is Goal.LEAST_BUDGET:
        return budget * ((objective.target + 1.0) / (pred + 1.0)) ** (1.0 / beta)
    scale = objective.max_cost * (pred + 1.0) * np.maximum(budget, 1.0) ** -beta
    return scale ** (1.0 / (1.0 - beta))


def _explore_order(
    scored: Scored, objective: Objective, space: Space, beta: float | None
) -> np.ndarray:
    """The scored plans of the space whose neighbourhoods are most promising, best first: by
    the goal itself, or for the budget goals by each plan's budget where the goal just holds."""
    inside = space.contains(scored.rows)
    if beta is None:
        return ranked(scored, objective, space.start, inside)
    idx = np.flatnonzero(inside)
    budget = scored.rows[idx, INDEX["total_budget"]]
    pred = scored.frame["prediction"].to_numpy()[idx]
    target = np.clip(_target_budget(objective, budget, pred, beta), *space.budget)
    if objective.goal is Goal.LEAST_BUDGET:
        return idx[np.lexsort((-pred, target))]
    potential = (pred + 1.0) * (target / np.maximum(budget, 1.0)) ** beta
    return idx[np.argsort(-potential, kind="stable")]


def _promising(
    scored: Scored,
    objective: Objective,
    space: Space,
    beta: float | None,
    explored: set[int],
    top: int,
) -> list[tuple[int, np.ndarray]]:
    """The plans whose neighbourhoods the next round explores, as (index, row to start from).

    The best by the goal; for the budget goals, the best are also moved to the budget where
    their condition just holds (plans compete at the budget they need, not the one they were
    scored at), and the most promising by that budget join them (all of them for the least
    budget, half for the most purchases within a cost). Plans explored in an earlier round are
    passed over, so each round looks somewhere new; ``explored`` gains the ones chosen.
    """
    best = [
        i
        for i in ranked(scored, objective, space.start, space.contains(scored.rows))
        if i not in explored
    ]
    if beta is None:
        chosen = best[:top]
        explored.update(int(i) for i in chosen)
        return [(int(i), scored.rows[i]) for i in chosen]
    by_target = [i for i in _explore_order(scored, objective, space, beta) if i not in explored]
    share = top if objective.goal is Goal.LEAST_BUDGET else top // 2
    chosen = list(dict.fromkeys([*by_target[:share], *best[: top - share]]))
    explored.update(int(i) for i in chosen)
    out = [(int(i), _retarget(scored, objective, space, i, beta)) for i in chosen[:share]]
    out += [(int(i), scored.rows[i]) for i in chosen[share:]]
    return out


def _retarget(
    scored: Scored, objective: Objective, space: Space, i: int, beta: float | None
) -> np.ndarray:
    """Row ``i`` moved to the whole budget where its goal's condition would just hold, on the
    safe side: at half the elasticity (a tree ensemble's purchases are flat between steps), so
    that the move lands where the condition holds and a budget line can then come back."""
    row = scored.rows[i].copy()
    budget = row[INDEX["total_budget"]]
    pred = float(scored.frame["prediction"].iloc[i])
    slow = (beta or ELASTICITY) / 2
    target = _target_budget(objective, np.array([budget]), np.array([pred]), slow)
    row[INDEX["total_budget"]] = float(np.clip(np.rint(target[0]), *space.budget))
    return row


def _best(scored: Scored, space: Space, objective: Objective) -> int:
    order = ranked(scored, objective, space.start, space.contains(scored.rows))
    return int(order[0]) if len(order) else 0


def _polish(
    scored: Scored, objective: Objective, space: Space, beta: float | None, effort: Effort
) -> list[np.ndarray]:
    """The last round of a budget goal: the budget of the best plans so far settled, by the
    goal and by the budget they would need, on finer budget lines."""
    inside = space.contains(scored.rows)
    top = [
        *ranked(scored, objective, space.start, inside)[: effort.top],
        *_explore_order(scored, objective, space, beta)[: effort.polished],
    ]
    out = []
    for i in dict.fromkeys(top):
        out.append(_budget_line(space, scored, objective, i, beta, effort.line))
        out.append(_retarget(scored, objective, space, i, beta)[None, :])
    return out


def _budget_line(
    space: Space,
    scored: Scored,
    objective: Objective,
    i: int,
    beta: float | None,
    points: int = 64,
) -> np.ndarray:
    """The plan of row ``i`` at ``points`` whole budgets across where its goal's condition changes,
    between the nearest scored budgets on either side of it."""
    row = scored.rows[i]
    same = np.flatnonzero(
        (
            np.delete(scored.rows, INDEX["total_budget"], axis=1)
            == np.delete(row, INDEX["total_budget"])
        ).all(axis=1)
    )
    budgets = scored.rows[same, INDEX["total_budget"]]
    pred = scored.frame["prediction"].to_numpy()[same]
    ok = objective.feasible(budgets, pred)
    lo, hi = space.budget
    # Where no budget on the far side was scored, the line ends near the budget the goal needs
    # by the elasticity; a tree ensemble's purchases step with the budget, so the condition may
    # hold again a little beyond where it first fails: the line spans at least 12%.
    guess = _target_budget(objective, budgets, pred, beta or ELASTICITY)
    if objective.goal is Goal.LEAST_BUDGET:
        b = budgets[ok].min() if ok.any() else hi
        below = budgets[(~ok) & (budgets < b)]
        a = below.max() if below.size else guess.min() / 1.15
        a = min(a, b / 1.12)
    else:
        a = budgets[ok].max() if ok.any() else lo
        above = budgets[(~ok) & (budgets > a)]
        b = above.min() if above.size else guess.max() * 1.15
        b = max(b, a * 1.12)
    a, b = np.clip([a, b], lo, hi)
    values = np.unique(np.clip(np.rint(np.linspace(a, b, points)), lo, hi))
    return _with(row, INDEX["total_budget"], values)
