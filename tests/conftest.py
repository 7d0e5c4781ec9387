"""The suite's fixtures come from the plugins of ``tests/support`` (helpers are imported from there)."""

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
