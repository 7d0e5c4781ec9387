"""Command line: ``python -m predictor score plans.csv --out scored.csv [--level 0.9]``."""

from __future__ import annotations

import argparse
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
    return parser


def score(plans: Path, out: Path, level: float, model_dir: Path, quiet: bool = False) -> str:
    """Score ``plans`` into ``out``; return a one-line summary. Errors propagate."""
    # scikit-learn (and with it scipy.special) before the bundle's other imports: when skops is
    # imported it looks each scipy.special function up in every module loaded before that one,
    # in import order, so the fewer come first the less it costs (about 0.6 s of CPU here).
    import sklearn  # noqa: F401
    from tqdm import tqdm

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
        write_scored(scored, str(out), progress.update)
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
    try:
        print(score(args.plans, args.out, args.level, args.model_dir, args.quiet))
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file", file=sys.stderr)
        return 2
    except (BatchError, BundleError, ConfigError, EndpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
