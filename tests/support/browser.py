"""What the browser tests share: the system Chromium, the page sizes, and page helpers.

A pytest plugin, registered in ``tests/conftest.py``: it provides the ``browser`` fixture.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
TIMEOUT_MS = 60_000


def number_input(page: object, field: str) -> object:
    """The ``<input>`` of the plan field ``field``."""
    return page.locator(f"#in-{field.replace('_', '-')} input")


def wait_for_text(page: object, selector: str, text: str) -> None:
    """Wait until the element at ``selector`` shows ``text``."""
    page.wait_for_function(
        "([sel, text]) => { const el = document.querySelector(sel);"
        " return !!el && el.innerText.includes(text); }",
        arg=[selector, text],
        timeout=TIMEOUT_MS,
    )


# Labels and button texts cut short: wider content than box. Screen-reader-only labels (1 px
# boxes) and accordion headers (whose box holds an icon beside the text) are measured by text.
CLIPPED_LABELS_JS = """() => [...document.querySelectorAll(
        '[data-testid="block-info"], label span, button:not(.label-wrap), .label-wrap > span,'
        + ' .cpp-section-title h3')]
    .filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 2
        && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText.trim()).filter(t => t)"""


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """The system Chromium, headless, through Playwright (which never downloads a browser)."""
    if not shutil.which("chromium"):
        pytest.fail("Chromium is not installed; install it with `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
