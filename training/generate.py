"""Synthetic ad logs in the schema of the "Social Media Advertisement Performance" dataset.

The data-generating process is documented in training/README.md. In short: every ad runs every
day of its campaign; per ad and day, impressions follow the daily spend with diminishing
returns, clicks are a binomial share of impressions and purchases a binomial share of clicks.
Platform, format, targeting, interests, season and a hidden creative quality move the rates;
a gamma shock per ad and day makes the counts overdispersed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.contract.features import AD_TYPES, AGE_GROUPS, GENDERS, PLATFORMS
from training.schema import DAYS_OF_WEEK, EVENT_TYPES, INTERESTS, TIMES_OF_DAY

YEAR = 2025


@dataclass(frozen=True)
class Effects:
    """Sizes of the effects in the data-generating process (documented in training/README.md)."""

    duration_range: tuple[int, int] = (14, 120)
    budget_range: tuple[float, float] = (5_000.0, 120_000.0)
    max_ads: int = 10
    share_without_ads: float = 0.02
    # Impressions per ad-day = imp_scale * (daily spend per ad / 100) ** spend_elasticity.
    imp_scale: float = 22.0
    spend_elasticity: float = 0.6
    base_ctr: float = 0.11
    base_cvr: float = 0.042
    platform_ctr: tuple[float, ...] = (1.0, 1.2)  # Facebook, Instagram
    format_ctr: tuple[float, ...] = (1.1, 1.0, 0.85, 1.3)  # Carousel, Image, Stories, Video
    gender_cvr: tuple[float, ...] = (0.85, 1.05, 1.0)  # All, Female, Male
    age_cvr: tuple[float, ...] = (0.95, 1.2, 1.1, 0.85)  # 18-24, 25-34, 35-44, All
    broad_reach: float = 1.25  # impressions multiplier of an "All" gender or age target
    second_interest_reach: float = 1.15
    # Start-month seasonality of conversion (January..December); holidays convert best.
    season_cvr: tuple[float, ...] = (
        0.85,
        0.8,
        0.9,
        0.95,
        1.0,
        0.95,
        0.9,
        0.95,
        1.0,
        1.05,
        1.3,
        1.35,
    )
    creative_sigma: float = 0.45  # log-sd of the hidden creative quality (mean 1)
    daily_shape: float = 1.5  # gamma shape of the per ad-day shock (mean 1)
    engagement_rates: tuple[float, ...] = (
        0.022,
        0.016,
        0.007,
    )  # Like, Comment, Share per impression
    num_users: int = 10_000


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1)."""
    u = rng.random(probs.shape[0])[:, None]
    return np.minimum((u > np.cumsum(probs, axis=1)).sum(axis=1), probs.shape[1] - 1)


@dataclass
class _Campaigns:
    """The campaigns table, and its columns as arrays for the steps that follow."""

    table: pd.DataFrame
    duration: np.ndarray
    budget: np.ndarray
    start: np.ndarray  # datetime64[D]
    num_ads: np.ndarray


@dataclass
class _Ads:
    """The ads table, each ad's campaign (an index) and its drawn categories."""

    table: pd.DataFrame
    campaign: np.ndarray
    cats: dict[str, np.ndarray]
    n_interests: np.ndarray


@dataclass
class _Funnel:
    """Per ad: days run, expected impressions per day, click and purchase rates."""

    days: np.ndarray
    imp_rate: np.ndarray
    ctr: np.ndarray
    cvr: np.ndarray

    @property
    def expected_purchases(self) -> np.ndarray:
        """Expected purchases of each ad over its run (without the hidden quality and shocks)."""
        return self.days * self.imp_rate * self.ctr * self.cvr


