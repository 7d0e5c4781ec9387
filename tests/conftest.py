"""The suite's fixtures come from the plugins of ``tests/support`` (helpers are imported from there).

Tests that drive Chromium or Spark are ``slow`` as well, so that ``-m "not slow"`` is the quick
part of the suite.
"""

import pytest

pytest_plugins = [
    "tests.support.app",
    "tests.support.browser",
    "tests.support.postgres",
    "tests.support.publish",
]

SLOW_KINDS = ("browser", "spark")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every browser and Spark test ``slow``."""
    for item in items:
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)
