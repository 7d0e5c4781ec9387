"""What scoring a table of valid feature rows gives: predictions, whole bounds, backend, notices."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Scored:
    """Raw predictions with whole-number ``lower``/``upper`` bounds, one per row.

    ``backend`` names what answered (``local``, ``databricks`` or ``guardrail``); ``notices`` say
    how the answer was made (a fallback, a range taken from the local calibration...).
    """

    raw: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    backend: str
    notices: tuple[str, ...] = ()

    def noted(self, notice: str) -> Scored:
        """A copy with ``notice`` appended."""
        return replace(self, notices=(*self.notices, notice))

    def head(self, n: int) -> Scored:
        """The first ``n`` rows."""
        return replace(self, raw=self.raw[:n], lower=self.lower[:n], upper=self.upper[:n])


@dataclass(frozen=True)
class FrameScore:
    """A scored table and the mask of its rows outside the training data (``extrapolated``)."""

    scored: Scored
    outside: np.ndarray
