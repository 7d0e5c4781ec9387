"""Benchmark of the plan optimizer. Prints measurements; asserts nothing.

    python -m bench.bench_optimize [--cases 200] [--samples 20000] [--models ridge,boosting]

On ``--cases`` random start plans, each with a random choice of what may change and random bounds
(a seeded generator), for both bundled models and all four goals:

1. Time to an answer, the range included (targets: at most 1 s for Ridge, 3 s for the nonlinear
   model), and the model calls it took (at most 5).
2. Quality against brute force: ``--samples`` random plans of the same space (every bound kept,
   inside the training range), scored in one call, best by the goal. The optimizer's answer
   should never be beaten by more than 0.5% in the goal's quantity (purchases, lower end, or
   budget for the least budget), never break a bound (checked against the bounds as given, not
   through the optimizer's own space), and for Ridge never be beaten at all.
3. The oracle's verdict: the generator's true expected purchases (``training.oracle``) of the
   optimized plans against the start plans, next to the gain the model predicted.
4. The careful plan against the expected one: how often they differ, and by how much the careful
   plan's lower end is higher.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from predictor import CampaignPlan, Predictor
from predictor.contract.plan import MIX_FIELDS, MIXES, PLAN_FIELDS
from predictor.planning.optimize import OUT_OF_REACH, optimize
from predictor.planning.optimize_goals import Goal, Objective
from predictor.planning.optimize_search import Moves, score_rows
from predictor.planning.optimize_space import (
    GROUPS,
    INDEX,
    BoundsError,
    build_space,
    features_of,
    parse_bounds,
    parse_changeable,
)
from predictor.serving.model_choice import available_models
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR
from training.oracle import true_purchases

GOALS = tuple(Goal)
BEATEN = 0.005  # relative margin by which brute force may not beat the optimizer


def random_plan(rng: np.random.Generator) -> CampaignPlan:
    """A plan like the training campaigns: every mix adds up to the number of ads."""
    n = int(1 + rng.binomial(8, 0.4))
    values: dict[str, Any] = {
        "duration_days": int(rng.integers(14, 121)),
        "total_budget": float(np.round(np.exp(rng.uniform(np.log(6_000), np.log(110_000))))),
        "start_month": int(rng.integers(1, 13)),
        "num_unique_interests": int(rng.integers(1, 11)),
        "total_ads": n,
    }
    for fields in MIXES.values():
        counts = rng.multinomial(n, rng.dirichlet(np.full(len(fields), 1.5)))
        values.update(zip(fields, (int(c) for c in counts), strict=True))
    return CampaignPlan(**values)


def random_bounds(rng: np.random.Generator, plan: CampaignPlan) -> dict[str, dict[str, float]]:
    """A few bounds of the kinds a marketer sets: share caps, minimum counts, exclusions, caps."""
    bounds: dict[str, dict[str, float]] = {}
    mix_fields = list(MIX_FIELDS)
    if rng.random() < 0.5:
        bounds[str(rng.choice(mix_fields))] = {"max_share": float(rng.choice([40, 50, 60, 75]))}
    if rng.random() < 0.4:
        bounds.setdefault(str(rng.choice(mix_fields)), {})["min"] = 1.0
    if rng.random() < 0.3:
        bounds.setdefault(str(rng.choice(mix_fields)), {})["max"] = 0.0
    if rng.random() < 0.5:
        cap = max(8_000.0, round(plan.total_budget * rng.uniform(0.6, 1.6), -2))
        bounds["total_budget"] = {"max": cap}
    if rng.random() < 0.3:
        bounds["duration_days"] = {"min": 21.0, "max": float(rng.choice([60, 90, 120]))}
    if rng.random() < 0.3:
        bounds["total_ads"] = {"max": float(rng.integers(2, 9))}
    return bounds


def violations(plan: CampaignPlan, start: CampaignPlan, moved: set[str], bounds: dict) -> list[str]:
    """Every rule the answer breaks, checked from the bounds as given (not the optimizer's space)."""
    out = []
    for name, bound in parse_bounds(bounds).items():
        value, n = getattr(plan, name), plan.total_ads
        for limit, ok in (
            (bound.low, lambda v, lim: v >= lim - 1e-9),
            (bound.high, lambda v, lim: v <= lim + 1e-9),
            (
                None if bound.low_share is None else bound.low_share * n / 100,
                lambda v, lim: v >= lim - 1e-9,
            ),
            (
                None if bound.high_share is None else bound.high_share * n / 100,
                lambda v, lim: v <= lim + 1e-9,
            ),
        ):
            if limit is not None and not ok(value, limit):
                out.append(f"{name}={value} against {limit}")
    for name in PLAN_FIELDS:
        group = next(g for g, fields in GROUPS.items() if name in fields)
        scaled = name in MIX_FIELDS and "ads" in moved
        if group not in moved and not scaled and getattr(plan, name) != getattr(start, name):
            out.append(f"{name} changed but may not")
        if name != "total_budget" and not float(getattr(plan, name)).is_integer():
            out.append(f"{name} is not whole")
    for mix, fields in MIXES.items():
        free = any(GROUPS[g] == fields and g in moved for g in GROUPS)
        if free and sum(getattr(plan, f) for f in fields) != plan.total_ads:
            out.append(f"{mix} does not add up")
    return out


def brute_force(
    predictor: Predictor, space: Any, samples: int, seed: int
) -> tuple[np.ndarray, Any]:
    """``samples`` random plans of ``space`` and their answers, in one model call."""
    rows = Moves(space, np.random.default_rng(seed)).random(samples)
    return rows, score_rows(lambda f: predictor.predict_frame(f, 0.9), rows)


def compare(objective: Objective, answer: Any, rows: np.ndarray, frame: Any) -> dict[str, Any]:
    """The brute-force best against the optimizer's answer, in the goal's quantity."""
    budget = rows[:, INDEX["total_budget"]]
    pred, lower = frame["prediction"].to_numpy(), frame["lower"].to_numpy()
    ok = objective.feasible(budget, pred)
    quantity = objective.quantity(budget, pred, lower)
    best = answer.best
    mine = objective.quantity(
        np.array([best.plan.total_budget]), np.array([best.purchases]), np.array([best.lower])
    )[0]
    reached = answer.status != OUT_OF_REACH
    if not ok.any():
        return {"gap": 0.0, "beaten": False, "brute_feasible": False, "reached": reached}
    least = objective.goal is Goal.LEAST_BUDGET
    brute = quantity[ok].min() if least else quantity[ok].max()
    if not reached:
        return {"gap": float("inf"), "beaten": True, "brute_feasible": True, "reached": False}
    gap = (mine - brute) / mine if least else (brute - mine) / max(abs(mine), 1e-9)
    return {"gap": float(gap), "beaten": gap > BEATEN, "brute_feasible": True, "reached": True}


def run_case(
    predictor: Predictor, case: dict[str, Any], samples: int, seed: int
) -> dict[str, Any] | None:
    """All four goals on one case: the answers, their times, brute force and the oracle."""
    plan, change, bounds = case["plan"], case["change"], case["bounds"]
    current = predictor.predict(plan)
    max_cpa = 1.2 * plan.total_budget / max(current.raw, 1e-9)
    out: dict[str, Any] = {}
    samples_by_space: dict[bool, tuple[np.ndarray, Any]] = {}
    for goal in GOALS:
        start = time.perf_counter()
        try:
            answer = optimize(
                predictor, plan, goal, change, bounds, 0.9, max_cost_per_purchase=max_cpa
            )
        except BoundsError:
            return None
        seconds = time.perf_counter() - start
        moved = set(parse_changeable(change)) | ({"budget"} if goal is Goal.LEAST_BUDGET else set())
        with_budget = "budget" in moved
        if with_budget not in samples_by_space:
            space = build_space(
                plan, frozenset(moved), parse_bounds(bounds), predictor.metadata.training_range
            )
            samples_by_space[with_budget] = brute_force(predictor, space, samples, seed)
        rows, frame = samples_by_space[with_budget]
        objective = Objective(goal, target=answer.target, max_cost=answer.max_cost_per_purchase)
        truth = true_purchases(
            features_of(
                np.array(
                    [[float(getattr(p, f)) for f in PLAN_FIELDS] for p in (plan, answer.best.plan)]
                )
            )
        )
        out[str(goal)] = {
            "seconds": seconds,
            "calls": answer.model_calls,
            "method": answer.method,
            "status": answer.status,
            "violations": violations(answer.best.plan, plan, moved, bounds),
            **compare(objective, answer, rows, frame),
            "predicted_gain": answer.best.purchases - answer.current.purchases,
            "true_gain": float(truth[1] - truth[0]),
            "true_kept": float(truth[1] / truth[0]) if truth[0] > 0 else 1.0,
            "budget_saved": plan.total_budget - answer.best.plan.total_budget,
            "lower": answer.best.lower,
            "plan": answer.best.plan,
        }
    return out


def summarize(model: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Times, quality, oracle gains and careful-vs-expected figures of one model."""
    summary: dict[str, Any] = {"model": model, "cases": len(results), "goals": {}}
    for goal in GOALS:
        rows = [r[str(goal)] for r in results]
        times = sorted(r["seconds"] for r in rows)
        gaps = [r["gap"] for r in rows if r["brute_feasible"] and r["reached"]]
        summary["goals"][str(goal)] = {
            "median_s": statistics.median(times),
            "p90_s": times[int(0.9 * (len(times) - 1))],
            "max_s": times[-1],
            "max_calls": max(r["calls"] for r in rows),
            "methods": sorted({r["method"] for r in rows}),
            "beaten_by_more_than_0.5%": sum(r["beaten"] for r in rows),
            "beaten_at_all": sum(r["gap"] > 1e-9 for r in rows),
            "worst_gap": max(gaps, default=0.0),
            "bound_violations": sum(bool(r["violations"]) for r in rows),
            "out_of_reach": sum(r["status"] == OUT_OF_REACH for r in rows),
            "mean_predicted_gain": statistics.fmean(r["predicted_gain"] for r in rows),
            "mean_true_gain": statistics.fmean(r["true_gain"] for r in rows),
        }
    least = [r[str(Goal.LEAST_BUDGET)] for r in results]
    summary["least_budget_true_kept_mean"] = statistics.fmean(r["true_kept"] for r in least)
    summary["least_budget_true_kept_p10"] = float(
        np.percentile([r["true_kept"] for r in least], 10)
    )
    summary["least_budget_saved_mean"] = statistics.fmean(r["budget_saved"] for r in least)
    expected = [r[str(Goal.MOST_PURCHASES)] for r in results]
    careful = [r[str(Goal.CAREFUL)] for r in results]
    differs = [c["plan"] != e["plan"] for c, e in zip(careful, expected, strict=True)]
    lifts = [
        c["lower"] - e["lower"] for c, e, d in zip(careful, expected, differs, strict=True) if d
    ]
    summary["careful_differs"] = sum(differs)
    summary["careful_lower_lift_mean"] = statistics.fmean(lifts) if lifts else 0.0
    summary["careful_lower_lift_median"] = statistics.median(lifts) if lifts else 0.0
    return summary


def print_summary(summary: dict[str, Any]) -> None:
    """The summary as a markdown table and lines."""
    print(f"\n## {summary['model']}: {summary['cases']} cases")
    print(
        "| goal | median s | p90 s | max s | max calls | beaten > 0.5% | beaten at all | worst gap "
        "| bound violations | out of reach | mean predicted gain | mean true gain | true ÷ predicted |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for goal, g in summary["goals"].items():
        ratio = g["mean_true_gain"] / g["mean_predicted_gain"] if g["mean_predicted_gain"] else 0
        print(
            f"| {goal} | {g['median_s']:.2f} | {g['p90_s']:.2f} | {g['max_s']:.2f} | {g['max_calls']} "
            f"| {g['beaten_by_more_than_0.5%']} | {g['beaten_at_all']} | {g['worst_gap']:.4%} "
            f"| {g['bound_violations']} | {g['out_of_reach']} | {g['mean_predicted_gain']:.1f} "
            f"| {g['mean_true_gain']:.1f} | {ratio:.2f} |"
        )
    print(
        f"least budget: {summary['least_budget_saved_mean']:,.0f} saved on average; the cheaper "
        f"plan truly brings {summary['least_budget_true_kept_mean']:.1%} of the start plan's true "
        f"purchases on average (10th percentile {summary['least_budget_true_kept_p10']:.1%})"
    )
    print(
        f"careful plan differs from the expected one in {summary['careful_differs']} of "
        f"{summary['cases']} cases; its lower end is higher by {summary['careful_lower_lift_mean']:.1f} "
        f"on average (median {summary['careful_lower_lift_median']:.1f}) when it differs"
    )


def main() -> None:
    """Run the benchmark and print its figures (and write them to ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--models", default="ridge,boosting")
    parser.add_argument("--out", type=Path, default=Path("bench/results/optimize.json"))
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    folders = available_models(MODEL_DIR)
    summaries = []
    for model in args.models.split(","):
        predictor = Predictor(PredictorConfig(), model_dir=folders[model])
        predictor.load()
        rng = np.random.default_rng(args.seed)
        results, refused = [], 0
        while len(results) < args.cases:
            plan = random_plan(rng)
            change = [g for g in GROUPS if rng.random() < 0.5] or ["platform"]
            case = {"plan": plan, "change": change, "bounds": random_bounds(rng, plan)}
            done = run_case(predictor, case, args.samples, args.seed + len(results))
            if done is None:
                refused += 1
                continue
            results.append(done)
        summary = summarize(model, results)
        summary["refused_cases"] = refused
        print_summary(summary)
        print(f"({refused} drawn cases were refused as contradictory and redrawn)")
        summaries.append(summary)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summaries, indent=2, default=str))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
