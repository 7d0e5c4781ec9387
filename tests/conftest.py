"""The suite's fixtures come from the plugins of ``tests/support`` (helpers are imported from there)."""

pytest_plugins = [
    "tests.support.app",
    "tests.support.browser",
    "tests.support.postgres",
    "tests.support.publish",
]
