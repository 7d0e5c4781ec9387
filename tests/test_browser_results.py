"""Recording results and reading the track record in a real headless Chromium, desktop and phone."""

from __future__ import annotations

import pytest

from tests.support.browser import CLIPPED_LABELS_JS, SIZES, TIMEOUT_MS, wait_for_text
from tests.support.common import ARTIFACTS
from ui.results import SAMPLE_RESULTS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(app_url: str, browser: object, request: pytest.FixtureRequest):
    width, height = SIZES[request.param]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url, timeout=TIMEOUT_MS)
    page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
    page.size = request.param
    yield page
    assert page.evaluate(CLIPPED_LABELS_JS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#track-chart").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"results-{request.param}-{width}x{height}.png"))
    page.close()


BOTH = pytest.mark.parametrize("page", list(SIZES), indirect=True)


def record(page: object, actual: str) -> None:
    page.locator("#in-actual textarea, #in-actual input").first.fill(actual)
    page.get_by_role("button", name="Record result").click()


@BOTH
def test_record_a_saved_scenario_then_see_the_track_record(page: object) -> None:
    name = f"Browser {page.size}"
    page.locator("#in-scenario-name input, #in-scenario-name textarea").first.fill(name)
    page.get_by_role("button", name="Save current plan as scenario").click()
    wait_for_text(page, "#scenario-table", name)
    # The saved scenario is offered by name.
    picker = page.locator("#in-result-scenario input")
    picker.click()
    page.get_by_role("option", name=name).click()
    page.wait_for_function(
        "([sel, v]) => document.querySelector(sel).value === v",
        arg=["#in-result-scenario input", name],
        timeout=TIMEOUT_MS,
    )
    record(page, "77")
    wait_for_text(page, "#results-message", f"Recorded: scenario {name} brought 77 purchases")
    # The same scenario again: refused, with what to do.
    record(page, "78")
    page.get_by_text("tick “Replace an earlier result” to replace it").first.wait_for(
        timeout=TIMEOUT_MS
    )
    page.locator("#in-replace input").check()
    record(page, "79")
    wait_for_text(page, "#results-message", "it replaced the earlier result")
    # Recording refreshes the track record: its sentences and one point per result.
    wait_for_text(page, "#track-summary", "All results")
    count = page.locator("#track-chart .cpp-point").count()
    assert count >= 1 and page.locator("#track-chart .cpp-diagonal").count() == 1


@BOTH
def test_a_bad_number_is_refused_with_a_message(page: object) -> None:
    page.get_by_role("button", name="Record result").click()  # nothing entered: not a 0
    page.get_by_text("Actual purchases is empty").wait_for(timeout=TIMEOUT_MS)
    record(page, "-3")
    page.get_by_text("Actual purchases is -3; a campaign brings 0 purchases or more").wait_for(
        timeout=TIMEOUT_MS
    )
    assert "Traceback" not in page.inner_text("body")


@BOTH
def test_record_a_file_of_results(page: object) -> None:
    page.locator("#results-upload input[type=file]").set_input_files(str(SAMPLE_RESULTS))
    page.get_by_role("button", name="Record the file").click()
    wait_for_text(page, "#results-file-summary", "results recorded")
    summary = page.inner_text("#results-file-summary")
    assert "line 5: actual purchases is -4" in summary
    page.get_by_role("button", name="Refresh track record").click()
    wait_for_text(page, "#track-summary", "All results")
    assert page.locator("#track-chart svg").count() == 1
