"""The optimizer's answer in words: the changes per group, the gain with both ranges, a headline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from predictor.contract.formatting import fmt_count, fmt_level, fmt_money, month_name
from predictor.contract.plan import MIXES, CampaignPlan
from predictor.planning.optimize_goals import Goal, Objective
from predictor.planning.optimize_space import field_label

SCALAR_CHANGES: tuple[tuple[str, str, str], ...] = (
    ("total_budget", "Total budget", ""),
    ("duration_days", "Duration", " days"),
    ("total_ads", "Total ads", ""),
    ("num_unique_interests", "Unique interests", ""),
)


def _short(field: str) -> str:
    return field_label(field).removesuffix(" ads")


def change_lines(current: CampaignPlan, best: CampaignPlan) -> tuple[str, ...]:
    """One line per group that changed: ``"Platform: Instagram 2 → 3, Facebook 2 → 1 ads"``,
    ``"Total budget 50,000 → 41,200"``."""
    lines = []
    for field, label, unit in SCALAR_CHANGES:
        old, new = getattr(current, field), getattr(best, field)
        if old != new:
            fmt = fmt_money if field == "total_budget" else fmt_count
            lines.append(f"{label} {fmt(old)} → {fmt(new)}{unit}")
    if current.start_month != best.start_month:
        lines.append(
            f"Start month {month_name(current.start_month)} → {month_name(best.start_month)}"
        )
    if current.end_month != best.end_month:
        lines.append(
            f"(ends in {month_name(best.end_month)} instead of {month_name(current.end_month)})"
        )
    for mix, fields in MIXES.items():
        moved = [
            f"{_short(f)} {getattr(current, f)} → {getattr(best, f)}"
            for f in fields
            if getattr(current, f) != getattr(best, f)
        ]
        if moved:
            lines.append(f"{mix}: {', '.join(moved)} ads")
    return tuple(lines)


def _range(record: Mapping[str, Any]) -> str:
    return f"{fmt_count(record['lower'])}–{fmt_count(record['upper'])}"


def _cost(record: Mapping[str, Any]) -> str:
    pred = record["purchases"]
    return fmt_money(record["plan"]["total_budget"] / pred) if pred > 0 else "—"


def gain_text(
    objective: Objective, level: float, current: Mapping[str, Any], best: Mapping[str, Any]
) -> str:
    """The gain over the current plan with both plans' ranges, never a bare difference.

    ``current`` and ``best`` hold ``purchases`` (expected, unrounded), ``lower``, ``upper``
    and ``plan``.
    """
    pct = fmt_level(level)
    a, b = round(current["purchases"]), round(best["purchases"])
    ranges = (
        f"current plan {fmt_count(a)} expected ({pct} range {_range(current)}), best plan "
        f"{fmt_count(b)} expected ({pct} range {_range(best)})"
    )
    overlap = current["upper"] >= best["lower"] and best["upper"] >= current["lower"]
    caveat = (
        "The two ranges overlap: the gain is what the model expects, not a promise; a campaign "
        "on the best plan can still bring fewer purchases than one on the current plan."
        if overlap
        else "The two ranges do not overlap, so the model is fairly sure of the gain."
    )
    if objective.goal is Goal.LEAST_BUDGET:
        saved = current["plan"]["total_budget"] - best["plan"]["total_budget"]
        head = (
            f"Budget {fmt_money(current['plan']['total_budget'])} → "
            f"{fmt_money(best['plan']['total_budget'])} ({'−' if saved >= 0 else '+'}"
            f"{fmt_money(abs(saved))}) for at least {objective.target:,.1f} expected purchases"
        )
        return f"{head}: {ranges}."
    if objective.goal is Goal.CAREFUL:
        head = (
            f"Lower end of the {pct} range {fmt_count(current['lower'])} → "
            f"{fmt_count(best['lower'])} ({_signed(best['lower'] - current['lower'])})"
        )
    else:
        head = f"Expected purchases {fmt_count(a)} → {fmt_count(b)} ({_signed(b - a)})"
    if objective.goal is Goal.WITHIN_COST:
        head += f", cost per purchase {_cost(current)} → {_cost(best)}"
    return f"{head}: {ranges}. {caveat}"


def _signed(x: float) -> str:
    return f"+{x:,.0f}" if x > 0 else f"−{abs(x):,.0f}" if x < 0 else "±0"


def plan_lines(plan: CampaignPlan) -> tuple[str, ...]:
    """The plan in full, one line per group: ``"Total budget 80,000"``, ``"Platform: Facebook
    0, Instagram 6 ads"``."""
    lines = [
        f"Total budget {fmt_money(plan.total_budget)}",
        f"Duration {fmt_count(plan.duration_days)} days, {month_name(plan.start_month)} to "
        f"{month_name(plan.end_month)}",
        f"Total ads {fmt_count(plan.total_ads)}, unique interests "
        f"{fmt_count(plan.num_unique_interests)}",
    ]
    for mix, fields in MIXES.items():
        counts = ", ".join(f"{_short(f)} {getattr(plan, f)}" for f in fields)
        lines.append(f"{mix}: {counts} ads")
    return tuple(lines)
