"""The model card of a recalibrated bundle: what it was calibrated on, and how it held up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from predictor.record.outcomes_report import binomial_interval
from predictor.serving.bundle import BundleMetadata
from training.recalibrate import coverage_spread

if TYPE_CHECKING:
    from training.recalibrate import Held, Options, Outcomes, Result


def _share(held: Held | None) -> str:
    if held is None:
        return "too few outcomes per fold to measure"
    low, high = binomial_interval(held.inside, held.n)
    return f"{held.inside} of {held.n} ({held.share:.0%}, plausible {low * 100:.0f}–{high:.0%})"


def coverage_rows(result: Result) -> list[str]:
    """One table row per level: the base bundle's range, the recalibrated one held out, and
    where the recalibrated one lands on new campaigns."""
    rows = []
    for level, held in result.held_out.items():
        before = result.before.get(level)
        low, high = coverage_spread(result.n, level)
        rows.append(
            f"| {level:.0%} | {_share(before) if before else '–'} | {_share(held)} | "
            f"{low * 100:.0f}–{high:.0%} |"
        )
    return rows


def _demoted(card: str) -> list[str]:
    """The base card's lines, its headings two levels down (under this card's own section)."""
    return [("##" + line) if line.startswith("#") else line for line in card.splitlines()]


def recalibration_card(
    result: Result,
    base: BundleMetadata,
    meta: BundleMetadata,
    outcomes: Outcomes,
    options: Options,
    command: str,
    base_card: str,
) -> str:
    """Markdown model card (the bundle's README.md) of a recalibrated bundle."""
    cal = meta.interval
    period = f", recorded {outcomes.period[0]} to {outcomes.period[1]}" if outcomes.period else ""
    level = (
        f"Answers are multiplied by a single level factor fitted on the outcomes: "
        f"c = {result.fit.factor:.3f} (the median of (actual + 1) / (predicted + 1)), so an "
        "answer is c × (prediction + 1) − 1."
        if options.correct_level
        else "The answers (the point predictions) are those of the base model, unchanged."
    )
    return "\n".join(
        [
            f"# Model card: campaign purchases, {meta.display_name}",
            "",
            f"Version {meta.model_version}, created {meta.created_at}. Built by `{command}`.",
            "",
            "## What it was calibrated on",
            "",
            f"The fitted model of **{base.display_name}** (bundle `{base.name}`, version "
            f"{base.model_version}, training data fingerprint `{base.data_fingerprint[:16]}…`), "
            f"unchanged, with its range recalibrated on **{result.n} outcomes** from "
            f"`{outcomes.source}`{period} (outcomes fingerprint "
            f"`{meta.metrics['recalibration']['outcomes_fingerprint'][:16]}…`): campaigns that "
            "ran, with the purchases they actually brought.",
            "",
            "## What changed",
            "",
            f"- {level}",
            "- The range: normalized split-conformal, as the base bundle, refitted on the "
            "outcomes' residuals with the finite-sample correction. The residual scale "
            f"`(p + {cal['scale']['offset']:g}) ^ {cal['scale']['power']:.3f}` is kept from the "
            "base (its shape was fitted on the training campaigns). Quantiles: "
            + ", ".join(
                f"{float(k):.0%} q = {v:.3f} (base {base.interval['quantiles'].get(k, float('nan')):.3f})"
                for k, v in cal["quantiles"].items()
            )
            + ".",
            "",
            "## Coverage on outcomes held out from the fit",
            "",
            f"{min(options.folds, result.n)}-fold cross-validation: each outcome is measured "
            "by a recalibration fitted without it (level factor included). The base bundle's "
            "ranges were never fitted on these outcomes, so their coverage is measured on all "
            "of them. Plausible: the exact 95% binomial interval. On outcomes alike, the held-out "
            "share of a conformal range depends on little but their number (that is its "
            "guarantee); what varies is where the range lands on new campaigns: the last column "
            "gives the 5th to 95th percentile of its coverage there, for a range calibrated on "
            f"{result.n} outcomes like these.",
            "",
            "| level | base bundle's range | recalibrated range, held out | on new campaigns "
            "like these |",
            "|---|---|---|---|",
            *coverage_rows(result),
            "",
            "## Limitations",
            "",
            f"- The range is calibrated on {result.n} outcomes: it promises its coverage for "
            "campaigns like those, on average; with few outcomes the promise itself is "
            "uncertain (see the plausible shares above).",
            "- The model is not retrained: what drives its answers is still the training data.",
            "- Outcomes recorded later are not used until the bundle is recalibrated again.",
            "",
            "## The base model's card",
            "",
            *_demoted(base_card),
            "",
        ]
    )
