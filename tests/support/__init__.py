"""Helpers and fixtures of the test suite; nothing here is a test.

- ``common``: the repository's paths, the test token, ``free_port``.
- ``app`` (plugin): the bundled predictor and the Gradio app on a loopback port.
- ``browser`` (plugin): headless Chromium through Playwright, page sizes and page helpers.
- ``data``: input tables (a tiny valid dataset, the real sample, generated logs, Parquet copies).
- ``endpoint``: a loopback Databricks workspace (OAuth, scripted serving endpoint).
- ``predictor``: the page's default plan, a bundle copy, ``mlflow models serve``, a fault server.
- ``postgres`` (plugin): a real PostgreSQL server and a fresh database per test.
- ``publish`` (plugin): the publishing CLI, no network, a fake project, a recording Hub API.
- ``scenario``: a plan, an answer and concurrent clients for the scenario log.

The plugins are registered in ``tests/conftest.py``; test modules import helpers from here,
never from one another.
"""
