"""Turn ads and events into one row per campaign: the model's 19 features and the target.

The campaign-level rules live in :func:`campaign_table`, written once: every engine reduces the
event log to purchases per ad (pandas in memory, Arrow batches streamed from disk, or Spark) and
hands that to the same function together with the checked campaigns and ads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from predictor.contract.csv_export import atomic_file
from training.campaigns import campaign_table
from training.data import (
    Dataset,
    find_tables,
    load_ads,
    load_campaigns,
    load_users,
    stream_purchases,
)
from training.schema import PURCHASE, TABLE_COLUMNS

__all__ = ["TABLE_COLUMNS", "aggregate_campaigns", "aggregate_dir", "campaign_table", "write_table"]

ENGINES: tuple[str, ...] = ("pandas", "spark")

Frames = Dataset | Mapping[str, pd.DataFrame]


def aggregate_campaigns(data: Frames) -> pd.DataFrame:
    """One row per campaign, sorted by campaign_id: campaign_id, the features, num_purchases.

    ``data`` is a :class:`Dataset` or a mapping with "campaigns", "ads" and "events" frames
    in the loader's schema (dates may be strings). Campaigns without ads or events get zero
    counts; ads of unknown campaigns and events of unknown ads are not counted.
    """
    campaigns, ads, events = _frames(data)
    purchases = events.loc[(events["event_type"] == PURCHASE).to_numpy(), "ad_id"]
    return campaign_table(campaigns, ads, purchases.value_counts())


def aggregate_dir(data_dir: str | Path, engine: str = "pandas", spark=None) -> pd.DataFrame:
    """Check the tables in ``data_dir`` and aggregate them per campaign.

    ``engine`` "pandas" streams the event log in Arrow batches on this machine (memory stays
    flat); "spark" reduces it with Spark: ``spark`` or the active session, else ``local[2]``.
    Both give the same table and refuse bad data with the same :class:`DataError`.
    """
    if engine == "spark":
        from training.aggregate_spark import aggregate_spark

        return aggregate_spark(data_dir, spark)
    if engine != "pandas":
        raise ValueError(f"engine must be one of {', '.join(ENGINES)} (got {engine!r})")
    tables = find_tables(data_dir)
    campaigns = load_campaigns(tables.campaigns)
    ads = load_ads(tables.ads, campaign_ids=campaigns["campaign_id"])
    purchases = stream_purchases(tables.events, ads["ad_id"])
    if tables.users:
        load_users(tables.users)
    return campaign_table(campaigns, ads, purchases)


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a campaign table as CSV (creating the parent folder) and return its path.

    The file is written through a temporary file: it is complete, or left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, newline="", encoding="utf-8") as out:
        table.to_csv(out, index=False, lineterminator="\n")
    return path


def _frames(data: Frames) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    if isinstance(data, Dataset):
        return data.campaigns, data.ads, data.events
    missing = [name for name in ("campaigns", "ads", "events") if name not in data]
    if missing:
        raise ValueError(f"aggregate_campaigns needs the frames {missing}")
    return data["campaigns"], data["ads"], data["events"]
