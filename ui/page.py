"""The whole page: sections laid out, and the events that tie them together."""

from __future__ import annotations

import gradio as gr

from predictor import Predictor
from ui.economics import build_economics_view, roas
from ui.notes import INTRO, NOTES
from ui.plan_form import build_plan_form
from ui.prediction import build_prediction_view, predict_handler
from ui.scenarios import build_scenario_view, wire_scenarios
from ui.whatif import build_whatif_view, curves_handler

PAGE_CSS = """
.cpp-predict-button { min-height: 3.2rem; font-size: 1.1rem !important; }
.cpp-section-title { margin-top: 0.2rem; }
.cpp-mix-total p { margin: 0 !important; font-size: 0.9rem; }
footer { margin-top: 1.5rem; }
"""

THEME = gr.themes.Soft(
    primary_hue="indigo",
    secondary_hue="sky",
    neutral_hue="slate",
    font=("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"),
    font_mono=("ui-monospace", "SFMono-Regular", "Menlo", "monospace"),
)


def build_demo(predictor: Predictor) -> gr.Blocks:
    """Build the page on ``predictor``. Nothing is predicted or loaded until a user opens it."""
    predict = predict_handler(predictor)
    curves = curves_handler(predictor)
    with gr.Blocks(title="Campaign Purchase Predictor", fill_width=False) as blocks:
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=340):
                form = build_plan_form()
            with gr.Column(scale=4, min_width=320):
                answer = build_prediction_view()
                econ = build_economics_view()
        whatif = build_whatif_view()
        scenarios = build_scenario_view()
        with gr.Accordion("Notes & limitations", open=False, elem_id="notes"):
            gr.Markdown(NOTES)

        plan_level = [*form.plan_inputs, form.level]
        econ_inputs = [answer.record, econ.order_value, econ.margin]
        econ_outputs = [econ.summary, econ.record]
        predicted = form.predict_button.click(
            predict,
            inputs=plan_level,
            outputs=answer.outputs,
            api_name="predict",
            show_progress="minimal",
            scroll_to_output=True,
        )
        predicted.success(roas, econ_inputs, econ_outputs, api_name="roas")
        predicted.success(
            curves, plan_level, whatif.outputs, api_name="curves", show_progress="minimal"
        )
        gr.on(
            [econ.order_value.change, econ.margin.change],
            fn=roas,
            inputs=econ_inputs,
            outputs=econ_outputs,
            api_visibility="private",
            show_progress="hidden",
            trigger_mode="always_last",
        )
        # Opening the page and changing the range level predict again, outside the public API.
        repredicted = gr.on(
            [blocks.load, form.level.change],
            fn=predict,
            inputs=plan_level,
            outputs=answer.outputs,
            api_visibility="private",
            show_progress="minimal",
            trigger_mode="always_last",
        )
        repredicted.success(roas, econ_inputs, econ_outputs, api_visibility="private")
        repredicted.success(
            curves, plan_level, whatif.outputs, api_visibility="private", show_progress="minimal"
        )
        wire_scenarios(scenarios, predictor, form.plan_inputs, form.level)
    return blocks
