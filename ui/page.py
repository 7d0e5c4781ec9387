"""The whole page: sections laid out, and the events that tie them together."""

from __future__ import annotations

from collections.abc import Mapping

import gradio as gr

from predictor import Predictor
from predictor.record.scenario_log import NullLog, ScenarioLog
from predictor.serving.model_code.interval import DEFAULT_LEVEL
from ui.batch import build_batch_view, show_sample_in_api, wire_batch
from ui.common import DEFAULT_MODEL, DEFAULT_PLAN, Services, bundle_labels
from ui.dashboard import build_dashboard_view, wire_dashboard
from ui.economics import build_economics_view, economics_api, economics_on_page
from ui.explain import build_explain_view, explain_handler
from ui.notes import INTRO, NOTES
from ui.plan_form import build_plan_form
from ui.prediction import build_prediction_view, predict_handler, refusal_handler
from ui.scenarios import build_scenario_view, wire_scenarios
from ui.target import build_target_view, wire_target
from ui.whatif import build_whatif_view, curves_handler

PAGE_CSS = """
.cpp-stale-note { display: none; }
.cpp-plan-changed .cpp-stale-note { display: block !important; margin-top: 0.6rem; font-weight: 600;
  color: var(--color-accent); }
.cpp-plan-changed #result .cpp-number, .cpp-plan-changed #result .cpp-range,
.cpp-plan-changed #result #cpp-plan,
.cpp-plan-changed #econ, .cpp-plan-changed #plot-budget, .cpp-plan-changed #plot-ads {
  opacity: 0.4; }
@media (min-width: 1024px) {
  /* The card itself stays in view, not the whole column (taller than a screen): the column
     runs the row's height and the card sticks to the top inside it. */
  #result-column { align-self: stretch !important; }
  #result { position: sticky; top: 0.5rem; z-index: 5; background: var(--body-background-fill); }
}
/* Gradio's container hides overflow, which makes it the box a sticky element sticks in;
   clipping instead keeps its edges and lets the card stick to the window. */
.gradio-container { overflow: clip !important; }
/* Gradio hides "Use via API" on a phone; the API is there on every screen. */
footer .show-api { display: flex !important; }
footer .show-api-divider { display: block !important; }
footer { flex-wrap: wrap; row-gap: 0.3rem; }
footer > * { flex-shrink: 0; }
.cpp-actions { align-items: flex-end !important; }
.cpp-actions button { max-height: 3rem; }
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


MARK_STALE_JS = "() => { document.body.classList.add('cpp-plan-changed'); }"
CLEAR_STALE_JS = "() => { document.body.classList.remove('cpp-plan-changed'); }"
# Gradio's own scroll_to_output aims at the last output (the details, folded away): bring the
# card itself into view instead.
SHOW_ANSWER_JS = """() => { document.body.classList.remove('cpp-plan-changed');
  document.querySelector('#result')?.scrollIntoView({block: 'nearest', behavior: 'instant'}); }"""

# What the "Use via API" page shows for /roas's prediction: the shape /predict returns.
SAMPLE_ANSWER = {
    "purchases": 94,
    "lower": 55,
    "upper": 132,
    "level": 0.9,
    "backend": "local",
    "model": DEFAULT_MODEL,
    "plan": dict(DEFAULT_PLAN),
}


def _api_example(component: gr.components.Component, value: object) -> None:
    """Show ``value`` for ``component`` in the generated API snippets (Gradio's defaults, such as
    ``3`` for a budget or ``{"foo": "bar"}`` for a prediction, would fail or mislead)."""
    component.example_payload = lambda: value  # type: ignore[method-assign]


def build_demo(
    predictor: Predictor | Mapping[str, Predictor],
    scenario_log: ScenarioLog | NullLog | None = None,
    labels: Mapping[str, str] | None = None,
) -> gr.Blocks:
    """Build the page on ``predictor`` (or one predictor per model name, the default first).

    Answers are logged to ``scenario_log`` (none by default); ``labels`` name the models on the
    page. Nothing is predicted or loaded until a user opens the page.
    """
    predictors = predictor if isinstance(predictor, Mapping) else {DEFAULT_MODEL: predictor}
    names = {**bundle_labels(predictors), **(labels or {})}
    services = Services(dict(predictors), scenario_log or NullLog(), names)
    predict = predict_handler(services)
    curves = curves_handler(services)
    with gr.Blocks(title="Campaign Purchase Predictor", fill_width=False) as blocks:
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=340):
                form = build_plan_form({m: services.label(m) for m in services.predictors})
            with gr.Column(scale=4, min_width=320, elem_id="result-column"):
                answer = build_prediction_view()
                why = build_explain_view()
                econ = build_economics_view()
                target = build_target_view()
        whatif = build_whatif_view()
        scenarios = build_scenario_view()
        batch = build_batch_view()
        dashboard = build_dashboard_view()
        with gr.Accordion("Notes & limitations", open=False, elem_id="notes"):
            gr.Markdown(NOTES)

        plan_level = [*form.plan_inputs, form.level, form.model]
        econ_inputs = [answer.record, econ.order_value, econ.margin]
        econ_outputs = econ.outputs
        # Any change to the plan greys the shown answer out until it is predicted again.
        gr.on(
            [c.change for c in form.plan_inputs],
            fn=None,
            js=MARK_STALE_JS,
            api_visibility="private",
            queue=False,
            show_progress="hidden",
        )
        predicted = form.predict_button.click(
            predict,
            inputs=plan_level,
            outputs=answer.outputs,
            api_name="predict",
            show_progress="minimal",
        )
        predicted.success(fn=None, js=SHOW_ANSWER_JS, api_visibility="private", queue=False)
        refused = refusal_handler(services)
        predicted.failure(refused, plan_level, answer.outputs, api_visibility="private")
        predicted.success(economics_on_page, econ_inputs, econ_outputs, api_visibility="private")
        economics_api(answer.record, econ)
        predicted.success(
            curves, plan_level, whatif.outputs, api_name="curves", show_progress="minimal"
        )
        gr.on(
            [econ.order_value.change, econ.margin.change],
            fn=economics_on_page,
            inputs=econ_inputs,
            outputs=econ_outputs,
            api_visibility="private",
            show_progress="hidden",
            trigger_mode="always_last",
        )
        # Opening the page and changing the range level or model predict again, outside the
        # public API; the answer on opening the page is not a planner's choice, so not logged.
        loaded = blocks.load(
            predict_handler(services, log=False),
            inputs=plan_level,
            outputs=answer.outputs,
            api_visibility="private",
            show_progress="minimal",
        )
        loaded.success(
            economics_on_page, econ_inputs, econ_outputs, api_visibility="private"
        ).success(
            curves, plan_level, whatif.outputs, api_visibility="private", show_progress="minimal"
        )
        repredicted = gr.on(
            [form.level.change, form.model.change],
            fn=predict,
            inputs=plan_level,
            outputs=answer.outputs,
            api_visibility="private",
            show_progress="minimal",
            trigger_mode="always_last",
        )
        repredicted.success(fn=None, js=CLEAR_STALE_JS, api_visibility="private", queue=False)
        repredicted.failure(refused, plan_level, answer.outputs, api_visibility="private")
        repredicted.success(economics_on_page, econ_inputs, econ_outputs, api_visibility="private")
        repredicted.success(
            curves, plan_level, whatif.outputs, api_visibility="private", show_progress="minimal"
        )
        explain_prediction = explain_handler(services)
        predicted.success(
            explain_prediction,
            [answer.record, form.model],
            [why.chart, why.data],
            api_name="explain",
            show_progress="hidden",
        )
        for shown in (loaded, repredicted):
            shown.success(
                explain_prediction,
                [answer.record, form.model],
                [why.chart, why.data],
                api_visibility="private",
                show_progress="hidden",
            )
        wire_target(target, services, plan_level, [econ.order_value, econ.margin])
        wire_batch(batch, services, form.level, form.model)
        saved = wire_scenarios(
            scenarios,
            services,
            form.plan_inputs,
            form.level,
            form.model,
            [econ.order_value, econ.margin],
        )
        # The saved plan is the one on screen: show its answer.
        saved.success(
            predict_handler(services, log=False),
            plan_level,
            answer.outputs,
            api_visibility="private",
            show_progress="hidden",
        ).success(fn=None, js=CLEAR_STALE_JS, api_visibility="private", queue=False).success(
            economics_on_page, econ_inputs, econ_outputs, api_visibility="private"
        ).success(curves, plan_level, whatif.outputs, api_visibility="private").success(
            explain_prediction,
            [answer.record, form.model],
            [why.chart, why.data],
            api_visibility="private",
            show_progress="hidden",
        )
        for field, component in form.inputs.items():
            _api_example(component, DEFAULT_PLAN[field])
        _api_example(form.level, DEFAULT_LEVEL)
        _api_example(form.model, services.default_model)
        _api_example(answer.record, SAMPLE_ANSWER)
        _api_example(econ.order_value, 60)
        _api_example(econ.margin, 40)
        _api_example(target.purchases, 120)
        _api_example(target.max_cost, 0)
        show_sample_in_api(batch.upload, blocks)
        wire_dashboard(dashboard, services)
    return blocks
