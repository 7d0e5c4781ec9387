"""The plan optimizer's search space: what may change, the user's bounds, and the plans inside both.

A plan is a row of the 18 ``PLAN_FIELDS`` (arrays of shape ``(m, 18)`` hold many). The space
keeps every bound the user set (*hard*) and, inside them, the training data's range (*soft*): a
field's values are the intersection of both. Only where the user's bounds leave no value inside
the training range does the space go outside it, to the allowed value nearest to the range, and
it says so (:attr:`Space.forced`). Mixes keep their counts adding up to the number of ads; a mix
that may not change keeps its shares when the number of ads changes.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from predictor.contract.features import FEATURE_COLUMNS, end_months
from predictor.contract.formatting import fmt_echo, fmt_money, fmt_number, month_name
from predictor.contract.plan import (
    COLUMN_FIELDS,
    COLUMN_LABELS,
    MIX_FIELDS,
    MIXES,
    PLAN_FIELDS,
    CampaignPlan,
    PlanError,
)
from predictor.planning.whatif import scale_counts

# What may change: group name -> the plan fields it moves.
GROUPS: dict[str, tuple[str, ...]] = {
    "platform": MIXES["Platform"],
    "format": MIXES["Format"],
    "gender": MIXES["Target gender"],
    "age": MIXES["Target age group"],
    "interests": ("num_unique_interests",),
    "month": ("start_month",),
    "duration": ("duration_days",),
    "ads": ("total_ads",),
    "budget": ("total_budget",),
}
GROUP_LABELS: dict[str, str] = {
    "platform": "platform mix",
    "format": "format mix",
    "gender": "gender mix",
    "age": "age mix",
    "interests": "unique interests",
    "month": "start month",
    "duration": "duration",
    "ads": "number of ads",
    "budget": "total budget",
}
MIX_GROUPS: tuple[str, ...] = ("platform", "format", "gender", "age")
SCALARS: tuple[str, ...] = ("duration_days", "start_month", "num_unique_interests")
BOUND_KEYS: tuple[str, ...] = ("min", "max", "min_share", "max_share")
INDEX: dict[str, int] = {f: i for i, f in enumerate(PLAN_FIELDS)}
FIELD_COLUMN: dict[str, str] = {f: c for c, f in COLUMN_FIELDS.items()}
# Whole currency units: budgets the search proposes are whole numbers.
BUDGET_STEP = 1.0
# Compositions of a mix are enumerated; beyond this many the space is too large to list.
MAX_COMPOSITIONS = 200_000


class BoundsError(PlanError):
    """The bounds or the choice of what may change are invalid or contradict each other."""


def field_label(name: str) -> str:
    """Words for a plan field: ``"instagram_ads"`` -> ``"Instagram ads"``."""
    label = COLUMN_LABELS[FIELD_COLUMN[name]]
    return label[0].upper() + label[1:]


def value_text(name: str, value: float) -> str:
    """A field's value in plain words: money, a month, or a number."""
    if name == "total_budget":
        return fmt_money(value)
    if name == "start_month":
        return month_name(int(value))
    return fmt_number(value)


@dataclass(frozen=True)
class FieldBound:
    """Bounds on one plan field: counts or amounts (``low``/``high``) and, for the ads of a mix,
    shares of the plan's ads in percent (``low_share``/``high_share``). ``None`` = no bound."""

    low: float | None = None
    high: float | None = None
    low_share: float | None = None
    high_share: float | None = None

    def count_range(self, n: int) -> tuple[int, int]:
        """The whole counts these bounds allow among ``n`` ads."""
        lo, hi = 0, n
        if self.low is not None:
            lo = max(lo, math.ceil(self.low - 1e-9))
        if self.high is not None:
            hi = min(hi, math.floor(self.high + 1e-9))
        if self.low_share is not None:
            lo = max(lo, math.ceil(self.low_share * n / 100 - 1e-9))
        if self.high_share is not None:
            hi = min(hi, math.floor(self.high_share * n / 100 + 1e-9))
        return lo, hi

    def describe(self, name: str) -> list[tuple[str, str, float]]:
        """``(kind, words, value)`` of each bound set, e.g. ``("max_share", "the 60% cap", 60)``."""
        out = []
        if self.low is not None:
            out.append(("min", f"the minimum of {value_text(name, self.low)}", self.low))
        if self.high is not None:
            out.append(("max", f"the cap of {value_text(name, self.high)}", self.high))
        if self.low_share is not None:
            out.append(("min_share", f"the {self.low_share:g}% minimum share", self.low_share))
        if self.high_share is not None:
            out.append(("max_share", f"the {self.high_share:g}% cap", self.high_share))
        return out


