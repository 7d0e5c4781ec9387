"""Whether an endpoint's answer is plausible, judged against the local model on the same rows.

The bundle's metadata holds no purchase counts, so the band comes from the local model's answer
for the same plan, which was fitted on the training data and is always at hand for the fallback.
For each row, with the local prediction ``p`` and its range ``[l, u]`` at the widest calibrated
level (95% for the shipped bundles):

- the highest plausible value is ``FACTOR × max(u, MIN_UPPER)``: ten times the most the local
  model finds likely for a plan of that size, and never less than 100 purchases;
- the lowest plausible point is ``min(p, 0) − max(u − l, 1)``: a linear model may answer slightly
  below zero for a tiny plan (the page shows 0), but not further below than its range is wide;
- a range sent by the endpoint must contain the whole-number answer shown (``round(max(x, 0))``)
  and stay under the highest plausible value.

An endpoint serving the same bundle answers exactly the local values, and a retrained one stays
well inside; an answer outside the band is an endpoint failure, and the local model answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictor.contract.formatting import fmt_count
from predictor.serving.endpoint_errors import ImplausibleAnswerError

FACTOR = 10.0
MIN_UPPER = 10.0


@dataclass(frozen=True)
class PlausibleBand:
    """Per row: the lowest plausible point and the highest plausible point or upper bound."""

    low: np.ndarray
    high: np.ndarray


def plausible_band(points: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> PlausibleBand:
    """The band around the local model's ``points`` and their widest calibrated range."""
    p = np.asarray(points, dtype=float)
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    return PlausibleBand(
        low=np.minimum(p, 0.0) - np.maximum(hi - lo, 1.0),
        high=FACTOR * np.maximum(hi, MIN_UPPER),
    )


def _problem(
    x: float, bounds: tuple[int, int] | None, low: float, high: float
) -> tuple[str, str] | None:
    """(log text, page text) of what is implausible about one row's answer, or None."""
    if x > high:
        return (
            f"{x:g} purchases, above the plausible {high:g}",
            f"{fmt_count(x)} purchases, where at most {fmt_count(high)} are plausible",
        )
    if x < low:
        return (f"{x:g} purchases, below the plausible {low:g}", f"{fmt_count(x)} purchases")
    if bounds is None:
        return None
    lower, upper = bounds
    shown = round(max(x, 0.0))
    span = f"{fmt_count(lower)}–{fmt_count(upper)}"
    if upper > high:
        return (
            f"a range of {lower}-{upper}, above the plausible {high:g}",
            f"a range of {span}, where at most {fmt_count(high)} are plausible",
        )
    if not lower <= shown <= upper:
        return (
            f"a range of {lower}-{upper} without its answer {shown}",
            f"a range of {span} that leaves out its answer {fmt_count(shown)}",
        )
    return None


def check_plausible(
    raw: np.ndarray, bounds: tuple[np.ndarray, np.ndarray] | None, band: PlausibleBand
) -> None:
    """Raise :class:`ImplausibleAnswerError` for the first row whose answer leaves ``band``."""
    values = np.asarray(raw, dtype=float)
    inside = (values >= band.low) & (values <= band.high)
    if bounds is not None:
        lower, upper = bounds
        shown = np.rint(np.clip(values, 0.0, None))
        inside &= (upper <= band.high) & (lower <= shown) & (shown <= upper)
    if inside.all():
        return
    i = int(np.argmin(inside))
    row_bounds = (int(bounds[0][i]), int(bounds[1][i])) if bounds is not None else None
    found = _problem(float(values[i]), row_bounds, float(band.low[i]), float(band.high[i]))
    log_text, page_text = found or ("an implausible value", "an implausible value")
    where = f"row {i + 1} of {len(values)}: " if len(values) > 1 else ""
    raise ImplausibleAnswerError(
        f"the endpoint answered {where}{log_text} (judged against the local model)",
        f"{where}{page_text}",
    )
