"""The queue the app launches with: Gradio's monitoring summary off each answer's path."""

from __future__ import annotations

import gradio as gr
import pytest
from gradio_client import Client

import app
from tests.support.common import free_port

SETTING = "GRADIO_ANALYTICS_CACHE_FREQUENCY"


def _launched(monkeypatch: pytest.MonkeyPatch, value: str | None) -> gr.Blocks:
    # setenv first, so that the variable is put back as it was (absent) after the test.
    monkeypatch.setenv(SETTING, value or "0")
    if value is None:
        monkeypatch.delenv(SETTING)
    with gr.Blocks() as demo:
        number = gr.Number(value=1)
        gr.Button("Go").click(lambda x: x + 1, number, gr.Number(), api_name="go")
    app.launch(
        demo,
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=free_port(),
        quiet=True,
    )
    return demo


def test_the_monitoring_summary_is_redrawn_every_hundredth_event(monkeypatch):
    demo = _launched(monkeypatch, None)
    try:
        queue = demo._queue
        assert queue.ANAYLTICS_CACHE_FREQUENCY == app.MONITORING_SUMMARY_EVERY == 100
        client = Client(demo.local_url, verbose=False, analytics_enabled=False)
        assert client.predict(2, api_name="/go") == 3
        # The event was recorded for the summary, which is not redrawn on the first one.
        assert queue.events_recorded == 1
        assert queue.event_count_at_last_cache == 0
    finally:
        demo.close()


def test_an_operators_own_setting_wins(monkeypatch):
    demo = _launched(monkeypatch, "7")
    try:
        assert demo._queue.ANAYLTICS_CACHE_FREQUENCY == 7
    finally:
        demo.close()