def _bound_number(name: str, key: str, value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = float(value.replace(",", "").strip().rstrip("%"))
        except ValueError:
            raise BoundsError(
                name, f"{name}: the {key} bound {fmt_echo(value)} is not a number"
            ) from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BoundsError(name, f"{name}: the {key} bound must be a number")
    number = float(value)
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise BoundsError(name, f"{name}: the {key} bound is infinite; enter a finite number")
    if number < 0:
        raise BoundsError(name, f"{name}: the {key} bound {number:g} is negative; enter 0 or more")
    return number


def _field_bound(name: str, spec: object) -> FieldBound:
    if isinstance(spec, FieldBound):
        values = {
            "min": spec.low,
            "max": spec.high,
            "min_share": spec.low_share,
            "max_share": spec.high_share,
        }
    elif isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in BOUND_KEYS]
        if unknown:
            raise BoundsError(
                name, f"{name}: {unknown[0]!r} is not a kind of bound; use {', '.join(BOUND_KEYS)}"
            )
        values = {k: spec.get(k) for k in BOUND_KEYS}
    elif isinstance(spec, list | tuple) and len(spec) == 2:
        values = {"min": spec[0], "max": spec[1], "min_share": None, "max_share": None}
    else:
        raise BoundsError(name, f"{name}: give its bounds as {{'min': …, 'max': …}}")
    low, high, low_share, high_share = (_bound_number(name, k, values[k]) for k in BOUND_KEYS)
    return _checked(name, FieldBound(low, high, low_share, high_share))


def _checked(name: str, bound: FieldBound) -> FieldBound:
    """``bound`` checked on its own: shares only for mixes, at most 100%, whole counts, low <= high."""
    shares = (bound.low_share, bound.high_share)
    if name not in MIX_FIELDS and any(s is not None for s in shares):
        raise BoundsError(
            name, f"{name}: shares apply to the ads of a mix; give {name} a min or max instead"
        )
    for share in shares:
        if share is not None and share > 100:
            raise BoundsError(
                name, f"{name}: a share of {share:g}% is above 100%; enter a percentage 0–100"
            )
    if name != "total_budget":
        for value in (bound.low, bound.high):
            if value is not None and not float(value).is_integer():
                raise BoundsError(name, f"{name}: the bound {value:g} is not a whole number")
    if name == "start_month":
        for value in (bound.low, bound.high):
            if value is not None and not 1 <= value <= 12:
                raise BoundsError(
                    name, f"{name}: the bound {value:g} is not a month; enter 1 to 12"
                )
    for lo, hi, what in ((bound.low, bound.high, ""), (*shares, " share")):
        if lo is not None and hi is not None and lo > hi:
            raise BoundsError(
                name,
                f"{name}: the lower{what} bound {lo:g} is above the upper{what} bound {hi:g}; "
                "make the lower bound the smaller",
            )
    return bound


