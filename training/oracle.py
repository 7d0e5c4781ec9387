"""The synthetic generator's truth for any plan: its expected purchases, as ``generate`` makes them.

``generate`` draws each ad's platform, format, target gender, target age group and interests, and
its ``expected_purchases`` (the ground truth) sums the ads' expected funnels. A plan fixes only the
counts per category, not which platform goes with which format, nor how many ads target two
interests. The truth of a plan is the expectation over what it leaves open: categories paired at
random (so each ad's factors average to the mix's mean factors) and interests spread as the
generator spreads them, given the number of ads and of unique interests (a table computed once by
simulating the generator's interest draws).

Per ad and day the generator expects ``imp_scale * reach * (daily spend / 100) ** elasticity``
impressions, ``ctr`` of them clicked and ``cvr`` of those bought, with a daily spend of
``budget / (ads * days)``. Summed over the ads and days of a plan with ``n`` ads::

    days ** (1 - e) * imp_scale * (budget / (100 * n)) ** e * base_ctr * base_cvr * season
        * n * mean(platform) * mean(format) * mean(gender * broad) * mean(age * broad)
        * E[interest reach]
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from predictor.contract.features import AD_CATEGORIES, AGE_GROUPS, GENDERS
from training.generate import Effects
from training.schema import INTERESTS

_SIMULATED = 200_000  # campaigns per number of ads in the interest table


def _factors(fx: Effects) -> dict[str, np.ndarray]:
    """Each mix's per-ad factor, in the order of its categories (``AD_CATEGORIES``)."""
    broad_gender = np.array([fx.broad_reach if g == "All" else 1.0 for g in GENDERS])
    broad_age = np.array([fx.broad_reach if a == "All" else 1.0 for a in AGE_GROUPS])
    return {
        "ad_platform": np.array(fx.platform_ctr, dtype=float),
        "ad_type": np.array(fx.format_ctr, dtype=float),
        "target_gender": np.array(fx.gender_cvr) * broad_gender,
        "target_age_group": np.array(fx.age_cvr) * broad_age,
    }


@functools.cache
def interest_reach(max_ads: int = 10, seed: int = 0) -> np.ndarray:
    """``table[n, k]``: expected interest reach factor of an ad, for ``n`` ads with ``k`` unique
    interests between them, by simulating the generator's interest draws (each ad 1 or 2 of the
    13 interests). Combinations never drawn take the nearest ``k`` that was."""
    fx = Effects()
    rng = np.random.default_rng(seed)
    m = len(INTERESTS)
    table = np.full((max_ads + 1, 2 * max_ads + 2), np.nan)
    table[0, :] = 1.0
    for n in range(1, max_ads + 1):
        two = rng.random((_SIMULATED, n)) < 0.5
        first = rng.integers(0, m, (_SIMULATED, n))
        second = (first + rng.integers(1, m, (_SIMULATED, n))) % m
        seen = np.zeros((_SIMULATED, m), dtype=bool)
        rows = np.repeat(np.arange(_SIMULATED), n)
        seen[rows, first.ravel()] = True
        seen[rows[two.ravel()], second.ravel()[two.ravel()]] = True
        unique = seen.sum(axis=1)
        reach = 1.0 + (fx.second_interest_reach - 1.0) * two.mean(axis=1)
        sums = np.bincount(unique, reach, minlength=table.shape[1])[: table.shape[1]]
        counts = np.bincount(unique, minlength=table.shape[1])[: table.shape[1]]
        drawn = np.flatnonzero(counts)
        row = np.full(table.shape[1], np.nan)
        row[drawn] = sums[drawn] / counts[drawn]
        nearest = drawn[np.abs(np.arange(table.shape[1])[:, None] - drawn[None, :]).argmin(axis=1)]
        table[n] = row[nearest]
    return table


def true_purchases(features: pd.DataFrame, effects: Effects | None = None) -> np.ndarray:
    """The generator's expected purchases of each plan (rows of the 19 model inputs)."""
    fx = effects or Effects()
    days = features["duration_days"].to_numpy(dtype=float)
    budget = features["total_budget"].to_numpy(dtype=float)
    n = features["num_ads"].to_numpy(dtype=float)
    months = features["start_month"].to_numpy(dtype=np.int64)
    safe_n = np.maximum(n, 1.0)
    mixes = np.ones(len(features))
    for column, factors in _factors(fx).items():
        counts = features[[f"{column}_{c}" for c in AD_CATEGORIES[column]]].to_numpy(dtype=float)
        total = counts.sum(axis=1)
        mean = np.divide(counts @ factors, total, out=np.ones(len(features)), where=total > 0)
        mixes *= mean
    table = interest_reach()
    rows = np.clip(n.astype(np.int64), 0, table.shape[0] - 1)
    cols = np.clip(features["num_unique_interests"].to_numpy(dtype=np.int64), 0, table.shape[1] - 1)
    interests = table[rows, cols]
    e = fx.spend_elasticity
    per_ad = (
        days ** (1 - e)
        * fx.imp_scale
        * (budget / (100.0 * safe_n)) ** e
        * fx.base_ctr
        * fx.base_cvr
        * np.array(fx.season_cvr)[months - 1]
    )
    out = n * per_ad * mixes * interests
    return np.where(n > 0, out, 0.0)
