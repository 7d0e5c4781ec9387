"""Predicted against actual purchases as an SVG: one point per result, its range as an error bar,
and the diagonal where a perfect prediction would lie. A pure function of the points frame of
:func:`predictor.record.outcomes_report.points`; the page and the CLI draw the same picture."""

from __future__ import annotations

import html
import math

import pandas as pd

# Small enough that the text stays readable when a phone scales the picture down.
WIDTH, HEIGHT = 480, 360
MARGIN = {"left": 56, "right": 14, "top": 14, "bottom": 50}
INSIDE_COLOUR = "#4338ca"
OUTSIDE_COLOUR = "#ea580c"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (steps of 1, 2 or 5 times a power of 10)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _tick_text(value: float) -> str:
    return f"{value:,.0f}"


def scatter_svg(points: pd.DataFrame, title: str = "Predicted against actual purchases") -> str:
    """The chart as an SVG document scaled to its container's width."""
    plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
    top = (
        float(max(points[["upper", "actual", "predicted"]].to_numpy().max(), 1))
        if len(points)
        else 1.0
    )
    ticks = nice_ticks(top)
    top = ticks[-1]

    def x(v: float) -> float:
        return MARGIN["left"] + plot_w * v / top

    def y(v: float) -> float:
        return MARGIN["top"] + plot_h * (1 - v / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-label="{html.escape(title)}" class="cpp-track-chart" '
        'style="max-width:600px;font-family:inherit;font-size:13px">',
        f"<title>{html.escape(title)}</title>",
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{x(0):.1f}" x2="{x(top):.1f}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            'stroke="#e2e8f0"/>'
            f'<text x="{x(0) - 6:.1f}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#475569">'
            f"{_tick_text(t)}</text>"
            f'<text x="{x(t):.1f}" y="{y(0) + 18:.1f}" text-anchor="middle" fill="#475569">'
            f"{_tick_text(t)}</text>"
        )
    parts.append(
        f'<line class="cpp-diagonal" x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(top):.1f}" '
        f'y2="{y(top):.1f}" stroke="#94a3b8" stroke-dasharray="5 4"/>'
        f'<text x="{x(top) - 4:.1f}" y="{y(top) + 14:.1f}" text-anchor="end" fill="#64748b">'
        "actual = predicted</text>"
    )
    for p in points.itertuples(index=False):
        colour = INSIDE_COLOUR if p.inside else OUTSIDE_COLOUR
        where = "inside" if p.inside else "outside"
        label = (
            f"predicted {p.predicted:,} ({p.level:.0%} range {p.lower:,}–{p.upper:,}), "
            f"actual {p.actual:,}: {where}"
        )
        parts.append(
            f'<g class="cpp-point cpp-point-{where}"><title>{html.escape(label)}</title>'
            f'<line x1="{x(p.predicted):.1f}" x2="{x(p.predicted):.1f}" y1="{y(p.lower):.1f}" '
            f'y2="{y(p.upper):.1f}" stroke="{colour}" stroke-opacity="0.45" stroke-width="2"/>'
            f'<circle cx="{x(p.predicted):.1f}" cy="{y(p.actual):.1f}" r="4" fill="{colour}"/>'
            "</g>"
        )
    parts.append(
        f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(top):.1f}" y2="{y(0):.1f}" stroke="#475569"/>'
        f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(0):.1f}" y2="{y(top):.1f}" stroke="#475569"/>'
        f'<text x="{x(top / 2):.1f}" y="{HEIGHT - 12}" text-anchor="middle" fill="#1e293b">'
        "Predicted purchases (bar: the range shown)</text>"
        f'<text transform="translate(16 {y(top / 2):.1f}) rotate(-90)" text-anchor="middle" '
        'fill="#1e293b">Actual purchases</text>'
        "</svg>"
    )
    return "".join(parts)
