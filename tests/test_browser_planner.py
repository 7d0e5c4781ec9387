"""The planner's questions in a real headless Chromium, at desktop and phone sizes."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import CLIPPED_LABELS_JS, SIZES, TIMEOUT_MS, wait_for_text
from tests.support.common import ARTIFACTS, REPO

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


def in_view(page: object, selector: str) -> bool:
    """Whether the top of the element at ``selector`` is on screen."""
    box = page.locator(selector).bounding_box()
    return box is not None and 0 <= box["y"] < page.viewport_size["height"]


@BOTH
def test_find_the_budget_for_a_goal(page: object) -> None:
    page.locator("#in-aov input").fill("900")
    page.locator("#in-margin input").fill("0.5")
    page.locator("#in-target-purchases input").fill("40")
    page.get_by_role("button", name="Find budgets").click()
    wait_for_text(page, "#target-answer", "Cost per purchase at most 450 ")
    text = page.inner_text("#target-answer")
    assert "For 40 purchases" in text and "A budget of" in text and "With 90% confidence" in text
    # Each answer is its own block, its heading never part of the list before it.
    assert page.locator("#target-answer li strong").count() == 0
    assert page.locator("#target-answer p strong").count() == 2
    assert ".00 " not in text.replace("\n", " ")
    page.wait_for_function(
        "() => { const b = document.querySelector('#target-answer').getBoundingClientRect();"
        " return b.top >= 0 && b.top < window.innerHeight; }",
        timeout=TIMEOUT_MS,
    )
    assert in_view(page, "#target-answer")

    # An empty goal: the old answer goes, and the reason takes its place.
    page.locator("#in-target-purchases input").fill("")
    page.locator("#in-aov input").fill("")
    page.get_by_role("button", name="Find budgets").click()
    wait_for_text(page, "#target-answer", "No budget found.")
    assert "For 40 purchases" not in page.inner_text("#target-answer")
    assert "Enter the purchases you want" in page.inner_text("#target-answer")


@BOTH
def test_see_what_drove_the_number(page: object) -> None:
    page.get_by_text("What drove this number?").click()
    wait_for_text(page, "#why-body", "vs typical")
    assert page.inner_text("#why-method").startswith("Method: exact factors")
    rows = page.locator("#why-chart .cpp-why-row")
    assert rows.count() >= 4
    factors = [rows.nth(i).locator(".cpp-why-factor").inner_text() for i in range(rows.count())]
    assert all(f.startswith("×") for f in factors)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_nonlinear_model_is_broken_down_too(
    two_models: tuple[str, object], browser: object, size: str
) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(two_models[0], timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        page.locator("#in-model").get_by_text("Voting ensemble", exact=False).click()
        wait_for_text(page, "#cpp-backend", "Voting ensemble")
        page.get_by_text("What drove this number?").click()
        wait_for_text(page, "#why-method", "one at a time")
        rows = page.locator("#why-chart .cpp-why-row")
        assert rows.count() == 9
        figures = [rows.nth(i).locator(".cpp-why-factor").inner_text() for i in range(9)]
        assert all(re.fullmatch(r"[+−][\d,.]+|±0", f) for f in figures), figures
        assert "not linear" in page.inner_text("#why-method")
        assert page.evaluate(CLIPPED_LABELS_JS) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#why-chart").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"why-ensemble-{size}-{width}x{height}.png"))
    finally:
        page.close()


@BOTH
def test_score_a_file_of_plans(page: object) -> None:
    page.locator("#batch-upload input[type=file]").set_input_files(
        str(REPO / "ui" / "sample_plans.csv")
    )
    page.get_by_role("button", name="Score the file").click()
    wait_for_text(page, "#batch-summary", "3 of 4 plans scored")
    summary = page.inner_text("#batch-summary")
    assert "1 row has an error" in summary and "by Ridge + SelectKBest, version" in summary
    # The first rows on the page, the typo among them with its reason.
    page.locator("#batch-rows").wait_for(state="visible", timeout=TIMEOUT_MS)
    wait_for_text(page, "#batch-rows", "Summer push")
    rows = page.inner_text("#batch-rows")
    assert "Typo in budget" in rows and "must be a number" in rows and "85,000" in rows
    page.wait_for_function(
        "() => !document.querySelector('#batch-download').disabled", timeout=TIMEOUT_MS
    )


@BOTH
def test_economics_per_scenario_and_margin_as_fraction(page: object) -> None:
    page.locator("#in-aov input").fill("80")
    page.locator("#in-margin input").fill("0.4")
    wait_for_text(page, "#econ", "read as a fraction")
    page.get_by_role("button", name="Save current plan as scenario").click()
    wait_for_text(page, "#scenario-table", "ROAS")
    table = page.inner_text("#scenario-table")
    assert "Cost per purchase" in table and "Profit" in table
