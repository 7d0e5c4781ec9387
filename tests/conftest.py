"""The suite's fixtures come from the plugins of ``tests/support`` (helpers are imported from there).

Tests that drive Chromium or Spark, train models or serve them through MLflow are ``slow`` as well,
so that ``-m "not slow"`` is the quick part of the suite.
"""

import pytest

pytest_plugins = [
    "tests.support.app",
    "tests.support.browser",
    "tests.support.postgres",
    "tests.support.publish",
]

SLOW_KINDS = ("browser", "spark")
# Modules that train models or start `mlflow models serve`: tens of seconds a test.
SLOW_MODULES = ("test_training.py", "test_model_serving.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every browser, Spark, training and model-serving test ``slow``."""
    for item in items:
        kind = any(item.get_closest_marker(k) for k in SLOW_KINDS)
        if kind or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
