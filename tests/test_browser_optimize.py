"""Find the best plan in a real headless Chromium, at desktop and phone sizes."""

from __future__ import annotations

import pytest

from tests.support.browser import CLIPPED_LABELS_JS, SIZES, TIMEOUT_MS, number_input, wait_for_text
from tests.support.common import ARTIFACTS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(app_url: str, browser: object, request: pytest.FixtureRequest):
    width, height = SIZES[request.param]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url, timeout=TIMEOUT_MS)
    page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
    yield page
    assert page.evaluate(CLIPPED_LABELS_JS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    ARTIFACTS.mkdir(exist_ok=True)
    name = request.node.name.replace("[", "-").rstrip("]")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.close()


BOTH = pytest.mark.parametrize("page", list(SIZES), indirect=True)


def _set_cell(page: object, row: int, column: int, value: str) -> None:
    """Type ``value`` into a cell of the bounds table."""
    cell = page.locator(f'#opt-table [data-testid="cell-{row}-{column}"]')
    cell.scroll_into_view_if_needed()
    cell.dblclick()
    page.keyboard.type(value)
    page.keyboard.press("Enter")


@BOTH
def test_find_the_best_plan_within_a_cap_and_use_it(page: object) -> None:
    page.get_by_text("Bounds per group (optional)").click()
    _set_cell(page, 6, 4, "60")  # Instagram ads, Max %
    wait_for_text(page, "#opt-table", "60")
    page.locator("#opt-button").click()
    wait_for_text(page, "#opt-answer", "The best plan in full")
    text = page.inner_text("#opt-answer")
    assert "60% cap on Instagram ads is what limits this plan" in text
    assert "range" in text and "Changes from the current plan" in text
    video = page.locator("#opt-answer li", has_text="Format:").first.inner_text()
    page.locator("#opt-use").click()
    page.wait_for_function(
        "() => document.querySelector('#in-video-ads input').value === '4'", timeout=TIMEOUT_MS
    )
    assert "Video 1 → 4" in video
    assert number_input(page, "instagram_ads").input_value() == "2"
    wait_for_text(page, "body", "press Predict Purchases to update")


@BOTH
def test_a_contradiction_is_a_message_on_the_page(page: object) -> None:
    page.get_by_text("Bounds per group (optional)").click()
    _set_cell(page, 6, 1, "3")  # Instagram ads, Min
    _set_cell(page, 6, 2, "1")  # Instagram ads, Max
    page.locator("#opt-button").click()
    wait_for_text(page, "body", "Instagram ads: the lower bound 3 is above the upper bound 1")
