"""A simulated marketer whose campaigns differ from the training data, for measuring outcomes.

The synthetic generator with changed effects: ``more=1.4`` brings 40% more purchases at the same
plan (every conversion rate times 1.4); ``noise=2`` doubles the spread of the hidden creative
quality (its log-sd). The campaigns come back as outcomes: the plan's columns and
``actual_purchases``, as ``python -m predictor outcomes add`` and ``python -m training
recalibrate`` read them.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from predictor.contract.features import TARGET_COLUMN
from predictor.contract.plan import COLUMN_FIELDS
from training.aggregate import aggregate_campaigns
from training.generate import Effects, generate


def marketer_effects(more: float = 1.0, noise: float = 1.0) -> Effects:
    """The generator's effects for a marketer with ``more`` times the purchases and ``noise``
    times the creative-quality spread of the training data."""
    base = Effects()
    return replace(base, base_cvr=base.base_cvr * more, creative_sigma=base.creative_sigma * noise)


def marketer_outcomes(n: int, seed: int, more: float = 1.0, noise: float = 1.0) -> pd.DataFrame:
    """``n`` campaigns of such a marketer as outcomes (plan columns and ``actual_purchases``)."""
    tables = generate(n, seed, effects=marketer_effects(more, noise), purchases_only=True)
    table = aggregate_campaigns(
        {"campaigns": tables["campaigns"], "ads": tables["ads"], "events": tables["ad_events"]}
    )
    plans = pd.DataFrame({field: table[column] for column, field in COLUMN_FIELDS.items()})
    plans["total_budget"] = plans["total_budget"].astype(float)
    return plans.assign(actual_purchases=table[TARGET_COLUMN].astype(int))