def parse_bounds(raw: Mapping[str, object] | None) -> dict[str, FieldBound]:
    """Bounds per plan field from ``{field: {"min", "max", "min_share", "max_share"}}`` (shares in
    percent of the plan's ads, for mix fields), a ``(min, max)`` pair, or a :class:`FieldBound`.

    Raises :class:`BoundsError` naming the field for an unknown field, a negative bound, a share
    above 100%, a lower bound above its upper bound, or a mix whose minimum shares exceed 100%.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise BoundsError("bounds", "bounds must map plan fields to their bounds")
    out: dict[str, FieldBound] = {}
    for name, spec in raw.items():
        if name not in INDEX:
            raise BoundsError(
                str(name),
                f"{fmt_echo(name)} is not a plan field that can be bounded; use one of "
                + ", ".join(PLAN_FIELDS),
            )
        bound = _field_bound(name, spec)
        if any(v is not None for v in (bound.low, bound.high, bound.low_share, bound.high_share)):
            out[name] = bound
    for mix, fields in MIXES.items():
        total = sum(out[f].low_share or 0 for f in fields if f in out)
        if total > 100 + 1e-9:
            first = next(f for f in fields if f in out and out[f].low_share)
            raise BoundsError(
                first,
                f"{first}: the {mix.lower()} mix's minimum shares add up to {total:g}%, more "
                "than 100%; lower them",
            )
    return out


def parse_changeable(names: Iterable[str] | str | None) -> frozenset[str]:
    """The groups that may change, from names like ``"platform"`` or ``"budget"`` (a list, or one
    comma-separated string); :class:`BoundsError` names an unknown one."""
    if names is None:
        return frozenset()
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    out = set()
    for name in names:
        key = str(name).strip().lower()
        if not key:
            continue
        if key not in GROUPS:
            raise BoundsError(
                "change",
                f"change: {fmt_echo(name)} is not something that can change; choose from "
                + ", ".join(GROUPS),
            )
        out.add(key)
    return frozenset(out)


def training_span(training_range: Mapping[str, object], name: str) -> tuple[float, float]:
    """The training data's ``[min, max]`` of a plan field (whole numbers inside it for budgets)."""
    pair = (training_range or {}).get(FIELD_COLUMN[name])
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return (0.0, math.inf) if name != "start_month" else (1.0, 12.0)
    low, high = float(pair[0]), float(pair[1])
    if name == "total_budget" and math.ceil(low) <= math.floor(high):
        return float(math.ceil(low)), float(math.floor(high))
    return low, high


@dataclass(frozen=True)
class MixBox:
    """A mix's allowed counts at one number of ads: ``low``/``high`` per field, summing to ``n``."""

    fields: tuple[str, ...]
    n: int
    low: np.ndarray
    high: np.ndarray
    inside: bool  # inside the training data's range of every field

    @cached_property
    def compositions(self) -> np.ndarray:
        """Every whole split of ``n`` within the box, one per row (fields in order)."""
        return compositions(self.low, self.high, self.n)


def compositions(low: np.ndarray, high: np.ndarray, n: int) -> np.ndarray:
    """Every vector of whole numbers ``low <= x <= high`` that sums to ``n``, one per row."""
    k = len(low)
    size = math.prod(int(h - lo + 1) for lo, h in zip(low[:-1], high[:-1], strict=True))
    if size > MAX_COMPOSITIONS:
        raise BoundsError("bounds", "the bounds leave too many ways to split the ads; narrow them")
    heads = np.array(
        list(
            itertools.product(
                *(range(int(lo), int(h) + 1) for lo, h in zip(low[:-1], high[:-1], strict=True))
            )
        ),
        dtype=np.int64,
    ).reshape(-1, k - 1)
    last = n - heads.sum(axis=1)
    keep = (last >= low[-1]) & (last <= high[-1])
    return np.column_stack([heads[keep], last[keep]])


