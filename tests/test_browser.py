"""The app in a real headless Chromium at desktop and phone sizes (Playwright, system browser)."""

from __future__ import annotations

import re

import pytest

from predictor import CampaignPlan, Predictor
from predictor.contract.plan import PLAN_FIELDS
from tests.support.browser import (
    CLIPPED_LABELS_JS,
    SIZES,
    TIMEOUT_MS,
    number_input,
    wait_for_text,
)
from tests.support.common import ARTIFACTS
from ui.common import DEFAULT_PLAN, EXAMPLES

pytestmark = pytest.mark.browser

RANGE = re.compile(r"^90% range: ([\d,]+)–([\d,]+)$")
# The plan the test types in: different from the defaults in every core setting.
TYPED = {"duration_days": 45, "total_budget": 72_000, "total_ads": 6, "num_unique_interests": 2}
TYPED_MIX = {"facebook_ads": 4, "instagram_ads": 2}


@pytest.fixture(scope="module")
def server(app_url: str) -> str:
    return app_url


def scenario_headers(page: object) -> list[str]:
    cells = page.locator("#scenario-table th[role=columnheader]")
    return [cells.nth(i).get_attribute("title") for i in range(cells.count())]


@pytest.mark.parametrize("size", list(SIZES))
def test_plan_predict_plot_and_compare(
    server: str, browser: object, size: str, app_predictor: Predictor
) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(server, timeout=TIMEOUT_MS)
        # The defaults give a prediction on load.
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        assert RANGE.match(page.inner_text("#cpp-range"))

        for field, value in {**TYPED, **TYPED_MIX}.items():
            number_input(page, field).fill(str(value))
        wait_for_text(page, "#total-platform", "6 of 6 ads")
        wait_for_text(page, "#total-format", "fewer than the total")
        page.get_by_role("button", name="Predict Purchases").click()
        wait_for_text(page, "#cpp-plan", "budget 72,000")

        number = int(page.inner_text("#cpp-purchases").replace(",", ""))
        low, high = (
            int(g.replace(",", "")) for g in RANGE.match(page.inner_text("#cpp-range")).groups()
        )
        plan = CampaignPlan(**{**DEFAULT_PLAN, **TYPED, **TYPED_MIX})
        expected = app_predictor.predict(plan, 0.9)
        assert (number, low, high) == (expected.purchases, expected.lower, expected.upper)
        assert "45 days" in page.inner_text("#cpp-plan")
        assert "Format mix adds up to 4 ads, fewer than the 6 ads" in page.inner_text(
            "#result-notes"
        )

        # The what-if charts (Vega-Lite, drawn as SVG) are redrawn for the typed plan: each draws
        # its four lines, with the plan's line at the typed budget and number of ads.
        page.wait_for_function(
            """() => [['#plot-budget', 'Total budget (thousands): 72;'],
                      ['#plot-ads', "Number of ads (your plan's mix): 6;"]]
                .every(([sel, at]) => {
                    const svg = document.querySelector(sel + ' svg.marks');
                    return !!svg && svg.querySelectorAll('.mark-line path').length >= 4
                        && [...svg.querySelectorAll('[aria-label]')].some(e => {
                            const label = e.getAttribute('aria-label');
                            return label.startsWith(at) && label.endsWith('Line: your plan');
                        });
                })""",
            timeout=TIMEOUT_MS,
        )
        axis = page.locator("#plot-budget svg.marks [aria-label^='X-axis']").get_attribute(
            "aria-label"
        )
        assert axis.startswith("X-axis titled 'Total budget (thousands)'")
        plot = page.locator("#plot-budget svg.marks").bounding_box()
        assert plot["width"] >= min(300, width - 80)
        assert plot["width"] <= width
        assert plot["height"] >= 250
        assert "upper and lower ends of the range" in page.inner_text("#curve-legend")

        save = page.get_by_role("button", name="Save current plan as scenario")
        save.click()
        page.wait_for_function(
            "() => !!document.querySelector('#scenario-table th[title=\"A\"]')",
            timeout=TIMEOUT_MS,
        )
        number_input(page, "total_budget").fill("36000")
        save.click()
        page.wait_for_function(
            "() => !!document.querySelector('#scenario-table th[title=\"B\"]')",
            timeout=TIMEOUT_MS,
        )
        assert scenario_headers(page) == ["Setting", "A", "B"]
        table = page.inner_text("#scenario-table")
        assert "72,000" in table and "36,000 (−36,000)" in table

        # Layout: one column on a phone, plan and result side by side on a desktop.
        button = page.locator("#predict-button").bounding_box()
        result = page.locator("#result").bounding_box()
        if size == "phone":
            assert result["y"] > button["y"]
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        else:
            assert result["x"] > button["x"] + button["width"] - 1
            assert result["y"] < button["y"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"app-{size}-{width}x{height}.png"), full_page=True)
    finally:
        page.close()


