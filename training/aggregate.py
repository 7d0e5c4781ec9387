"""Turn ads and events into one row per campaign: the model's 19 features and the target."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.features import AD_CATEGORIES, FEATURE_COLUMNS, TARGET_COLUMN
from training.data import Dataset, load_dataset, split_interests

TABLE_COLUMNS: list[str] = ["campaign_id", *FEATURE_COLUMNS, TARGET_COLUMN]

Frames = Dataset | Mapping[str, pd.DataFrame]


def aggregate_campaigns(data: Frames) -> pd.DataFrame:
    """One row per campaign, sorted by campaign_id: campaign_id, the features, num_purchases.

    ``data`` is a :class:`Dataset` or a mapping with "campaigns", "ads" and "events" frames
    in the loader's schema (dates may be strings). Campaigns without ads or events get zero
    counts; ads of unknown campaigns and events of unknown ads are not counted.
    """
    campaigns, ads, events = _frames(data)
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

    purchases = events.loc[(events["event_type"] == "Purchase").to_numpy(), "ad_id"]
    ad_to_campaign = pd.Series(ad_campaign, index=ads["ad_id"].to_numpy(dtype=np.int64))
    purchase_campaigns = purchases.map(ad_to_campaign).dropna().astype(np.int64)
    table[TARGET_COLUMN] = _count(purchase_campaigns, ids)

    return table.reset_index()[TABLE_COLUMNS]


def aggregate_dir(data_dir: str | Path) -> pd.DataFrame:
    """Load and validate the CSV files in ``data_dir`` and aggregate them per campaign."""
    return aggregate_campaigns(load_dataset(data_dir))


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a campaign table as CSV (creating the parent folder) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, lineterminator="\n")
    return path


def _frames(data: Frames) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    if isinstance(data, Dataset):
        return data.campaigns, data.ads, data.events
    missing = [name for name in ("campaigns", "ads", "events") if name not in data]
    if missing:
        raise ValueError(f"aggregate_campaigns needs the frames {missing}")
    return data["campaigns"], data["ads"], data["events"]


def _count(campaign_ids: pd.Series, ids: pd.Index) -> np.ndarray:
    """How many times each id of ``ids`` occurs in ``campaign_ids`` (0 when absent)."""
    counts = campaign_ids.value_counts()
    return counts.reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