@dataclass(frozen=True)
class Space:
    """The plans the optimizer may answer with. Build it with :func:`build_space`."""

    plan: CampaignPlan
    changeable: frozenset[str]
    bounds: Mapping[str, FieldBound]
    training_range: Mapping[str, object]
    budget: tuple[float, float]
    scalars: Mapping[str, np.ndarray]
    ads: np.ndarray
    boxes: Mapping[tuple[str, int], MixBox]
    forced: tuple[str, ...] = field(default=())

    @property
    def start(self) -> np.ndarray:
        """The start plan as a row of ``PLAN_FIELDS`` values."""
        return np.array([float(getattr(self.plan, f)) for f in PLAN_FIELDS])

    def free(self, group: str) -> bool:
        """Whether ``group`` may change."""
        return group in self.changeable

    def mix_counts(self, group: str, n: int) -> np.ndarray:
        """The counts of a fixed mix at ``n`` ads: the plan's, scaled to keep its shares."""
        fields = GROUPS[group]
        counts = [getattr(self.plan, f) for f in fields]
        if n == self.plan.total_ads:
            return np.array(counts, dtype=float)
        return np.array(scale_counts(counts, self.plan.total_ads, n), dtype=float)

    def box(self, group: str, n: int) -> MixBox:
        """The allowed counts of a changeable mix at ``n`` ads."""
        return self.boxes[(group, int(n))]

    def project(self, row: np.ndarray) -> np.ndarray:
        """The plan of the space nearest to ``row``: each field moved to its nearest allowed
        value, each changeable mix to the allowed split nearest to its shares."""
        out = row.copy()
        out[INDEX["total_budget"]] = np.clip(row[INDEX["total_budget"]], *self.budget)
        for name, values in self.scalars.items():
            out[INDEX[name]] = values[np.argmin(np.abs(values - row[INDEX[name]]))]
        n_now = row[INDEX["total_ads"]]
        n = int(self.ads[np.argmin(np.abs(self.ads - n_now))])
        out[INDEX["total_ads"]] = n
        for group in MIX_GROUPS:
            cols = [INDEX[f] for f in GROUPS[group]]
            if not self.free(group):
                out[cols] = self.mix_counts(group, n)
                continue
            splits = self.box(group, n).compositions
            target = row[cols] * n / n_now if n_now else np.full(len(cols), n / len(cols))
            out[cols] = splits[np.argmin(np.abs(splits - target).sum(axis=1))]
        return out

    def contains(self, rows: np.ndarray) -> np.ndarray:
        """Which rows of plan values satisfy every bound and the space's rules."""
        rows = np.atleast_2d(rows)
        budget = rows[:, INDEX["total_budget"]]
        ok = (budget >= self.budget[0] - 1e-6) & (budget <= self.budget[1] + 1e-6)
        for name, values in self.scalars.items():
            ok &= np.isin(rows[:, INDEX[name]], values)
        n = rows[:, INDEX["total_ads"]]
        ok &= np.isin(n, self.ads)
        for value in np.unique(n[ok]):
            at = np.flatnonzero(ok & (n == value))
            good = np.ones(len(at), dtype=bool)
            for group in MIX_GROUPS:
                counts = rows[np.ix_(at, [INDEX[f] for f in GROUPS[group]])]
                if self.free(group):
                    box = self.box(group, int(value))
                    good &= (counts.sum(axis=1) == value) & (counts >= box.low).all(axis=1)
                    good &= (counts <= box.high).all(axis=1)
                else:
                    good &= (counts == self.mix_counts(group, int(value))).all(axis=1)
            ok[at] = good
        return ok


def plan_from_row(row: np.ndarray) -> CampaignPlan:
    """The plan of one row of ``PLAN_FIELDS`` values."""
    values = {f: float(row[i]) if f == "total_budget" else int(row[i]) for f, i in INDEX.items()}
    return CampaignPlan(**values)


def features_of(rows: np.ndarray) -> pd.DataFrame:
    """The model's 19 input columns for rows of plan values (end month derived)."""
    rows = np.atleast_2d(rows)
    out = np.empty((len(rows), len(FEATURE_COLUMNS)))
    for j, column in enumerate(FEATURE_COLUMNS):
        if column == "end_month":
            out[:, j] = end_months(
                rows[:, INDEX["start_month"]].astype(np.int64),
                rows[:, INDEX["duration_days"]].astype(np.int64),
            )
        else:
            out[:, j] = rows[:, INDEX[COLUMN_FIELDS[column]]]
    return pd.DataFrame(out, columns=FEATURE_COLUMNS)


FIELD_GROUP: dict[str, str] = {f: g for g, fields in GROUPS.items() for f in fields}
# The widest a field may go when the user sets no bound (the plan's own limits).
_RULE_SPAN: dict[str, tuple[float, float]] = {
    "duration_days": (1, 3650),
    "start_month": (1, 12),
    "num_unique_interests": (0, 1_000_000),
}


def _outside_note(name: str, value: float, span: tuple[float, float]) -> str:
    side = "above the largest" if value > span[1] else "below the smallest"
    return (
        f"Your bounds put {field_label(name).lower()} at {value_text(name, value)}, {side} in the "
        f"training data ({value_text(name, span[0])}–{value_text(name, span[1])}); the answer "
        "extrapolates there."
    )


def _check_fixed(plan: CampaignPlan, changeable: frozenset[str], bounds: Mapping) -> None:
    """A bound on a field that may not change must hold for the plan as it is."""
    for name, bound in bounds.items():
        group = FIELD_GROUP[name]
        if group in changeable or name in MIX_FIELDS:
            continue
        value = float(getattr(plan, name))
        if (bound.low is not None and value < bound.low) or (
            bound.high is not None and value > bound.high
        ):
            raise BoundsError(
                name,
                f"{name}: the plan's {value_text(name, value)} is outside its bounds, and the "
                f"{GROUP_LABELS[group]} may not change; let it change or widen the bounds",
            )


