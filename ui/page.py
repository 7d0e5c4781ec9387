"""The whole page: sections laid out, and the events that tie them together."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import gradio as gr
from gradio.events import Dependency

from predictor import Predictor
from predictor.record.scenario_log import NullLog, ScenarioLog
from predictor.serving.model_code.interval import DEFAULT_LEVEL
from ui.api_guard import GuardedBlocks, preprocess_needed
from ui.batch import SAMPLE_PLANS, BatchView, build_batch_view, wire_batch
from ui.common import (
    DEFAULT_MODEL,
    DEFAULT_PLAN,
    Services,
    api_example,
    bundle_labels,
    show_sample_in_api,
)
from ui.dashboard import DashboardView, build_dashboard_view, wire_dashboard
from ui.economics import EconomicsView, build_economics_view, economics_api, economics_on_page
from ui.explain import ExplainView, build_explain_view, explain_handler
from ui.notes import INTRO, NOTES
from ui.optimize import OptimizeView, build_optimize_view, wire_optimizer
from ui.plan_form import PlanForm, build_plan_form
from ui.prediction import PredictionView, build_prediction_view, predict_handler, refusal_handler
from ui.results import (
    SAMPLE_RESULTS,
    ResultsView,
    TrackRecordView,
    build_results_view,
    build_track_record_view,
    wire_results,
)
from ui.scenarios import ScenarioView, build_scenario_view, wire_scenarios
from ui.target import TargetView, build_target_view, wire_target
from ui.whatif import WhatIfView, build_whatif_view, curves_handler

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


@dataclass
class _Page:
    """The page's sections, and the handlers that more than one event runs."""

    services: Services
    form: PlanForm
    answer: PredictionView
    why: ExplainView
    econ: EconomicsView
    target: TargetView
    optimizer: OptimizeView
    whatif: WhatIfView
    scenarios: ScenarioView
    batch: BatchView
    dashboard: DashboardView
    track: TrackRecordView
    results: ResultsView
    curves: Callable[..., tuple]
    explain: Callable[..., tuple]

    @property
    def plan_level(self) -> list[gr.components.Component]:
        """The plan, the range level and the model: the inputs of a prediction."""
        return [*self.form.plan_inputs, self.form.level, self.form.model]

    @property
    def econ_inputs(self) -> list[gr.components.Component]:
        """The answer and the planner's order value and margin: the inputs of the economics."""
        return [self.answer.record, self.econ.order_value, self.econ.margin]

    @property
    def econ_outputs(self) -> list[gr.components.Component]:
        """The economics as shown and as data."""
        return self.econ.outputs


def _layout(services: Services) -> _Page:
    """Draw the sections in page order."""
    gr.Markdown(INTRO)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=340):
            form = build_plan_form({m: services.label(m) for m in services.predictors})
        with gr.Column(scale=4, min_width=320, elem_id="result-column"):
            answer = build_prediction_view()
            why = build_explain_view()
            econ = build_economics_view()
            target = build_target_view()
    optimizer = build_optimize_view()
    whatif = build_whatif_view()
    scenarios = build_scenario_view()
    batch = build_batch_view()
    dashboard = build_dashboard_view()
    track = build_track_record_view()
    results = build_results_view()
    with gr.Accordion("Notes & limitations", open=False, elem_id="notes"):
        gr.Markdown(NOTES)
    return _Page(
        services=services,
        form=form,
        answer=answer,
        why=why,
        econ=econ,
        target=target,
        optimizer=optimizer,
        whatif=whatif,
        scenarios=scenarios,
        batch=batch,
        dashboard=dashboard,
        track=track,
        results=results,
        curves=curves_handler(services),
        explain=explain_handler(services),
    )


def _after_answer(
    page: _Page, shown: Dependency, js: str | None = None, public: bool = False
) -> None:
    """Once ``shown`` has put an answer on the page: run ``js`` in the browser, and show the
    answer's economics, what-if curves and explanation. ``public`` gives these their API names
    (``/roas``, ``/curves``, ``/explain``): only the chain after ``/predict`` is public."""

    def api(name: str) -> dict[str, str]:
        return {"api_name": name} if public else {"api_visibility": "private"}

    if js:
        shown.success(fn=None, js=js, api_visibility="private", queue=False)
    shown.success(economics_on_page, page.econ_inputs, page.econ_outputs, api_visibility="private")
    shown.success(
        page.curves,
        page.plan_level,
        page.whatif.outputs,
        show_progress="minimal",
        preprocess=preprocess_needed(page.plan_level),
        **api("curves"),
    )
    shown.success(
        page.explain,
        [page.answer.record, page.form.model],
        [page.why.chart, page.why.data],
        show_progress="hidden",
        **api("explain"),
    )


