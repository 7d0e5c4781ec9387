"""The dashboard in a real headless Chromium, at desktop and phone sizes: drawn with the page,
bars in numeric order, labels that never run into each other, and a single day as a bar."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from tests.support.browser import SIZES, TIMEOUT_MS, number_input, wait_for_text
from tests.support.common import ARTIFACTS

pytestmark = pytest.mark.browser

# The axis labels' font size: a line of their text.
LABEL_PX = 12

AXIS_LABELS_JS = """([sel, axis]) => [...document.querySelectorAll(
        sel + ' svg.marks [aria-label^="' + axis + '"] .role-axis-label text')]
    .map(t => { const b = t.getBoundingClientRect();
                return {text: t.textContent, left: b.left, right: b.right,
                        top: b.top, bottom: b.bottom}; })"""


def axis_labels(page: object, chart: str, axis: str) -> list[dict]:
    """The tick labels of ``axis`` ("X-axis" or "Y-axis") of ``chart``, left to right."""
    labels = page.evaluate(AXIS_LABELS_JS, [chart, axis])
    return sorted(labels, key=lambda label: (label["left"], -label["top"]))


def crowded(labels: list[dict]) -> list[tuple[str, str]]:
    """Neighbouring labels closer than a line of text. They are slanted 40° and end at their
    tick, so they run parallel, ``dx · sin 40°`` apart for ticks ``dx`` apart."""
    return [
        (a["text"], b["text"])
        for a, b in itertools.pairwise(labels)
        if (b["right"] - a["right"]) * math.sin(math.radians(40)) < LABEL_PX
    ]


def low_end(label: str) -> float:
    """The lower edge of a bin label: ``9k–16.6k`` -> 9000."""
    number = re.match(r"([\d.,]+)([kMB]?)", label)
    scale = {"": 1, "k": 1e3, "M": 1e6, "B": 1e9}[number.group(2)]
    return float(number.group(1).replace(",", "")) * scale


@pytest.mark.parametrize("size", list(SIZES))
def test_dashboard_comes_with_the_page_in_order_and_readable(
    app_url: str, browser: object, size: str
) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(app_url, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        # Drawn on opening, before any refresh: a summary, never an empty "1 2 3" table.
        page.wait_for_function(
            "() => document.querySelector('#dashboard-summary').innerText.trim() !== ''",
            timeout=TIMEOUT_MS,
        )
        assert "1\t2\t3" not in page.inner_text("body")
        for budget in ("9500", "43210", "118000"):
            number_input(page, "total_budget").fill(budget)
            page.get_by_role("button", name="Predict Purchases").click()
            wait_for_text(page, "#cpp-plan", f"budget {int(budget):,}")
        page.get_by_role("button", name="Refresh dashboard").click()
        page.wait_for_function(
            "() => /[\\d,]+ predictions? logged/.test("
            "document.querySelector('#dashboard-summary').innerText)",
            timeout=TIMEOUT_MS,
        )
        assert "20k" in page.inner_text("#dashboard-common")
        page.wait_for_function(
            """() => ['#dashboard-budgets', '#dashboard-purchases', '#dashboard-time']
                .every(sel => !!document.querySelector(sel + ' svg.marks .mark-rect path'))""",
            timeout=TIMEOUT_MS,
        )
        for chart in ("#dashboard-budgets", "#dashboard-purchases"):
            labels = axis_labels(page, chart, "X-axis")
            starts = [low_end(label["text"]) for label in labels]
            assert len(starts) >= 2 and starts == sorted(starts), [x["text"] for x in labels]
            assert crowded(labels) == [], crowded(labels)
        # Every prediction of this run is from today: one day, drawn as one bar from 0, with
        # plain ticks (a flat line at its own height showed "45.000000").
        assert page.locator("#dashboard-time svg.marks .mark-rect path").count() >= 1
        ticks = [label["text"] for label in axis_labels(page, "#dashboard-time", "Y-axis")]
        assert ticks and all(re.fullmatch(r"\d[\d,]*(\.\d)?", t) for t in ticks), ticks
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#dashboard-budgets").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{size}-{width}x{height}.png"))
    finally:
        page.close()
