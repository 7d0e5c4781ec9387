"""The track record: how the predictions held up against the results recorded for them.

Small pure functions on the frame of :meth:`predictor.record.outcomes.OutcomeStore.read_frame`
(or any frame with its columns): the share of results inside their range against the level
promised, with an exact (Clopper–Pearson) binomial interval, the median bias, per model and
version, and the sentences that say it in plain words. With fewer than :data:`MIN_OUTCOMES`
results, the sentences say it is too early to judge instead of giving a percentage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictor.contract.formatting import fmt_level

MIN_OUTCOMES = 10
# How sure the "plausible" interval of a share is.
CONFIDENCE = 0.95
# A median bias smaller than this reads as "about as many as predicted".
NEGLIGIBLE_BIAS = 0.01
POINT_COLUMNS = ["predicted", "actual", "lower", "upper", "level", "inside", "group"]
UNKNOWN_VERSION = "unknown version"


def binomial_interval(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval of a share of ``k`` in ``n``: the shares that would
    make ``k`` plausible at ``confidence``. ``(0, 1)`` for ``n == 0``."""
    if not 0 <= k <= n:
        raise ValueError(f"k must be between 0 and n (got k={k}, n={n})")
    if n == 0:
        return 0.0, 1.0
    from scipy.stats import beta

    tail = (1 - confidence) / 2
    low = 0.0 if k == 0 else float(beta.ppf(tail, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - tail, k + 1, n - k))
    return low, high


def inside_range(frame: pd.DataFrame) -> np.ndarray:
    """Whether each result fell inside the range shown for it (bounds included)."""
    actual = pd.to_numeric(frame["actual_purchases"]).to_numpy(dtype=float)
    lower = pd.to_numeric(frame["lower"]).to_numpy(dtype=float)
    upper = pd.to_numeric(frame["upper"]).to_numpy(dtype=float)
    return (actual >= lower) & (actual <= upper)


@dataclass(frozen=True)
class Coverage:
    """How many of ``n`` results at one range ``level`` fell inside their range."""

    level: float
    n: int
    inside: int

    @property
    def judged(self) -> bool:
        """Enough results to say something (at least :data:`MIN_OUTCOMES`)."""
        return self.n >= MIN_OUTCOMES

    @property
    def share(self) -> float:
        return self.inside / self.n if self.n else float("nan")

    @property
    def plausible(self) -> tuple[float, float]:
        return binomial_interval(self.inside, self.n)

    @property
    def verdict(self) -> str:
        """``too early``, ``too narrow``, ``too wide`` or ``as promised``."""
        if not self.judged:
            return "too early"
        low, high = self.plausible
        if self.level > high:
            return "too narrow"
        if self.level < low:
            return "too wide"
        return "as promised"


def coverage_by_level(frame: pd.DataFrame) -> list[Coverage]:
    """One :class:`Coverage` per range level among the results, lowest level first."""
    if frame.empty:
        return []
    inside = inside_range(frame)
    levels = pd.to_numeric(frame["level"]).round(4).to_numpy()
    return [
        Coverage(float(lv), int((levels == lv).sum()), int(inside[levels == lv].sum()))
        for lv in sorted(set(levels.tolist()))
    ]


def _results(n: int) -> str:
    return "1 result" if n == 1 else f"{n:,} results"


def coverage_sentence(c: Coverage) -> str:
    """E.g. "31 of 40 results fell inside the 90% range (78%, plausible 62–89%): the ranges look
    too narrow for your campaigns." With too few results, says it is too early to judge."""
    level = fmt_level(c.level)
    if not c.judged:
        return (
            f"{_results(c.n)} recorded with a {level} range: too early to judge the ranges "
            f"(at least {MIN_OUTCOMES} are needed)."
        )
    low, high = c.plausible
    head = (
        f"{c.inside:,} of {_results(c.n)} fell inside the {level} range "
        f"({c.share:.0%}, plausible {low * 100:.0f}–{high:.0%})"
    )
    tail = {
        "too narrow": "the ranges look too narrow for your campaigns.",
        "too wide": "the ranges look wider than they need to be for your campaigns.",
        "as promised": f"in line with the {level} promised.",
    }[c.verdict]
    return f"{head}: {tail}"


@dataclass(frozen=True)
class Bias:
    """The median of actual ÷ predicted, minus 1, over ``n`` results predicted above 0
    (``skipped`` were predicted 0, where a ratio means nothing)."""

    median: float
    n: int
    skipped: int