def _wire_answers(blocks: gr.Blocks, page: _Page) -> None:
    """Predict on the button (the public API), on opening the page and on a new range level or
    model; grey a shown answer out when the plan changes; redo the economics on new figures."""
    form, answer, econ = page.form, page.answer, page.econ
    predict = predict_handler(page.services)
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
        inputs=page.plan_level,
        outputs=answer.outputs,
        api_name="predict",
        show_progress="minimal",
        preprocess=preprocess_needed(page.plan_level),
    )
    _after_answer(page, predicted, js=SHOW_ANSWER_JS, public=True)
    refused = refusal_handler(page.services)
    predicted.failure(refused, page.plan_level, answer.outputs, api_visibility="private")
    economics_api(answer.record, econ)
    gr.on(
        [econ.order_value.change, econ.margin.change],
        fn=economics_on_page,
        inputs=page.econ_inputs,
        outputs=page.econ_outputs,
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="always_last",
    )
    # Opening the page and changing the range level or model predict again, outside the
    # public API; the answer on opening the page is not a planner's choice, so not logged.
    private = {
        "inputs": page.plan_level,
        "outputs": answer.outputs,
        "api_visibility": "private",
        "show_progress": "minimal",
        "preprocess": preprocess_needed(page.plan_level),
    }
    _after_answer(page, blocks.load(predict_handler(page.services, log=False), **private))
    changes = [form.level.change, form.model.change]
    repredicted = gr.on(changes, fn=predict, trigger_mode="always_last", **private)
    repredicted.failure(refused, page.plan_level, answer.outputs, api_visibility="private")
    _after_answer(page, repredicted, js=CLEAR_STALE_JS)


def _wire_target(page: _Page) -> None:
    """The budget needed for a target number of purchases (``/target_budget``)."""
    wire_target(
        page.target, page.services, page.plan_level, [page.econ.order_value, page.econ.margin]
    )


def _wire_saved_scenarios(page: _Page) -> None:
    """The scenarios' events; saving a plan also shows its answer."""
    form = page.form
    saved = wire_scenarios(
        page.scenarios,
        page.services,
        form.plan_inputs,
        form.level,
        form.model,
        [page.econ.order_value, page.econ.margin],
    )
    # The saved plan is the one on screen: show its answer.
    shown = saved.success(
        predict_handler(page.services, log=False),
        page.plan_level,
        page.answer.outputs,
        api_visibility="private",
        show_progress="hidden",
    )
    _after_answer(page, shown, js=CLEAR_STALE_JS)


def _api_examples(page: _Page, blocks: gr.Blocks) -> None:
    """The values the "Use via API" page shows for each input."""
    for field, component in page.form.inputs.items():
        api_example(component, DEFAULT_PLAN[field])
    api_example(page.form.level, DEFAULT_LEVEL)
    api_example(page.form.model, page.services.default_model)
    api_example(page.answer.record, SAMPLE_ANSWER)
    api_example(page.econ.order_value, 60)
    api_example(page.econ.margin, 40)
    api_example(page.target.purchases, 120)
    api_example(page.target.max_cost, 0)
    show_sample_in_api(page.batch.upload, blocks, SAMPLE_PLANS)


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
    with GuardedBlocks(title="Campaign Purchase Predictor", fill_width=False) as blocks:
        page = _layout(services)
        _wire_answers(blocks, page)
        _wire_target(page)
        wire_batch(page.batch, services, page.form.level, page.form.model)
        _wire_saved_scenarios(page)
        _api_examples(page, blocks)
        wire_dashboard(page.dashboard, services)
        _wire_results(page, blocks)
        wire_optimizer(
            page.optimizer,
            services,
            page.form.plan_inputs,
            page.form.level,
            page.form.model,
            page.econ.order_value,
        )
    return blocks


def _wire_results(page: _Page, blocks: gr.Blocks) -> None:
    """Recording what plans brought, and the track record beside the dashboard."""
    results = page.results
    wire_results(
        results,
        page.track,
        page.services,
        scenarios=page.scenarios.state,
        prediction=page.answer.record,
        level=page.form.level,
        dashboard_refresh=page.dashboard.refresh,
    )
    api_example(results.actual, "120")
    api_example(results.spend, "48000")
    api_example(results.scenario, "")
    show_sample_in_api(results.upload, blocks, SAMPLE_RESULTS)
