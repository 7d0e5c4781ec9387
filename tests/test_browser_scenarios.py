"""Saved scenarios in a real headless Chromium, at desktop and phone sizes: kept in the browser,
compared against a chosen baseline, exported and loaded back."""

from __future__ import annotations

import pytest

from tests.support.browser import CLIPPED_LABELS_JS, SIZES, TIMEOUT_MS, number_input, wait_for_text
from tests.support.common import ARTIFACTS

pytestmark = pytest.mark.browser


def wait_for_headers(page: object, names: list[str]) -> None:
    """Wait until the comparison's columns are exactly ``Setting`` and ``names``."""
    page.wait_for_function(
        """(names) => {
            const cells = [...document.querySelectorAll('#scenario-table th[role=columnheader]')];
            const shown = cells.map(c => c.getAttribute('title'));
            return JSON.stringify(shown) === JSON.stringify(['Setting', ...names]);
        }""",
        arg=names,
        timeout=TIMEOUT_MS,
    )


def row_cells(page: object, label: str) -> list[str]:
    """The cells of the comparison row called ``label``."""
    return page.evaluate(
        """(label) => {
            const rows = [...document.querySelectorAll('#scenario-table [role=row].virtual-row')];
            const cells = r => [...r.querySelectorAll('[role=gridcell]')];
            const row = rows.find(r => cells(r)[0]?.innerText.trim() === label);
            return row ? cells(row).slice(1).map(c => c.innerText.trim()) : [];
        }""",
        label,
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_scenarios_stay_in_the_browser_and_compare_against_a_baseline(
    app_url: str, browser: object, size: str, tmp_path
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(app_url, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        # Nothing saved: no table, no remove controls.
        assert page.locator("#scenario-hint").is_visible()
        assert not page.locator("#in-remove").is_visible()
        assert not page.locator("#remove-scenario").is_visible()

        page.locator("#in-aov input").fill("80")
        page.locator("#in-margin input").fill("40")
        wait_for_text(page, "#econ", "ROAS")
        save = page.get_by_role("button", name="Save current plan as scenario")
        save.click()
        wait_for_headers(page, ["A"])
        number_input(page, "total_budget").fill("30000")
        save.click()
        wait_for_headers(page, ["A", "B"])
        page.locator("#remove-scenario").wait_for(state="visible", timeout=TIMEOUT_MS)
        # What a planner compares comes first; each scenario keeps its order value and margin.
        labels = page.evaluate(
            "() => [...document.querySelectorAll('#scenario-table [role=gridcell][data-col=\"0\"]')]"
            ".map(c => c.innerText.trim())"
        )
        assert labels[:5] == ["Predicted purchases", "Range", "ROAS", "Cost per purchase", "Profit"]
        assert row_cells(page, "Order value · margin") == ["80.00 · 40%", "80.00 · 40%"]
        assert "(−20,000)" in row_cells(page, "Total budget")[1]
        # The cue and the baseline choice arrive in the same update, after the table's.
        page.locator("#in-baseline").wait_for(state="visible", timeout=TIMEOUT_MS)
        cue = page.locator("#scenario-scroll-cue .cpp-scroll-cue")
        if size == "phone":
            cue.wait_for(state="visible", timeout=TIMEOUT_MS)
        assert cue.is_visible() == (size == "phone")

        # Compare against B: the differences turn round.
        page.locator("#in-baseline input").click()
        page.get_by_role("option", name="B").click()
        page.wait_for_function(
            """() => [...document.querySelectorAll('#scenario-table [role=row].virtual-row')]
                .some(r => r.innerText.includes('Total budget') && r.innerText.includes('(+20,000)'))""",
            timeout=TIMEOUT_MS,
        )
        assert "differences from B" in page.inner_text("#scenario-table")

        # A reload keeps them.
        page.reload(timeout=TIMEOUT_MS)
        wait_for_headers(page, ["A", "B"])

        # Exported, removed, and loaded back from the file.
        wait_for_text(page, "#download-scenarios", "Download CSV")
        with page.expect_download(timeout=TIMEOUT_MS) as download:
            page.locator("#download-scenarios").click()
        exported = tmp_path / "scenarios.csv"
        download.value.save_as(exported)
        for name, left in (("B", ["A"]), ("A", None)):
            page.locator("#in-remove input").click()
            page.get_by_role("option", name=name, exact=True).click()
            page.locator("#remove-scenario").click()
            if left:
                wait_for_headers(page, left)
        page.locator("#scenario-hint").wait_for(state="visible", timeout=TIMEOUT_MS)
        assert not page.locator("#remove-scenario").is_visible()
        with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
            page.locator("#upload-scenarios").click()
        chooser.value.set_files(str(exported))
        wait_for_headers(page, ["A", "B"])
        assert row_cells(page, "Order value · margin") == ["80.00 · 40%", "80.00 · 40%"]
        assert page.evaluate(CLIPPED_LABELS_JS) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#scenario-table").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"scenarios-{size}-{width}x{height}.png"))
    finally:
        context.close()
