"""The prediction card in a real headless Chromium, at desktop and phone sizes: a plan that gets
no answer says why in the card, in place of the old answer."""

from __future__ import annotations

import pytest

from tests.support.browser import CLIPPED_LABELS_JS, SIZES, TIMEOUT_MS, number_input, wait_for_text
from tests.support.common import ARTIFACTS

pytestmark = pytest.mark.browser

# (field, typed, words of the reason the card gives)
REFUSED = [
    ("total_budget", "1e12", "more than 100 times the largest in the training data"),
    ("total_budget", "", "Total budget must be a number, but it is empty"),
    ("total_budget", "-500", "Total budget is -500; enter 0 or more"),
    ("duration_days", "0", "Duration (days) is 0; enter a whole number of at least 1"),
    ("total_ads", "2.5", "Total ads is 2.5; enter a whole number"),
]


@pytest.mark.parametrize("size", list(SIZES))
def test_a_refused_plan_says_why_in_the_card(app_url: str, browser: object, size: str) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    predict = page.get_by_role("button", name="Predict Purchases")
    try:
        page.goto(app_url, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        for field, typed, words in REFUSED:
            number_input(page, field).fill(typed)
            predict.click()
            wait_for_text(page, "#cpp-reason", words)
            # The old answer is gone, and so is the note asking to press Predict.
            assert page.locator("#cpp-purchases").count() == 0
            assert "press Predict Purchases to update" not in page.inner_text("#result")
            assert page.locator("#cpp-reason").is_visible()
            # Put the field back: the card answers again.
            number_input(page, field).fill(
                {"total_budget": "50000", "duration_days": "60"}.get(field, "4")
            )
            predict.click()
            page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        assert page.evaluate(CLIPPED_LABELS_JS) == []
        number_input(page, "total_budget").fill("-500")
        predict.click()
        wait_for_text(page, "#cpp-reason", "enter 0 or more")
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#result").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"refused-{size}-{width}x{height}.png"))
    finally:
        page.close()


CARD_IN_VIEW_JS = """() => { const b = document.querySelector('#cpp-purchases').getBoundingClientRect();
    return b.top >= 0 && b.bottom <= window.innerHeight; }"""


@pytest.mark.parametrize("size", list(SIZES))
def test_the_card_stays_in_view_and_greys_out_whole(
    app_url: str, browser: object, size: str
) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(app_url, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        # Editing the lowest field of the form changes the plan: the whole answer greys out,
        # the plan line with the number.
        number_input(page, "all_age_ads").scroll_into_view_if_needed()
        number_input(page, "all_age_ads").fill("2")
        page.locator("#cpp-stale").wait_for(state="visible", timeout=TIMEOUT_MS)
        for part in ("#cpp-purchases", "#cpp-range", "#cpp-plan"):
            opacity = page.evaluate(f"getComputedStyle(document.querySelector('{part}')).opacity")
            assert float(opacity) < 1, part
        if size == "desktop":
            # The card stays on screen beside the lowest field of the form.
            page.wait_for_function(CARD_IN_VIEW_JS, timeout=TIMEOUT_MS)
            field = number_input(page, "all_age_ads").bounding_box()
            assert 0 <= field["y"] <= height
        # The API page is a click away on every screen, a phone's too.
        api = page.locator("footer .show-api")
        api.scroll_into_view_if_needed()
        assert api.is_visible() and "Use via API" in api.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"card-in-view-{size}-{width}x{height}.png"))
    finally:
        page.close()
