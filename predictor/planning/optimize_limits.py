"""Which bounds decide the optimizer's answer, found by stepping past each one.

A limit is *active* when the answer sits on it: a bound the user set, or the edge of the training
data that the search does not go beyond. It *decides* the answer when the plan one step past it
(everything else the same) is better for the goal by the same model; each such limit gets one
plain sentence. The steps: budget ±5%, duration ±5 days, one interest, one month, one ad (the
mixes adjusted every allowed way), or one ad of a mix moved to or from another category.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from predictor.contract.plan import COLUMN_LABELS, MIX_FIELDS
from predictor.planning.optimize_goals import GOAL_GAINS, Objective
from predictor.planning.optimize_space import (
    FIELD_COLUMN,
    FIELD_GROUP,
    GROUPS,
    INDEX,
    MIX_GROUPS,
    SCALARS,
    FieldBound,
    Space,
    training_span,
    value_text,
)
from predictor.planning.whatif import scale_counts

RELAX_WORDS: dict[str, tuple[str, str]] = {
    "total_budget": ("a larger budget", "a smaller budget"),
    "duration_days": ("a longer campaign", "a shorter campaign"),
    "num_unique_interests": ("more unique interests", "fewer unique interests"),
    "start_month": ("a later start month", "an earlier start month"),
    "total_ads": ("more ads", "fewer ads"),
}


@dataclass(frozen=True)
class Limit:
    """A limit the answer sits on: ``direction`` +1 for an upper limit, -1 for a lower one."""

    field: str
    direction: int
    words: str  # "the 60% cap on Instagram ads", "the largest budget in the training data (…)"
    training: bool  # the edge of the training data rather than a bound the user set


def _user_words(name: str, bound: FieldBound, direction: int, value: float, n: int) -> str | None:
    """Words for the user's bound on ``name`` that ``value`` sits on, if any."""
    for kind, words, limit in bound.describe(name):
        upper = kind in ("max", "max_share")
        if upper != (direction > 0):
            continue
        if kind.endswith("share"):
            share = FieldBound(
                low_share=None if upper else limit, high_share=limit if upper else None
            )
            lo, hi = share.count_range(n)
            at = value == (hi if upper else lo)
        elif name == "total_budget":
            at = value >= limit - 1e-6 if upper else value <= limit + 1e-6
        else:
            at = value >= math.floor(limit + 1e-9) if upper else value <= math.ceil(limit - 1e-9)
        if at:
            return f"{words} on {_label(name)}"
    return None


def _label(name: str) -> str:
    """A field's words inside a sentence: ``"Instagram ads"``, ``"the total budget"``."""
    label = COLUMN_LABELS[FIELD_COLUMN[name]]
    return label if name in MIX_FIELDS else f"the {label.removesuffix(' (days)')}"


TRAINING_EDGES: dict[str, tuple[str, str, str]] = {
    "total_budget": ("the largest total budget", "the smallest total budget", ""),
    "duration_days": ("the longest duration", "the shortest duration", " days"),
    "num_unique_interests": ("the most unique interests", "the fewest unique interests", ""),
    "total_ads": ("the most ads", "the fewest ads", ""),
}


def _training_words(space: Space, name: str, direction: int) -> str:
    lo, hi = training_span(space.training_range, name)
    edge = value_text(name, hi if direction > 0 else lo)
    if name in TRAINING_EDGES:
        most, least, unit = TRAINING_EDGES[name]
        return f"{most if direction > 0 else least} in the training data ({edge}{unit})"
    which = "most" if direction > 0 else "fewest"
    return f"the {which} {COLUMN_LABELS[FIELD_COLUMN[name]]} of any training campaign ({edge})"


def active_limits(space: Space, row: np.ndarray) -> list[Limit]:
    """The limits ``row`` (a plan of the space) sits on."""
    out: list[Limit] = []
    n = int(row[INDEX["total_ads"]])
    scalar_values = {
        "total_budget": np.array(space.budget),
        "total_ads": space.ads,
        **space.scalars,
    }
    for name, values in scalar_values.items():
        if FIELD_GROUP[name] not in space.changeable or values.min() == values.max():
            continue
        value = row[INDEX[name]]
        for direction, edge in ((1, values.max()), (-1, values.min())):
            if abs(value - edge) > 1e-6:
                continue
            out.append(_limit(space, name, direction, value, n))
    for group in MIX_GROUPS:
        if not space.free(group):
            continue
        box = space.box(group, n)
        for k, name in enumerate(GROUPS[group]):
            value = row[INDEX[name]]
            if value == box.high[k] and box.high[k] < n:
                out.append(_limit(space, name, 1, value, n))
            if value == box.low[k] and box.low[k] > 0:
                out.append(_limit(space, name, -1, value, n))
    return [limit for limit in out if limit is not None]


