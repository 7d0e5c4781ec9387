"""Events whose inputs Gradio would pass on unchanged skip its per-input reading threads."""

from __future__ import annotations

import gradio as gr
import pytest

from predictor import Predictor
from predictor.record.scenario_log import NullLog
from ui import build_demo
from ui.api_guard import preprocess_needed


def _choices() -> list:
    return [("Ridge", "ridge"), ("Ensemble", "boosting")]


@pytest.mark.parametrize(
    ("make", "needed"),
    [
        (lambda: gr.Number(), False),
        (lambda: gr.Number(precision=0), True),  # rounds to a whole number
        (lambda: gr.Number(minimum=0), True),  # refuses values below
        (lambda: gr.Number(maximum=10), True),
        (lambda: gr.Radio(choices=_choices()), False),
        (lambda: gr.Radio(choices=_choices(), type="index"), True),  # passes the position
        (lambda: gr.Dropdown(choices=_choices()), False),
        (lambda: gr.Dropdown(choices=_choices(), type="index"), True),
        (lambda: gr.Dropdown(choices=_choices(), multiselect=True), True),
        (lambda: gr.Textbox(), True),  # anything else keeps Gradio's reading
        (lambda: gr.File(), True),
    ],
)
def test_only_inputs_read_unchanged_skip_the_reading(make, needed):
    with gr.Blocks():
        blocks = [gr.Number(), make()]
    assert preprocess_needed(blocks) is needed
    assert preprocess_needed(blocks[:1]) is False


def test_the_answers_events_skip_the_reading_and_the_others_keep_it():
    demo = build_demo(Predictor(model_dir="model"), NullLog())
    by_name = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    for name in ("predict", "curves"):
        assert by_name[name].preprocess is False, name
    # Opening the page predicts too, with the same inputs and the same shortcut.
    loads = [fn for fn in demo.fns.values() if fn.targets and fn.targets[0][1] == "load"]
    assert any(
        len(fn.inputs) == len(by_name["predict"].inputs) and not fn.preprocess for fn in loads
    )
    # An event with an upload keeps Gradio's reading.
    assert by_name["score_csv"].preprocess is True
