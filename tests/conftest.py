"""The suite's fixtures come from the plugins of ``tests/support`` (helpers are imported from there).

Tests that drive Chromium or Spark, train models or serve them through MLflow are ``slow`` as well,
so that ``-m "not slow"`` is the quick part of the suite.
"""

import logging

import pytest

_PROJECT = {"app", "predictor", "training", "ui"}

pytest_plugins = [
    "tests.support.app",
    "tests.support.browser",
    "tests.support.postgres",
    "tests.support.publish",
]


@pytest.fixture(autouse=True)
def _project_loggers_enabled() -> None:
    """Keep the project's loggers on: a library that configures logging with
    ``disable_existing_loggers`` (MLflow does, when a test imports it) turns them off for every
    later test, and the tests that read log lines would then see none."""
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.split(".")[0] in _PROJECT:
            logger.disabled = False


SLOW_KINDS = ("browser", "spark")
# Modules that train models or start `mlflow models serve`: tens of seconds a test.
SLOW_MODULES = ("test_training.py", "test_model_serving.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every browser, Spark, training and model-serving test ``slow``."""
    for item in items:
        kind = any(item.get_closest_marker(k) for k in SLOW_KINDS)
        if kind or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
