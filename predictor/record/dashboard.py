"""The dashboard's figures, as small frames ready to plot, from the scenario log's rows.

Every function takes the frame of :meth:`predictor.record.scenario_log.ScenarioLog.read_frame` (or any
frame with its columns) and returns a new frame; an empty log gives empty frames with the same
columns.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.contract.csv_export import atomic_file, csv_text
from predictor.contract.plan import MIXES

# Budget bands: left edges; each band runs up to the next edge.
BUDGET_EDGES = (0.0, 1_000.0, 5_000.0, 20_000.0, 100_000.0)
COMMON_PLAN_COLUMNS = [
    "budget_band",
    "platform_mix",
    "format_mix",
    "predictions",
    "share",
    "median_purchases",
]
HISTOGRAM_COLUMNS = ["bin", "low", "high", "count"]
FREQUENCIES = {"D": "day", "h": "hour"}
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Scenario names are free text typed by people: the store keeps them, nothing public shows them.
PRIVATE_COLUMNS: tuple[str, ...] = ("scenario_name",)


def _short_money(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def budget_band_labels() -> list[str]:
    """The band names, lowest first: ``under 1k``, ``1k–5k``, ..., ``100k and more``."""
    edges = BUDGET_EDGES
    labels = [f"under {_short_money(edges[1])}"]
    labels += [f"{_short_money(a)}–{_short_money(b)}" for a, b in itertools.pairwise(edges[1:])]
    labels.append(f"{_short_money(edges[-1])} and more")
    return labels


def budget_band(budgets: pd.Series) -> pd.Series:
    """Each budget's band (an ordered categorical of :func:`budget_band_labels`)."""
    return pd.cut(
        pd.to_numeric(budgets),
        bins=[*BUDGET_EDGES, math.inf],
        right=False,
        labels=budget_band_labels(),
    )


def _mix_names(mix: str) -> dict[str, str]:
    return {field: field.removesuffix("_ads").capitalize() for field in MIXES[mix]}


def mix_label(frame: pd.DataFrame, mix: str) -> pd.Series:
    """Which categories of ``mix`` (a :data:`predictor.contract.plan.MIXES` name) each plan uses.

    For example ``Facebook + Instagram``, ``Video``, or ``none`` when the plan uses none.
    """
    names = list(_mix_names(mix).values())
    used = frame[list(_mix_names(mix))].gt(0).to_numpy()
    # Each set of used categories as a bit mask, then one label per mask.
    masks = used.astype(int) @ (1 << np.arange(len(names)))
    labels = {
        m: " + ".join(n for i, n in enumerate(names) if m >> i & 1) or "none"
        for m in range(1 << len(names))
    }
    return pd.Series([labels[m] for m in masks], index=frame.index, dtype=object)


