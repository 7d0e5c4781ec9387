"""The what-if charts in a real headless Chromium, at desktop and phone sizes: readable tooltips
and axis titles, the stretch beyond the training data marked, and the marginal figures."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import SIZES, TIMEOUT_MS, wait_for_text
from tests.support.common import ARTIFACTS

pytestmark = pytest.mark.browser

# What each chart's points say (their tooltips' fields), from Vega's labels.
POINT_LABELS_JS = """(sel) => [...document.querySelectorAll(sel + ' svg.marks [aria-label]')]
    .map(e => e.getAttribute('aria-label'))
    .filter(l => !l.startsWith('X-axis') && !l.startsWith('Y-axis'))"""


def inside(page: object, inner: str, outer: str) -> bool:
    """Whether the box of ``inner`` lies within the box of ``outer``."""
    a = page.locator(inner).first.bounding_box()
    b = page.locator(outer).first.bounding_box()
    return (
        a["x"] >= b["x"] - 0.5
        and a["y"] >= b["y"] - 0.5
        and a["x"] + a["width"] <= b["x"] + b["width"] + 0.5
        and a["y"] + a["height"] <= b["y"] + b["height"] + 0.5
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_curves_read_plainly_and_mark_where_the_data_ends(
    app_url: str, browser: object, size: str
) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(app_url, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        wait_for_text(page, "#curve-notes", "next purchase costs about")
        page.wait_for_function(
            "() => ['#plot-budget', '#plot-ads'].every(s =>"
            " document.querySelectorAll(s + ' svg.marks .mark-line path').length >= 4)",
            timeout=TIMEOUT_MS,
        )
        budget = page.evaluate(POINT_LABELS_JS, "#plot-budget")
        ads = page.evaluate(POINT_LABELS_JS, "#plot-ads")
        for labels in (budget, ads):
            text = " ".join(labels)
            # Fields a planner reads: named lines, never a bare 'series', no 55000-like numbers.
            assert "Line: predicted purchases" in text and "series" not in text
            assert not re.search(r"\b\d{4,}\b", text), text[:500]
        assert any(label.endswith("Line: predicted, beyond the data") for label in budget)
        assert any(label.endswith("Line: returns flatten") for label in budget)
        assert any(label.startswith("Number of ads (your plan's mix):") for label in ads)
        # Both axis titles whole, inside their charts, on either screen.
        for chart in ("#plot-budget", "#plot-ads"):
            title = f"{chart} svg.marks [aria-label^='Y-axis'] .role-axis-title text"
            assert page.locator(title).first.text_content() == "Purchases"
            assert inside(page, title, f"{chart} svg.marks")
        notes = page.inner_text("#curve-notes")
        assert "beyond the campaigns the model learned from" in notes
        assert "Returns flatten around a budget of" in notes and "rows" not in notes
        assert "Local model" not in notes
        page.get_by_text("Curve data").click()
        wait_for_text(page, "#curve-data", "next_purchase_costs")
        assert "returns_flatten_here" in page.inner_text("#curve-data")
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#plot-budget").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"whatif-{size}-{width}x{height}.png"))
    finally:
        page.close()