def _limit(space: Space, name: str, direction: int, value: float, n: int) -> Limit | None:
    words = _user_words(name, space.bounds.get(name, FieldBound()), direction, value, n)
    if words is not None:
        return Limit(name, direction, words, False)
    lo, hi = training_span(space.training_range, name)
    if (direction > 0 and value >= hi - 1e-6) or (direction < 0 and value <= lo + 1e-6):
        return Limit(name, direction, _training_words(space, name, direction), True)
    return None


def relaxed_rows(space: Space, row: np.ndarray, limit: Limit) -> np.ndarray:
    """Plans one step past ``limit`` from ``row``, everything else as in ``row``."""
    name, step = limit.field, limit.direction
    if name in INDEX and FIELD_GROUP[name] in MIX_GROUPS:
        return _moved_ad(space, row, name, step)
    out = row.copy()
    if name == "total_budget":
        out[INDEX[name]] = round(row[INDEX[name]] * (1 + 0.05 * step))
    elif name == "duration_days":
        out[INDEX[name]] = max(1, row[INDEX[name]] + 5 * step)
    elif name == "total_ads":
        return _one_more_ad(space, row, step)
    else:
        out[INDEX[name]] = row[INDEX[name]] + step
        if name == "start_month" and not 1 <= out[INDEX[name]] <= 12:
            return np.empty((0, len(row)))
        if name in SCALARS and out[INDEX[name]] < 0:
            return np.empty((0, len(row)))
    return out[None, :]


def _moved_ad(space: Space, row: np.ndarray, name: str, step: int) -> np.ndarray:
    """One ad of ``name``'s mix moved into ``name`` (step +1) or out of it (step -1)."""
    group = FIELD_GROUP[name]
    n = int(row[INDEX["total_ads"]])
    box = space.box(group, n)
    fields = GROUPS[group]
    out = []
    for j, other in enumerate(fields):
        if other == name:
            continue
        moved = row.copy()
        moved[INDEX[name]] += step
        moved[INDEX[other]] -= step
        if box.low[j] <= moved[INDEX[other]] <= box.high[j] and moved[INDEX[name]] >= 0:
            out.append(moved)
    return np.array(out).reshape(-1, len(row))


def _one_more_ad(space: Space, row: np.ndarray, step: int) -> np.ndarray:
    """``row`` with one ad more (or fewer): each changeable mix gains (or loses) it in any
    category, fixed mixes keep their shares."""
    n = int(row[INDEX["total_ads"]])
    if n + step < 1:
        return np.empty((0, len(row)))
    choices = []
    for group in MIX_GROUPS:
        cols = [INDEX[f] for f in GROUPS[group]]
        counts = row[cols]
        if not space.free(group):
            plan = space.plan
            scaled = scale_counts(
                [getattr(plan, f) for f in GROUPS[group]], plan.total_ads, n + step
            )
            choices.append([(cols, np.array(scaled, dtype=float))])
            continue
        options = []
        for k in range(len(cols)):
            changed = counts.copy()
            changed[k] += step
            if changed[k] >= 0:
                options.append((cols, changed))
        choices.append(options)
    rows = []
    for combo in itertools.product(*choices):
        out = row.copy()
        out[INDEX["total_ads"]] = n + step
        for cols, counts in combo:
            out[cols] = counts
        rows.append(out)
    return np.array(rows).reshape(-1, len(row))


def deciding(
    objective: Objective,
    best: tuple[float, float, float],
    limits: Sequence[Limit],
    relaxed: Sequence[np.ndarray],
) -> list[Limit]:
    """The limits whose relaxed plans (``(budget, prediction, lower)`` per row) beat ``best``."""
    return [
        limit
        for limit, scores in zip(limits, relaxed, strict=True)
        if any(objective.better(tuple(s), best) for s in scores)
    ]


def limit_sentence(limit: Limit, objective: Objective) -> str:
    """One plain sentence about a limit that decides the answer."""
    gain = GOAL_GAINS[objective.goal]
    if limit.field in RELAX_WORDS:
        relax = RELAX_WORDS[limit.field][0 if limit.direction > 0 else 1]
    else:
        more = "more" if limit.direction > 0 else "fewer"
        relax = f"{more} {COLUMN_LABELS[FIELD_COLUMN[limit.field]]}"
    if limit.training:
        return (
            f"{limit.words[0].upper()}{limit.words[1:]} is what limits this plan: {relax} would "
            f"{gain} by the model, but it has not seen such campaigns, so the search stops there."
        )
    return (
        f"{limit.words[0].upper()}{limit.words[1:]} is what limits this plan: {relax} would {gain}."
    )
