"""Command line: ``python -m predictor score plans.csv --out scored.csv [--level 0.9]``,
``python -m predictor optimize --plan plan.json --goal careful --change platform,budget``, and
``python -m predictor outcomes add results.csv [--replace]`` / ``outcomes report``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from predictor.serving.model_code.interval import DEFAULT_LEVEL


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m predictor", description="Campaign purchase predictions from the shell."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser(
        "score",
        help="score a CSV of plans",
        description=(
            "Score a CSV of plans (one plan a row, the plan's field names as columns; missing mix "
            "columns count as 0). The output has every input column plus prediction, lower, "
            "upper, level, extrapolated, unreliable, warnings and error; bad rows keep their "
            "place with the reason in error. The backend follows PREDICTOR_BACKEND and the "
            "Databricks settings, as in the app."
        ),
    )
    score.add_argument("plans", type=Path, help="the CSV of plans")
    score.add_argument("--out", type=Path, required=True, help="where to write the scored CSV")
    score.add_argument(
        "--level", type=float, default=DEFAULT_LEVEL, help="range level: 0.8, 0.9 or 0.95"
    )
    score.add_argument("--model-dir", type=Path, default=Path("model"), help="the model bundle")
    score.add_argument("--quiet", action="store_true", help="no progress bars")
    _outcome_commands(commands)
    _optimize_parser(commands)
    return parser


def check_output(plans: Path, out: Path) -> None:
    """Refuse an ``out`` that cannot take the scored plans, before any scoring: the input file
    itself (under any name), a folder, or a file in a folder that is missing or read-only."""
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give a file name, such as {out / 'scored.csv'}")
    if out.exists() and plans.exists() and os.path.samefile(plans, out):
        raise ValueError(
            f"--out {out} is the plans file itself; write the scored plans to another file"
        )
    folder = out.parent
    if not folder.is_dir():
        raise ValueError(f"--out {out}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: the folder {folder} is not writable")


def _outcome_commands(commands: argparse._SubParsersAction) -> None:
    outcomes = commands.add_parser("outcomes", help="record what plans brought; the track record")
    which = outcomes.add_subparsers(dest="action", required=True)
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--store", help="SQLAlchemy URL of the store (default: SCENARIO_LOG_URL / _PATH)"
    )
    add = which.add_parser(
        "add",
        parents=[store],
        help="record a CSV of results",
        description=(
            "Record results: one a row, actual_purchases (and optionally spend) with a "
            "scenario_name saved in the app, or the plan's columns (a file scored by "
            "`score` keeps its prediction, range and model version). Bad rows are refused one "
            "by one with their line; the good ones are kept. Exit status 1 when a row was refused."
        ),
    )
    add.add_argument("results", type=Path, help="the CSV of results")
    add.add_argument("--replace", action="store_true", help="replace a scenario's earlier result")
    add.add_argument(
        "--level", type=float, default=DEFAULT_LEVEL, help="range level of plans predicted now"
    )
    add.add_argument("--model-dir", type=Path, default=Path("model"), help="the model bundles")
    report = which.add_parser(
        "report", parents=[store], help="how the predictions held up against the results"
    )
    report.add_argument("--points", type=Path, help="write one row per result to this CSV")
    report.add_argument("--svg", type=Path, help="write the predicted-vs-actual chart here")


def _outcomes(args: argparse.Namespace) -> int:
    from predictor.record import outcomes_commands as oc

    if args.action == "add":
        text, complete = oc.add(args.results, args.store, args.model_dir, args.level, args.replace)
        print(text)
        return 0 if complete else 1
    print(oc.report(args.store, args.points, args.svg))
    return 0


def _optimize_parser(commands: argparse._SubParsersAction) -> None:
    from predictor.planning.optimize_goals import Goal
    from predictor.planning.optimize_space import GROUPS

    opt = commands.add_parser(
        "optimize",
        help="find the best plan for a goal",
        description=(
            "Find the best plan for a goal, starting from a plan, changing only the groups named "
            "in --change, within the bounds of --bounds. The same answer as the app's Find the "
            "best plan and its /optimize API."
        ),
    )
    opt.add_argument("--plan", type=Path, required=True, help="the start plan: a JSON object")
    opt.add_argument(
        "--goal", default=str(Goal.MOST_PURCHASES), choices=[str(g) for g in Goal], help="goal"
    )
    opt.add_argument(
        "--change", default="", help=f"what may change, comma-separated: {', '.join(GROUPS)}"
    )
    opt.add_argument(
        "--bounds",
        help='bounds: a JSON file or text, e.g. {"instagram_ads": {"max_share": 60}}',
    )
    opt.add_argument("--target", type=float, help="purchases to reach (least_budget)")
    opt.add_argument("--max-cpa", type=float, help="maximum cost per purchase (within_cost)")
    opt.add_argument(
        "--min-roas", type=float, help="minimum ROAS (within_cost, with an order value)"
    )
    opt.add_argument("--order-value", type=float, help="average order value (for --min-roas)")
    opt.add_argument(
        "--level", type=float, default=DEFAULT_LEVEL, help="range level: 0.8, 0.9 or 0.95"
    )
    opt.add_argument("--model-dir", type=Path, default=Path("model"), help="the model bundle")
    opt.add_argument("--json", action="store_true", help="print the answer as JSON")


def _json_arg(text: str, what: str) -> object:
    """A JSON object from a file path or from the text itself."""
    source = text if text.lstrip().startswith("{") else Path(text).read_text(encoding="utf-8")
    try:
        return json.loads(source)
    except ValueError as exc:
        raise ValueError(f"{what} is not valid JSON ({exc})") from None


def optimize_text(args: argparse.Namespace) -> str:
    """Run ``optimize`` for the parsed arguments; return the answer as text or JSON."""
    from predictor.contract.plan import CampaignPlan, PlanError
    from predictor.planning.optimize import optimize
    from predictor.planning.optimize_text import plan_lines
    from predictor.serving.predictor import Predictor

    values = _json_arg(str(args.plan), "--plan")
    if not isinstance(values, dict):
        raise PlanError("plan", "--plan must hold a JSON object of the plan's fields")
    plan = CampaignPlan(**values)
    bounds = _json_arg(args.bounds, "--bounds") if args.bounds else None
    answer = optimize(
        Predictor.from_env(model_dir=args.model_dir),
        plan,
        args.goal,
        args.change,
        bounds,
        args.level,
        target_purchases=args.target,
        max_cost_per_purchase=args.max_cpa,
        min_roas=args.min_roas,
        average_order_value=args.order_value,
    )
    if args.json:
        return json.dumps(answer.to_dict(), indent=2)
    sections = [
        ("Changes", answer.changes or ("none",)),
        (
            "Plan" if answer.status != "out_of_reach" else "Closest plan",
            plan_lines(answer.best.plan),
        ),
        ("What decides it", answer.limits),
        ("Notes", answer.notices),
    ]
    lines = [answer.message, answer.gain]
    for title, items in sections:
        if items:
            lines += [f"{title}:", *(f"  - {item}" for item in items)]
    return "\n".join(lines)


def score(plans: Path, out: Path, level: float, model_dir: Path, quiet: bool = False) -> str:
    """Score ``plans`` into ``out``; return a one-line summary. Errors propagate.

    ``out`` is checked first (see :func:`check_output`) and written through a temporary file,
    so it is complete or untouched.
    """
    from tqdm import tqdm

    check_output(plans, out)

    from predictor.planning.batch_scoring import read_plans, score_plans, write_scored
    from predictor.serving.predictor import Predictor

    predictor = Predictor.from_env(model_dir=model_dir)
    bar = {"disable": quiet, "file": sys.stderr, "unit_scale": True}
    with (
        plans.open("rb") as raw,
        tqdm.wrapattr(raw, "read", total=plans.stat().st_size, desc="reading", **bar) as source,
    ):
        frame = read_plans(source)
    with tqdm(total=len(frame), desc="scoring", unit=" rows", **bar) as progress:
        scored = score_plans(predictor, frame, level, progress.update)
    with tqdm(total=len(scored), desc="writing", unit=" rows", **bar) as progress:
        write_scored(scored, out, progress.update)
    errors = int((scored["error"] != "").sum())
    summary = f"Scored {len(scored) - errors:,} of {len(scored):,} plans"
    summary += f" ({errors:,} with an error, see the error column)" if errors else ""
    notices = " ".join(str(n) for n in scored.attrs.get("notices", ()))
    return f"{summary} -> {out}. {notices}".strip()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for bad input, with one clear line)."""
    from predictor.planning.batch_scoring import BatchError
    from predictor.serving.bundle import BundleError
    from predictor.serving.endpoint_errors import EndpointError
    from predictor.serving.settings import ConfigError

    args = _parser().parse_args(argv)
    refused: tuple[type[Exception], ...] = (BatchError, BundleError, ConfigError, EndpointError)
    try:
        if args.command == "outcomes":
            # Only the outcomes commands need the database layer (a tenth of a second to import).
            from predictor.record.outcomes import OutcomeStoreError

            refused += (OutcomeStoreError,)
            return _outcomes(args)
        if args.command == "optimize":
            print(optimize_text(args))
        else:
            print(score(args.plans, args.out, args.level, args.model_dir, args.quiet))
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file", file=sys.stderr)
        return 2
    except TypeError as exc:  # a plan file with a field CampaignPlan does not have
        print(f"error: --plan: {exc}", file=sys.stderr)
        return 2
    except (*refused, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
