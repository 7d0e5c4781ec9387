"""The economics cards in a real headless Chromium, at desktop and phone sizes: an invalid order
value or margin takes its figures off the cards and says why under the field."""

from __future__ import annotations

import pytest

from tests.support.browser import CLIPPED_LABELS_JS, SIZES, TIMEOUT_MS, wait_for_text
from tests.support.common import ARTIFACTS

pytestmark = pytest.mark.browser


def card(page: object, key: str) -> dict[str, object]:
    """The economics card ``key``: its value, its line under the value, and if greyed out."""
    return page.evaluate(
        """(key) => {
            const el = document.querySelector('#cpp-' + key);
            return el && {value: el.querySelector('.v').innerText,
                          line: el.querySelector('.r').innerText,
                          off: el.classList.contains('cpp-off')};
        }""",
        key,
    )


def below(page: object, note: str, field: str) -> float:
    """How far under the field's box the note starts, in pixels."""
    note_box = page.locator(note).bounding_box()
    field_box = page.locator(field).bounding_box()
    assert note_box["x"] < field_box["x"] + field_box["width"]
    return note_box["y"] - (field_box["y"] + field_box["height"])


@pytest.mark.parametrize("size", list(SIZES))
def test_invalid_order_value_or_margin_clears_its_figures_and_says_why(
    app_url: str, browser: object, size: str
) -> None:
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(app_url, timeout=TIMEOUT_MS)
        page.wait_for_selector("#cpp-purchases", timeout=TIMEOUT_MS)
        order_value = page.locator("#in-aov input")
        margin = page.locator("#in-margin input")
        order_value.fill("3000")
        margin.fill("40")
        wait_for_text(page, "#econ", "Profit")
        revenue = card(page, "revenue")["value"]
        roas = card(page, "roas")["value"]
        cpa = card(page, "cpa")["value"]
        assert revenue != "—" and roas.endswith("×")

        order_value.fill("-10")
        wait_for_text(page, "#in-aov-note", "Average order value is -10; enter 0 or more")
        for key in ("revenue", "roas", "profit"):
            shown = card(page, key)
            assert shown["off"] and shown["value"] == "—", (key, shown)
            assert "order value" in shown["line"]
        assert revenue not in page.inner_text("#econ") and roas not in page.inner_text("#econ")
        # The cost per purchase needs no order value: it stays, at full strength.
        assert card(page, "cpa") == {**card(page, "cpa"), "value": cpa, "off": False}
        assert 0 <= below(page, "#in-aov-note", "#in-aov input") < 60

        order_value.fill("3000")
        margin.fill("400")
        wait_for_text(page, "#in-margin-note", "Margin 400 is not a share of the order value")
        page.wait_for_function(
            "() => document.querySelector('#in-aov-note').innerText.trim() === ''",
            timeout=TIMEOUT_MS,
        )
        assert card(page, "profit")["off"] and card(page, "profit")["value"] == "—"
        assert card(page, "revenue") == {**card(page, "revenue"), "value": revenue, "off": False}
        assert 0 <= below(page, "#in-margin-note", "#in-margin input") < 60

        margin.fill("40")
        page.wait_for_function(
            "() => !document.querySelector('#cpp-profit').classList.contains('cpp-off')",
            timeout=TIMEOUT_MS,
        )
        assert page.inner_text("#in-margin-note").strip() == ""
        assert page.evaluate(CLIPPED_LABELS_JS) == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#econ").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"economics-{size}-{width}x{height}.png"))
    finally:
        page.close()