def median_bias(frame: pd.DataFrame) -> Bias | None:
    """The median relative difference of actual from predicted purchases; None when no result
    was predicted above 0."""
    predicted = pd.to_numeric(frame["predicted"]).to_numpy(dtype=float)
    actual = pd.to_numeric(frame["actual_purchases"]).to_numpy(dtype=float)
    used = predicted > 0
    if not used.any():
        return None
    ratio = actual[used] / predicted[used]
    return Bias(float(np.median(ratio) - 1), int(used.sum()), int((~used).sum()))


def bias_sentence(bias: Bias | None, n: int) -> str:
    """E.g. "Your campaigns brought 24% more purchases than predicted, on the median." """
    if n < MIN_OUTCOMES:
        return f"Too early to tell whether the predictions run high or low ({_results(n)})."
    if bias is None:
        return "Every result was predicted at 0 purchases, so there is no ratio to compare."
    if abs(bias.median) < NEGLIGIBLE_BIAS:
        text = "Your campaigns brought about as many purchases as predicted, on the median"
    else:
        more = "more" if bias.median > 0 else "fewer"
        text = (
            f"Your campaigns brought {abs(bias.median):.0%} {more} purchases than predicted, "
            "on the median"
        )
    if bias.skipped:
        text += f" ({bias.skipped:,} predicted at 0 left out)"
    return text + "."


def group_label(model: str, version: object, labels: Mapping[str, str] | None = None) -> str:
    """``Ridge + SelectKBest, version 1.0.0`` (the model's label when given)."""
    name = (labels or {}).get(model, model)
    text = str(version) if isinstance(version, str) and version else ""
    return f"{name}, version {text}" if text else f"{name}, {UNKNOWN_VERSION}"


def _group_keys(frame: pd.DataFrame) -> pd.Series:
    versions = frame["model_version"].where(frame["model_version"].notna(), "")
    return frame["model"].astype(str) + "\x00" + versions.astype(str)


@dataclass(frozen=True)
class Section:
    """The sentences about one set of results: all of them, or one model version's."""

    title: str
    n: int
    coverage: tuple[Coverage, ...]
    bias: Bias | None

    @property
    def sentences(self) -> list[str]:
        return [
            *(coverage_sentence(c) for c in self.coverage),
            bias_sentence(self.bias, self.n),
        ]


def section(frame: pd.DataFrame, title: str) -> Section:
    """The :class:`Section` of ``frame``'s results."""
    bias = median_bias(frame) if len(frame) else None
    return Section(title, len(frame), tuple(coverage_by_level(frame)), bias)


def track_record(frame: pd.DataFrame, labels: Mapping[str, str] | None = None) -> list[Section]:
    """All results, then one section per model and version when more than one answered."""
    sections = [section(frame, "All results")]
    if frame.empty:
        return sections
    keys = _group_keys(frame)
    if keys.nunique() > 1:
        for key in keys.unique():  # in the order they first answered
            model, version = key.split("\x00")
            sections.append(section(frame[keys == key], group_label(model, version, labels)))
    return sections


def points(frame: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One point per result: predicted, actual, the range, inside or not, and its model version."""
    if frame.empty:
        return pd.DataFrame(columns=POINT_COLUMNS)
    groups = [
        group_label(m, v, labels)
        for m, v in zip(frame["model"], frame["model_version"], strict=True)
    ]
    return pd.DataFrame(
        {
            "predicted": pd.to_numeric(frame["predicted"]).to_numpy(dtype=int),
            "actual": pd.to_numeric(frame["actual_purchases"]).to_numpy(dtype=int),
            "lower": pd.to_numeric(frame["lower"]).to_numpy(dtype=int),
            "upper": pd.to_numeric(frame["upper"]).to_numpy(dtype=int),
            "level": pd.to_numeric(frame["level"]).to_numpy(dtype=float),
            "inside": inside_range(frame),
            "group": groups,
        }
    )


def report_text(sections: list[Section]) -> str:
    """The track record as plain text: a title line per section, then its sentences."""
    if not sections or sections[0].n == 0:
        return "No results are recorded yet: record what a plan brought, then look again."
    lines: list[str] = []
    for s in sections:
        lines.append(f"{s.title} ({_results(s.n)}):")
        lines.extend(f"  {sentence}" for sentence in s.sentences)
    return "\n".join(lines)