def _campaigns(rng: np.random.Generator, fx: Effects, n_campaigns: int) -> _Campaigns:
    """Duration, budget, start date and number of ads of each campaign."""
    cid = np.arange(1, n_campaigns + 1)
    duration = rng.integers(fx.duration_range[0], fx.duration_range[1] + 1, n_campaigns)
    lo, hi = np.log(fx.budget_range[0]), np.log(fx.budget_range[1])
    budget = np.round(np.exp(rng.uniform(lo, hi, n_campaigns)), 2)
    start = np.datetime64(f"{YEAR}-01-01") + rng.integers(0, 365, n_campaigns).astype(
        "timedelta64[D]"
    )
    end = start + duration.astype("timedelta64[D]")
    num_ads = 1 + rng.binomial(fx.max_ads - 1, 0.35, n_campaigns)
    num_ads[rng.random(n_campaigns) < fx.share_without_ads] = 0
    themes = np.array(["Launch", "Summer", "Winter", "Holiday", "Retargeting", "Awareness"])
    table = pd.DataFrame(
        {
            "campaign_id": cid,
            "name": [
                f"Campaign_{i}_{t}"
                for i, t in zip(cid, rng.choice(themes, n_campaigns), strict=True)
            ],
            "start_date": np.datetime_as_string(start, unit="D"),
            "end_date": np.datetime_as_string(end, unit="D"),
            "duration_days": duration,
            "total_budget": budget,
        }
    )
    return _Campaigns(table, duration, budget, start, num_ads)


def _ads(rng: np.random.Generator, campaigns: _Campaigns) -> _Ads:
    """The ads; each campaign has its own leaning per category, so mixes vary between campaigns."""
    n_campaigns = len(campaigns.num_ads)
    ad_cidx = np.repeat(np.arange(n_campaigns), campaigns.num_ads)
    n_ads = ad_cidx.size
    cats = {}
    for name, k in (("platform", 2), ("type", 4), ("gender", 3), ("age", 4)):
        lean = rng.dirichlet(np.full(k, 1.5), n_campaigns)
        cats[name] = _pick(rng, lean[ad_cidx])
    n_interests = 1 + (rng.random(n_ads) < 0.5)
    first = rng.integers(0, len(INTERESTS), n_ads)
    second = (first + rng.integers(1, len(INTERESTS), n_ads)) % len(INTERESTS)
    interest_names = np.array(INTERESTS, dtype=object)
    target_interests = np.where(
        n_interests == 2,
        interest_names[first] + ", " + interest_names[second],
        interest_names[first],
    )
    ad_id = rng.permutation(n_ads) + 1  # the original's ads are not sorted by id
    table = pd.DataFrame(
        {
            "ad_id": ad_id,
            "campaign_id": campaigns.table["campaign_id"].to_numpy()[ad_cidx],
            "ad_platform": np.array(PLATFORMS)[cats["platform"]],
            "ad_type": np.array(AD_TYPES)[cats["type"]],
            "target_gender": np.array(GENDERS)[cats["gender"]],
            "target_age_group": np.array(AGE_GROUPS)[cats["age"]],
            "target_interests": target_interests,
        }
    )
    return _Ads(table, ad_cidx, cats, n_interests)


def _funnel(fx: Effects, campaigns: _Campaigns, ads: _Ads) -> _Funnel:
    """Funnel rates per ad: what the planner controls, before the hidden creative quality."""
    cats, ad_cidx = ads.cats, ads.campaign
    broad = np.where(cats["gender"] == GENDERS.index("All"), fx.broad_reach, 1.0) * np.where(
        cats["age"] == AGE_GROUPS.index("All"), fx.broad_reach, 1.0
    )
    reach = broad * np.where(ads.n_interests == 2, fx.second_interest_reach, 1.0)
    start_month = (campaigns.start.astype("datetime64[M]").astype(int) % 12)[ad_cidx]
    ctr = (
        fx.base_ctr
        * np.array(fx.platform_ctr)[cats["platform"]]
        * np.array(fx.format_ctr)[cats["type"]]
    )
    cvr = (
        fx.base_cvr
        * np.array(fx.gender_cvr)[cats["gender"]]
        * np.array(fx.age_cvr)[cats["age"]]
        * np.array(fx.season_cvr)[start_month]
    )
    ad_duration = campaigns.duration[ad_cidx]
    daily_spend = campaigns.budget[ad_cidx] / (campaigns.num_ads[ad_cidx] * ad_duration)
    imp_rate = fx.imp_scale * reach * (daily_spend / 100.0) ** fx.spend_elasticity
    return _Funnel(ad_duration, imp_rate, ctr, cvr)