def test_example_fills_the_form_and_bad_input_shows_a_message(server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(server, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        label, values = EXAMPLES[1]
        page.get_by_text(label, exact=True).click()
        budget = values[PLAN_FIELDS.index("total_budget")]
        page.wait_for_function(
            "([sel, v]) => document.querySelector(sel).value === v",
            arg=["#in-total-budget input", str(budget)],
            timeout=TIMEOUT_MS,
        )
        number_input(page, "total_ads").fill("-2")
        page.get_by_role("button", name="Predict Purchases").click()
        toast = page.get_by_text("Total ads is -2; enter a whole number of at least 0")
        toast.wait_for(timeout=TIMEOUT_MS)
        assert "Traceback" not in page.inner_text("body")
    finally:
        page.close()


@pytest.mark.parametrize("size", ["desktop-900", "phone"])
def test_answers_go_stale_on_change_and_stay_in_view(
    server: str, browser: object, size: str
) -> None:
    width, height = (1280, 900) if size == "desktop-900" else SIZES["phone"]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(server, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        stale = page.locator("#cpp-stale")
        assert not stale.is_visible()
        # Editing a field marks the shown answer out of date...
        number_input(page, "total_budget").fill("64000")
        stale.wait_for(state="visible", timeout=TIMEOUT_MS)
        # ...and predicting clears the mark, with the answer in view.
        page.get_by_role("button", name="Predict Purchases").click()
        wait_for_text(page, "#cpp-plan", "budget 64,000")
        stale.wait_for(state="hidden", timeout=TIMEOUT_MS)
        if size == "desktop-900":
            # The answer comes into view: waited for as a state of the page, however busy.
            page.wait_for_function(
                "() => { const b = document.querySelector('#cpp-purchases')"
                ".getBoundingClientRect(); return b.top >= 0 && b.bottom <= window.innerHeight; }",
                timeout=TIMEOUT_MS,
            )
        # Clicking an example is a change of plan too.
        page.get_by_text(EXAMPLES[2][0], exact=True).click()
        stale.wait_for(state="visible", timeout=TIMEOUT_MS)
        # Saving a scenario shows the saved plan's own answer.
        page.get_by_role("button", name="Save current plan as scenario").click()
        stale.wait_for(state="hidden", timeout=TIMEOUT_MS)
        budget = EXAMPLES[2][1][PLAN_FIELDS.index("total_budget")]
        wait_for_text(page, "#cpp-plan", f"budget {budget:,}")

        clipped = page.evaluate(CLIPPED_LABELS_JS)
        assert clipped == [], clipped
        button = page.locator("#predict-button").bounding_box()
        assert button["height"] <= 64
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"stale-{size}-{width}x{height}.png"), full_page=True)
    finally:
        page.close()


def test_empty_scenarios_show_a_hint_not_a_table(server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(server, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        assert page.locator("#scenario-hint").is_visible()
        assert not page.locator("#scenario-table").is_visible()
        download = page.locator("#download-scenarios")
        assert "no scenarios saved yet" in download.inner_text()
        page.get_by_role("button", name="Save current plan as scenario").click()
        page.locator("#scenario-table").wait_for(state="visible", timeout=TIMEOUT_MS)
        assert not page.locator("#scenario-hint").is_visible()
        wait_for_text(page, "#download-scenarios", "Download CSV")
        assert "no scenarios" not in download.inner_text()
    finally:
        page.close()


def test_mix_inputs_line_up_on_a_phone(server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(server, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        # Inputs side by side in a row start at the same height: no label wraps to two lines.
        for row in (("male_ads", "all_gender_ads"), ("image_ads", "carousel_ads")):
            tops = {round(number_input(page, f).bounding_box()["y"]) for f in row}
            assert len(tops) == 1 or max(tops) - min(tops) > 40, (row, tops)
            heights = {
                f: page.locator(
                    f"#in-{f.replace('_', '-')} [data-testid='block-info']"
                ).bounding_box()["height"]
                for f in row
            }
            assert max(heights.values()) < 30, heights
    finally:
        page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_choose_the_model_and_compare_both(
    two_models: tuple[str, Predictor], browser: object, size: str
) -> None:
    url, boosting = two_models
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(url, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        wait_for_text(page, "#cpp-backend", "Ridge")
        page.get_by_role("button", name="Save current plan as scenario").click()
        page.wait_for_function(
            "() => !!document.querySelector('#scenario-table th[title=\"A\"]')",
            timeout=TIMEOUT_MS,
        )
        page.locator("#in-model").get_by_text("Voting ensemble", exact=False).click()
        wait_for_text(page, "#cpp-backend", "Voting ensemble")
        expected = boosting.predict(CampaignPlan(**DEFAULT_PLAN), 0.9)
        wait_for_text(page, "#cpp-purchases", f"{expected.purchases:,}")
        page.get_by_role("button", name="Save current plan as scenario").click()
        page.wait_for_function(
            "() => !!document.querySelector('#scenario-table th[title=\"B\"]')",
            timeout=TIMEOUT_MS,
        )
        table = page.inner_text("#scenario-table")
        # The models by the names the page gives them, never by their keys.
        assert "Ridge + SelectKBest" in table and "Voting ensemble" in table
        cells = {line.strip() for line in table.splitlines()}
        assert not cells & {"ridge", "boosting", "local"}
        assert page.evaluate(CLIPPED_LABELS_JS) == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"models-{size}-{width}x{height}.png"), full_page=True)
    finally:
        page.close()
