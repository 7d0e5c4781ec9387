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

RANDOM_FIRST = 1500  # random plans in the first round
RANDOM_LATER = 200  # and in each later round, to keep looking elsewhere
TOP = 6  # plans whose neighbours each later round scores
FULL_SPLITS = 2  # of them, the ones whose mixes are split every allowed way
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
        steps = (0.97, 0.99, 0.995, 0.999, 1.001, 1.005, 1.01, 1.03) if fine else (0.9, 1.1)
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

    def _splits(self, row: np.ndarray, group: str, n: int, full: bool) -> np.ndarray:
        cols = [INDEX[f] for f in GROUPS[group]]
        splits = self.space.box(group, n).compositions
        if not full:
            splits = splits[np.abs(splits - row[cols]).sum(axis=1) <= 2]
        out = np.tile(row, (len(splits), 1))
        out[:, cols] = splits
        return out


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
    first.append(moves.random(RANDOM_FIRST))
    candidates = np.vstack(first)
    inside = space.contains(candidates)
    rows = np.vstack([start[None, :], _fresh(candidates[inside], {start.tobytes()})])
    scored = Scored(rows, score_rows(score, rows), 1)
    objective = make(float(scored.frame["prediction"].iloc[0]))
    seen = {r.tobytes() for r in rows}
    best = _best(scored, space, objective)
    for _ in range(rounds - 1):
        order = ranked(scored, objective, start, space.contains(scored.rows))
        parts = [
            moves.neighbours(scored.rows[i], full=k < FULL_SPLITS, fine=True)
            for k, i in enumerate(order[:TOP])
        ]
        if objective.goal in (Goal.LEAST_BUDGET, Goal.WITHIN_COST):
            parts += [_budget_line(space, scored, objective, i) for i in order[:TOP]]
        parts.append(moves.random(RANDOM_LATER))
        candidates = np.vstack(parts)
        fresh = _fresh(candidates[space.contains(candidates)], seen)
        if not len(fresh):
            break
        scored.add(fresh, score_rows(score, fresh))
        seen.update(r.tobytes() for r in fresh)
        new_best = _best(scored, space, objective)
        if new_best == best:
            break
        best = new_best
    return scored, best, objective


def _best(scored: Scored, space: Space, objective: Objective) -> int:
    order = ranked(scored, objective, space.start, space.contains(scored.rows))
    return int(order[0]) if len(order) else 0


def _budget_line(space: Space, scored: Scored, objective: Objective, i: int) -> np.ndarray:
    """The plan of row ``i`` at every whole budget between the nearest scored budgets on either
    side of where its goal condition changes (at most 64 of them)."""
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
    if objective.goal is Goal.LEAST_BUDGET:
        b = budgets[ok].min() if ok.any() else hi
        below = budgets[(~ok) & (budgets < b)]
        a = below.max() if below.size else lo
    else:
        a = budgets[ok].max() if ok.any() else lo
        above = budgets[(~ok) & (budgets > a)]
        b = above.min() if above.size else hi
    values = np.unique(np.clip(np.rint(np.linspace(a, b, 64)), lo, hi))
    return _with(row, INDEX["total_budget"], values)