def _ad_days(
    rng: np.random.Generator, fx: Effects, funnel: _Funnel, quality: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ad-days: impressions -> clicks -> purchases, with a gamma shock on the day's conversion.

    Returns the counts (one row per event type, in ``EVENT_TYPES`` order, one column per
    ad-day), each ad-day's ad (an index) and its day within the ad's run.
    """
    days = funnel.days
    day_ad = np.repeat(np.arange(days.size), days)
    day_offset = np.arange(day_ad.size) - np.repeat(np.cumsum(days) - days, days)
    impressions = rng.poisson(funnel.imp_rate[day_ad])
    clicks = rng.binomial(impressions, np.minimum(funnel.ctr[day_ad] * quality[day_ad], 0.9))
    shock = rng.gamma(fx.daily_shape, 1.0 / fx.daily_shape, day_ad.size)
    purchases = rng.binomial(clicks, np.minimum(funnel.cvr[day_ad] * shock, 1.0))
    engagement = [rng.binomial(impressions, r) for r in fx.engagement_rates]
    counts = np.stack([impressions, clicks, engagement[0], engagement[1], engagement[2], purchases])
    return counts, day_ad, day_offset


def generate(
    n_campaigns: int = 600,
    seed: int = 42,
    effects: Effects | None = None,
    purchases_only: bool = False,
) -> dict[str, pd.DataFrame]:
    """Generate the four tables plus ``ground_truth``, deterministic for a given seed.

    With ``purchases_only`` the event log holds only the Purchase events (same campaigns, ads
    and purchase counts as the full log): enough to aggregate, and much faster.
    """
    if n_campaigns < 1:
        raise ValueError("--campaigns must be at least 1")
    fx = effects or Effects()
    rng = np.random.default_rng(seed)
    campaigns = _campaigns(rng, fx, n_campaigns)
    ads = _ads(rng, campaigns)
    funnel = _funnel(fx, campaigns, ads)
    ground_truth = pd.DataFrame(
        {
            "campaign_id": campaigns.table["campaign_id"],
            "expected_purchases": np.round(
                np.bincount(ads.campaign, funnel.expected_purchases, n_campaigns), 6
            ),
        }
    )
    quality = rng.lognormal(-(fx.creative_sigma**2) / 2, fx.creative_sigma, len(ads.table))
    counts, day_ad, day_offset = _ad_days(rng, fx, funnel, quality)
    if purchases_only:
        counts[:-1] = 0
    ad_id = ads.table["ad_id"].to_numpy()
    ad_start = campaigns.start[ads.campaign]
    events = _events(rng, counts, EVENT_TYPES, day_ad, day_offset, ad_id, ad_start, fx.num_users)
    return {
        "campaigns": campaigns.table,
        "ads": ads.table,
        "ad_events": events,
        "users": _users(rng, fx.num_users),
        "ground_truth": ground_truth,
    }


def _user_ids(n: int) -> np.ndarray:
    """``n`` distinct 5-character hex ids (deterministic spread over the id space)."""
    ids = (np.arange(n, dtype=np.int64) * 104_729 + 4_099) % (16**5)
    return np.array([f"{i:05x}" for i in ids])


def _events(
    rng: np.random.Generator,
    counts: np.ndarray,
    type_order: tuple[str, ...],
    day_ad: np.ndarray,
    day_offset: np.ndarray,
    ad_id: np.ndarray,
    ad_start: np.ndarray,
    num_users: int,
) -> pd.DataFrame:
    """One row per event, in the dataset's column order."""
    n_types, n_days = counts.shape
    flat = counts.reshape(-1)
    row_day = np.repeat(np.tile(np.arange(n_days), n_types), flat)
    row_type = np.repeat(np.repeat(np.arange(n_types), n_days), flat)
    n = row_day.size
    order = rng.permutation(n)
    row_day, row_type = row_day[order], row_type[order]
    seconds = rng.integers(0, 86_400, n)
    date = ad_start[day_ad[row_day]] + day_offset[row_day].astype("timedelta64[D]")
    stamp = date.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    hour = seconds // 3600
    # Morning 6-11, Afternoon 12-16, Evening 17-20, Night 21-5.
    tod = np.select(
        [(hour >= 6) & (hour < 12), (hour >= 12) & (hour < 17), (hour >= 17) & (hour < 21)],
        [0, 1, 2],
        3,
    )
    weekday = (date.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    return pd.DataFrame(
        {
            "event_id": np.arange(1, n + 1),
            "ad_id": ad_id[day_ad[row_day]],
            "user_id": pd.Categorical.from_codes(
                rng.integers(0, num_users, n), _user_ids(num_users)
            ),
            "timestamp": np.strings.replace(np.datetime_as_string(stamp, unit="s"), "T", " "),
            "day_of_week": pd.Categorical.from_codes(weekday, DAYS_OF_WEEK),
            "time_of_day": pd.Categorical.from_codes(tod, TIMES_OF_DAY),
            "event_type": pd.Categorical.from_codes(row_type, type_order),
        }
    )


def _users(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """The optional users table."""
    places = {
        "United States": ("New York", "Chicago", "Austin"),
        "United Kingdom": ("London", "Manchester"),
        "Germany": ("Berlin", "Munich"),
        "India": ("Mumbai", "Bangalore"),
        "Brazil": ("Sao Paulo", "Rio de Janeiro"),
    }
    countries = np.array(list(places))
    country = countries[rng.integers(0, len(countries), n)]
    pick = rng.integers(0, 2, n)
    location = np.array([places[c][p % len(places[c])] for c, p in zip(country, pick, strict=True)])
    age = rng.integers(18, 45, n)
    age_group = np.select([age < 25, age < 35], ["18-24", "25-34"], "35-44")
    first = rng.integers(0, len(INTERESTS), n)
    second = (first + rng.integers(1, len(INTERESTS), n)) % len(INTERESTS)
    names = np.array(INTERESTS, dtype=object)
    return pd.DataFrame(
        {
            "user_id": _user_ids(n),
            "user_gender": np.array(["Female", "Male"])[rng.integers(0, 2, n)],
            "user_age": age,
            "age_group": age_group,
            "country": country,
            "location": location,
            "interests": names[first] + ", " + names[second],
        }
    )


def write_dataset(
    tables: dict[str, pd.DataFrame], out_dir: str | Path, *, append: bool = False
) -> Path:
    """Write the tables as CSV files in the dataset's format; returns the folder.

    With ``append`` the rows go at the end of existing files, without a header: a large log can
    then be written in parts (the caller keeps ids unique across parts).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        path = out / f"{name}.csv"
        header = not (append and path.exists())
        if name == "ad_events":
            # No field of the event log needs quoting; pyarrow writes millions of rows quickly.
            table = pa.Table.from_pandas(frame, preserve_index=False)
            table = table.cast(pa.schema([pa.field(f.name, _plain(f.type)) for f in table.schema]))
            with path.open("ab" if append else "wb") as fh:
                if header:
                    fh.write((",".join(frame.columns) + "\n").encode())
                options = pacsv.WriteOptions(include_header=False, quoting_style="none")
                pacsv.write_csv(table, fh, options)
        else:
            frame.to_csv(
                path, index=False, header=header, mode="a" if append else "w", lineterminator="\n"
            )
    return out


def _plain(arrow_type):
    """Dictionary (categorical) columns are written as their plain values."""
    import pyarrow as pa

    return arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
