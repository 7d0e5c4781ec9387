"""The campaign table: the rules that turn checked campaigns, ads and purchases per ad into one
row per campaign. Both aggregation engines (pandas and Spark) end here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.checks import split_interests
from training.schema import AD_CATEGORIES, FLOAT_COLUMNS, TABLE_COLUMNS, TARGET_COLUMN


def campaign_table(
    campaigns: pd.DataFrame, ads: pd.DataFrame, purchases_by_ad: pd.Series
) -> pd.DataFrame:
    """The campaign table from campaigns, ads and the number of purchases of each ad_id.

    ``purchases_by_ad`` is indexed by ad_id; ad_ids that are not among ``ads`` are not counted.
    """
    ids = pd.Index(np.sort(campaigns["campaign_id"].to_numpy(dtype=np.int64)), name="campaign_id")
    by_id = campaigns.set_index("campaign_id").reindex(ids)
    ad_campaign = ads["campaign_id"].to_numpy(dtype=np.int64)

    table = pd.DataFrame(index=ids)
    table["duration_days"] = by_id["duration_days"].to_numpy(dtype=np.int64)
    table["total_budget"] = by_id["total_budget"].to_numpy(dtype=np.float64)
    table["start_month"] = pd.to_datetime(by_id["start_date"]).dt.month.to_numpy(dtype=np.int64)
    table["end_month"] = pd.to_datetime(by_id["end_date"]).dt.month.to_numpy(dtype=np.int64)
    table["num_ads"] = _count(pd.Series(ad_campaign), ids)

    interests = split_interests(pd.Series(ads["target_interests"].to_numpy(), dtype=str))
    pairs = pd.DataFrame(
        {"campaign_id": ad_campaign[interests.index.to_numpy()], "interest": interests.to_numpy()}
    )
    pairs = pairs[pairs["interest"].fillna("") != ""].drop_duplicates()
    table["num_unique_interests"] = _count(pairs["campaign_id"], ids)

    for column, categories in AD_CATEGORIES.items():
        values = ads[column].astype(str).to_numpy()
        unknown = sorted(set(values) - set(categories))
        if unknown:
            raise ValueError(
                f"ads column {column!r} has unknown values {unknown}; "
                f"allowed: {', '.join(categories)}"
            )
        for category in categories:
            table[f"{column}_{category}"] = _count(pd.Series(ad_campaign[values == category]), ids)

    purchases = purchases_by_ad.reindex(ads["ad_id"].to_numpy(dtype=np.int64), fill_value=0)
    per_campaign = pd.Series(purchases.to_numpy(dtype=np.int64)).groupby(ad_campaign).sum()
    table[TARGET_COLUMN] = per_campaign.reindex(ids, fill_value=0).to_numpy(dtype=np.int64)

    table = table.reset_index()[TABLE_COLUMNS]
    return table.astype({c: np.int64 for c in TABLE_COLUMNS if c not in FLOAT_COLUMNS})


def _count(campaign_ids: pd.Series, ids: pd.Index) -> np.ndarray:
    """How many times each id of ``ids`` occurs in ``campaign_ids`` (0 when absent)."""
    counts = campaign_ids.value_counts()
    return counts.reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
