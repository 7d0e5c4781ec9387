"""Input tables for the data, aggregation and training tests.

A tiny valid dataset written from text, copies of the real-format sample, generated logs and
Parquet copies of CSV tables.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tests.support.common import SAMPLE
from training.generate import Effects, generate, write_dataset

TABLES = ("campaigns", "ads", "ad_events")
# A tenth of the default impressions: 200 campaigns then log about 170,000 events of every type,
# enough for many batches and partitions while Spark stays quick.
LIGHT = Effects(imp_scale=2.2)

# The tiny valid dataset: two campaigns, three ads, three events, three users.
CAMPAIGNS = """\
campaign_id,name,start_date,end_date,duration_days,total_budget
1,Spring,2025-03-01,2025-04-10,40,1000.5
2,Summer,2025-06-15,2025-08-01,47,2500
"""
ADS = """\
ad_id,campaign_id,ad_platform,ad_type,target_gender,target_age_group,target_interests
10,1,Facebook,Image,All,18-24,"art, technology"
11,1,Instagram,Video,Female,All,art
12,2,Facebook,Stories,Male,25-34,"fitness, food"
"""
EVENTS = """\
event_id,ad_id,user_id,timestamp,day_of_week,time_of_day,event_type
1,10,00e12,2025-03-02 10:00:00,Sunday,Morning,Impression
2,10,2359b,2025-03-02 10:05:00,Sunday,Morning,Purchase
3,12,1e500,2025-06-20 21:00:00,Friday,Night,Purchase
"""
USERS = """\
user_id,user_gender,user_age,age_group,country,location,interests
00e12,Female,29,25-34,Germany,Berlin,"art, travel"
2359b,Male,41,35-44,Brazil,Recife,fitness
1e500,Other,19,18-24,India,Pune,"gaming, food"
"""
FILES = {
    "campaigns.csv": CAMPAIGNS,
    "ads.csv": ADS,
    "ad_events.csv": EVENTS,
    "users.csv": USERS,
}
# write_files() keyword for each file.
KEYS = {
    "campaigns.csv": "campaigns",
    "ads.csv": "ads",
    "ad_events.csv": "events",
    "users.csv": "users",
}


def write_files(folder: Path, **overrides: str | None) -> Path:
    """Write the tiny valid dataset, replacing a file's text (None leaves the file out)."""
    texts = {name: overrides.get(KEYS[name], text) for name, text in FILES.items()}
    for name, text in texts.items():
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def copy_sample(folder: Path) -> Path:
    """A copy of the real-format sample in ``folder``."""
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("*.md"))
    return folder


def write_generated(folder: Path, campaigns: int = 200, seed: int = 5) -> Path:
    """Generated CSV files (users and ground truth included) in ``folder``."""
    return write_dataset(generate(campaigns, seed, effects=LIGHT), folder)


def replace_line(path: Path, line: int, new: str) -> str:
    """Replace the 1-based ``line`` of a file by ``new``; returns the old text of that line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    old, lines[line - 1] = lines[line - 1], new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return old


def to_parquet(source: Path, folder: Path, *, events_as_folder: bool = False) -> Path:
    """The CSV tables of ``source`` as Parquet, with the types Arrow infers (ids as integers,
    dates as timestamps, categories dictionary-encoded). With ``events_as_folder`` the event log
    becomes a folder of several Parquet files, as Spark writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        options = pacsv.ConvertOptions(
            column_types={"user_id": pa.string(), "target_interests": pa.string()},
            auto_dict_encode=True,
        )
        table = pacsv.read_csv(source / f"{name}.csv", convert_options=options)
        if name == "ad_events" and events_as_folder:
            (folder / name).mkdir()
            step = -(-table.num_rows // 3)
            for part, start in enumerate(range(0, table.num_rows, step)):
                pq.write_table(table.slice(start, step), folder / name / f"part-{part}.parquet")
        else:
            pq.write_table(table, folder / f"{name}.parquet")
    return folder