def _budget_span(
    plan: CampaignPlan, changeable: frozenset[str], bounds: Mapping, training_range: Mapping
) -> tuple[tuple[float, float], str | None]:
    value = float(plan.total_budget)
    if "budget" not in changeable:
        return (value, value), None
    bound = bounds.get("total_budget", FieldBound())
    tlo, thi = training_span(training_range, "total_budget")
    hard_lo = bound.low if bound.low is not None else 0.0
    hard_hi = bound.high if bound.high is not None else math.inf
    if hard_hi < tlo:
        raise BoundsError(
            "total_budget",
            f"total_budget: the cap of {fmt_money(hard_hi)} is below the smallest budget in the "
            f"training data ({fmt_money(tlo)}), so the model knows nothing about the budgets "
            f"allowed; raise the cap to at least {fmt_money(tlo)}",
        )
    lo, hi = max(hard_lo, tlo), min(hard_hi, thi)
    if lo <= hi:
        return (lo, hi), None
    return (hard_lo, hard_lo), _outside_note("total_budget", hard_lo, (tlo, thi))


def _scalar_values(
    plan: CampaignPlan,
    changeable: frozenset[str],
    bounds: Mapping,
    training_range: Mapping,
    name: str,
) -> tuple[np.ndarray, str | None]:
    value = float(getattr(plan, name))
    if FIELD_GROUP[name] not in changeable:
        return np.array([value]), None
    bound = bounds.get(name, FieldBound())
    rule_lo, rule_hi = _RULE_SPAN[name]
    hard_lo = max(rule_lo, bound.low if bound.low is not None else rule_lo)
    hard_hi = min(rule_hi, bound.high if bound.high is not None else rule_hi)
    tlo, thi = training_span(training_range, name)
    lo, hi = max(hard_lo, math.ceil(tlo)), min(hard_hi, math.floor(thi))
    if lo <= hi:
        return np.arange(lo, hi + 1, dtype=float), None
    nearest = hard_lo if hard_lo > thi else hard_hi
    return np.array([float(nearest)]), _outside_note(name, nearest, (tlo, thi))


def _mix_box(
    group: str, n: int, bounds: Mapping, training_range: Mapping, soft: bool
) -> MixBox | None:
    """The box of a changeable mix at ``n`` ads, inside the training range when ``soft``."""
    fields = GROUPS[group]
    spans = [bounds.get(f, FieldBound()).count_range(n) for f in fields]
    low = np.array([s[0] for s in spans], dtype=np.int64)
    high = np.array([s[1] for s in spans], dtype=np.int64)
    if soft:
        tr = [training_span(training_range, f) for f in fields]
        low = np.maximum(low, [math.ceil(t[0]) for t in tr])
        high = np.minimum(high, [math.floor(min(t[1], n)) for t in tr])
    if (low > high).any() or low.sum() > n or high.sum() < n:
        return None
    return MixBox(fields, n, low, high, soft)


def _fixed_mix_ok(
    space_counts: np.ndarray, fields: tuple[str, ...], bounds: Mapping, n: int
) -> bool:
    for f, count in zip(fields, space_counts, strict=True):
        lo, hi = bounds.get(f, FieldBound()).count_range(n)
        if not lo <= count <= hi:
            return False
    return True


@dataclass(frozen=True)
class _Ads:
    values: np.ndarray
    boxes: dict[tuple[str, int], MixBox]
    note: str | None


def _boxes_at(
    plan: CampaignPlan,
    changeable: frozenset[str],
    bounds: Mapping,
    training_range: Mapping,
    n: int,
    soft: bool,
) -> dict[tuple[str, int], MixBox] | None:
    """Every changeable mix's box at ``n`` ads (fixed mixes checked), or ``None`` if one fails."""
    boxes = {}
    for group in MIX_GROUPS:
        if group in changeable:
            box = _mix_box(group, n, bounds, training_range, True)
            if box is None and not soft:
                box = _mix_box(group, n, bounds, training_range, False)
            if box is None:
                return None
            boxes[(group, n)] = box
        elif not _group_ok(plan, changeable, bounds, group, n):
            return None
    return boxes


def _group_ok(
    plan: CampaignPlan, changeable: frozenset[str], bounds: Mapping, group: str, n: int
) -> bool:
    """Whether one mix can meet its own bounds at ``n`` ads (kept at its shares if fixed)."""
    fields = GROUPS[group]
    if group in changeable:
        return _mix_box(group, n, bounds, {}, False) is not None
    counts = [getattr(plan, f) for f in fields]
    scaled = counts if n == plan.total_ads else scale_counts(counts, plan.total_ads, n)
    return _fixed_mix_ok(np.array(scaled), fields, bounds, n)