def common_plans(frame: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The ``top`` most common plan kinds: budget band × platform mix × format mix.

    Columns: ``budget_band``, ``platform_mix``, ``format_mix``, ``predictions`` (how many),
    ``share`` (of all predictions, 0–1) and ``median_purchases`` (of their answers).
    """
    if frame.empty:
        return pd.DataFrame(columns=COMMON_PLAN_COLUMNS)
    kinds = pd.DataFrame(
        {
            "budget_band": budget_band(frame["total_budget"]).astype(str),
            "platform_mix": mix_label(frame, "Platform"),
            "format_mix": mix_label(frame, "Format"),
            "purchases": pd.to_numeric(frame["purchases"]),
        }
    )
    grouped = kinds.groupby(["budget_band", "platform_mix", "format_mix"], sort=False)
    out = grouped["purchases"].agg(predictions="size", median_purchases="median").reset_index()
    out["share"] = out["predictions"] / len(frame)
    out = out.sort_values(
        ["predictions", "budget_band", "platform_mix", "format_mix"],
        ascending=[False, True, True, True],
        kind="stable",
    )
    return out[COMMON_PLAN_COLUMNS].head(top).reset_index(drop=True)


def short_amount(value: float) -> str:
    """An amount in three significant digits: ``5008.25`` -> ``"5.01k"``, ``119780`` -> ``"120k"``."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def histogram(values: pd.Series, bins: int = 10, short: bool = False) -> pd.DataFrame:
    """Counts of ``values`` in ``bins`` equal-width bins: ``bin`` (a label), ``low``, ``high``, ``count``,
    lowest bin first. ``short`` labels the edges as ``9k–16.6k`` (for a narrow axis).

    The last bin includes its upper edge; every value is counted once.
    """
    numbers = pd.to_numeric(values).dropna().to_numpy(dtype=float)
    if numbers.size == 0:
        return pd.DataFrame(columns=HISTOGRAM_COLUMNS)
    if numbers.min() == numbers.max():
        # One value: one bar named by it (equal-width bins around it would all read alike).
        value = float(numbers[0])
        label = short_amount(value) if short else f"{value:,.0f}"
        return pd.DataFrame(
            {"bin": [label], "low": [value], "high": [value], "count": [numbers.size]}
        )
    counts, edges = np.histogram(numbers, bins=bins)
    labels = [f"{a:,.0f}–{b:,.0f}" for a, b in itertools.pairwise(edges)]
    if short:
        shorter = [f"{short_amount(a)}–{short_amount(b)}" for a, b in itertools.pairwise(edges)]
        # Near-equal edges could read alike; a bar needs a label of its own.
        labels = shorter if len(set(shorter)) == len(shorter) else labels
    return pd.DataFrame(
        {
            "bin": labels,
            "low": edges[:-1],
            "high": edges[1:],
            "count": counts.astype(int),
        }
    )


def budget_distribution(frame: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """:func:`histogram` of the plans' total budgets, labelled short (``9k–16.6k``)."""
    return histogram(frame["total_budget"], bins, short=True)


def purchases_distribution(frame: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """:func:`histogram` of the predicted purchases."""
    return histogram(frame["purchases"], bins)


def predictions_over_time(frame: pd.DataFrame, freq: str = "D") -> pd.DataFrame:
    """Predictions per day (``freq="D"``) or hour (``"h"``), UTC, with empty periods as 0.

    Columns: ``period`` (start of the day or hour, UTC) and ``predictions``.
    """
    if freq not in FREQUENCIES:
        raise ValueError(f"freq is {freq!r}; use 'D' (per day) or 'h' (per hour)")
    if frame.empty:
        return pd.DataFrame(
            {"period": pd.Series(dtype="datetime64[us, UTC]"), "predictions": pd.Series(dtype=int)}
        )
    periods = pd.to_datetime(frame["created_at"], utc=True).dt.floor(freq)
    counts = periods.value_counts()
    full = pd.date_range(periods.min(), periods.max(), freq=freq)
    counts = counts.reindex(full, fill_value=0)
    return pd.DataFrame({"period": full, "predictions": counts.to_numpy(dtype=int)})


def public_log(frame: pd.DataFrame) -> pd.DataFrame:
    """The log's rows as any visitor may see them: every column but the scenario names, which
    become ``saved_as_scenario`` (whether the plan was saved as a named scenario)."""
    public = frame.drop(columns=[c for c in PRIVATE_COLUMNS if c in frame])
    if "scenario_name" in frame:
        names = frame["scenario_name"]
        public["saved_as_scenario"] = (names.notna() & (names.astype("string") != "")).astype(bool)
    return public


def log_csv(frame: pd.DataFrame) -> str:
    """The log as spreadsheet-safe CSV text (see :func:`public_log` for what it holds)."""
    return csv_text(public_log(frame), date_format=DATE_FORMAT)


def write_csv(frame: pd.DataFrame, folder: str | Path, name: str = "scenario_log.csv") -> Path:
    """Write :func:`log_csv` of ``frame`` to ``folder/name`` (for a download button); return the path."""
    path = Path(folder) / name
    with atomic_file(path, encoding="utf-8", newline="") as out:
        out.write(log_csv(frame))
    return path