def _ads_values(
    plan: CampaignPlan, changeable: frozenset[str], bounds: Mapping, training_range: Mapping
) -> _Ads:
    """The numbers of ads the space allows, and each changeable mix's box at each."""
    bound = bounds.get("total_ads", FieldBound())
    if "ads" in changeable:
        hard_lo = max(1, int(bound.low or 1))
        hard_hi = int(bound.high) if bound.high is not None else None
    else:
        hard_lo = hard_hi = plan.total_ads
    tlo, thi = training_span(training_range, "total_ads")
    soft_lo, soft_hi = max(hard_lo, math.ceil(tlo), 1), int(min(hard_hi or math.inf, thi))
    values, boxes = [], {}
    for n in range(soft_lo, soft_hi + 1):
        found = _boxes_at(plan, changeable, bounds, training_range, n, soft=True)
        if found is not None:
            values.append(n)
            boxes.update(found)
    if values:
        return _Ads(np.array(values, dtype=float), boxes, None)
    # Nothing inside the training range: the allowed number of ads nearest to it.
    mins = max(
        (sum(int(bounds[f].low or 0) for f in GROUPS[g] if f in bounds) for g in MIX_GROUPS),
        default=0,
    )
    top = hard_hi if hard_hi is not None else max(int(thi), mins, hard_lo) + 1
    order = sorted(range(hard_lo, top + 1), key=lambda n: (max(soft_lo - n, n - soft_hi, 0), n))
    for n in order:
        found = _boxes_at(plan, changeable, bounds, training_range, n, soft=False)
        if found is not None:
            if not soft_lo <= n <= soft_hi:
                note = _outside_note("total_ads", n, (max(tlo, 1), thi))
            else:
                note = (
                    "Your bounds push a mix outside the counts seen in the training data; the "
                    "answer extrapolates there."
                )
            return _Ads(np.array([float(n)]), found, note)
    raise BoundsError("bounds", _contradiction(plan, changeable, bounds, hard_lo, top))


def _contradiction(
    plan: CampaignPlan, changeable: frozenset[str], bounds: Mapping, lo: int, hi: int
) -> str:
    """Why no number of ads in ``[lo, hi]`` meets every mix's bounds, in a sentence."""
    ads = (
        f"the plan's {plan.total_ads} ads (the number of ads may not change)"
        if "ads" not in changeable
        else f"{lo} to {hi} ads"
    )
    for group in MIX_GROUPS:
        if not any(_group_ok(plan, changeable, bounds, group, n) for n in range(lo, hi + 1)):
            return (
                f"The bounds contradict each other: the {GROUP_LABELS[group]} cannot meet its "
                f"bounds with {ads}; loosen its bounds or let the number of ads change"
            )
    return (
        f"The bounds contradict each other: no number of ads from {lo} to {hi} meets the bounds "
        "of every mix at once; loosen the bounds"
    )


def build_space(
    plan: CampaignPlan,
    changeable: frozenset[str],
    bounds: Mapping[str, FieldBound],
    training_range: Mapping[str, object],
) -> Space:
    """The space of plans that keep what may not change, meet every bound, and stay inside the
    training data's range wherever the bounds allow. Raises :class:`BoundsError` when the bounds
    contradict each other or the plan."""
    if plan.total_ads == 0 and not ({"ads", *MIX_GROUPS} <= changeable):
        raise BoundsError(
            "total_ads",
            "total_ads: the plan has no ads; add ads, or let the number of ads and every mix "
            "change",
        )
    _check_fixed(plan, changeable, bounds)
    budget, budget_note = _budget_span(plan, changeable, bounds, training_range)
    scalars, notes = {}, [budget_note]
    for name in SCALARS:
        scalars[name], note = _scalar_values(plan, changeable, bounds, training_range, name)
        notes.append(note)
    ads = _ads_values(plan, changeable, bounds, training_range)
    notes.append(ads.note)
    return Space(
        plan=plan,
        changeable=changeable,
        bounds=dict(bounds),
        training_range=training_range,
        budget=budget,
        scalars=scalars,
        ads=ads.values,
        boxes=ads.boxes,
        forced=tuple(n for n in notes if n),
    )
