"""What every section shares: the plan's fields and labels, input parsing, and error messages."""

from __future__ import annotations

import html
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from gradio_client import handle_file

from predictor import BundleError, CampaignPlan, ConfigError, EndpointError, PlanError, Predictor
from predictor.contract.formatting import fmt_echo
from predictor.contract.plan import MIX_FIELDS, PLAN_FIELDS
from predictor.planning.economics import EconomicsError
from predictor.record.scenario_log import NullLog, ScenarioLog
from predictor.serving.bundle import DEFAULT_MODEL
from predictor.serving.model_choice import display_name
from predictor.serving.model_code.interval import CALIBRATED_LEVELS, DEFAULT_LEVEL

log = logging.getLogger("app")

LEVELS: tuple[float, ...] = CALIBRATED_LEVELS

# Labels on the form.
FIELD_LABELS: dict[str, str] = {
    "duration_days": "Duration (days)",
    "total_budget": "Total budget",
    "start_month": "Start month",
    "num_unique_interests": "Unique interests",
    "total_ads": "Total ads",
    "facebook_ads": "Facebook",
    "instagram_ads": "Instagram",
    "image_ads": "Image",
    "video_ads": "Video",
    "carousel_ads": "Carousel",
    "stories_ads": "Stories",
    "male_ads": "Male",
    "female_ads": "Female",
    "all_gender_ads": "All genders",
    "age_18_24_ads": "18-24",
    "age_25_34_ads": "25-34",
    "age_35_44_ads": "35-44",
    "all_age_ads": "All ages",
}
# Words for a field in messages, where the form label alone would be ambiguous.
MESSAGE_LABELS: dict[str, str] = {
    **FIELD_LABELS,
    **{f: f"{FIELD_LABELS[f]} ads" for f in MIX_FIELDS},
    "male_ads": "Male-targeted ads",
    "female_ads": "Female-targeted ads",
    "all_gender_ads": "All-gender ads",
    "all_age_ads": "All-ages ads",
    "level": "Range level",
    "average_order_value": "Average order value",
    "margin": "Margin",
    "target": "Purchases wanted",
    "target_purchases": "Purchases wanted",
    "max_cost_per_purchase": "Max cost per purchase",
}

DEFAULT_PLAN: dict[str, int | float] = {
    "duration_days": 60,
    "total_budget": 50_000,
    "start_month": 5,
    "num_unique_interests": 3,
    "total_ads": 4,
    "facebook_ads": 2,
    "instagram_ads": 2,
    "image_ads": 1,
    "video_ads": 1,
    "carousel_ads": 1,
    "stories_ads": 1,
    "male_ads": 1,
    "female_ads": 1,
    "all_gender_ads": 2,
    "age_18_24_ads": 1,
    "age_25_34_ads": 1,
    "age_35_44_ads": 1,
    "all_age_ads": 1,
}

# name, then the plan in PLAN_FIELDS order.
EXAMPLES: tuple[tuple[str, tuple[int | float, ...]], ...] = (
    ("Balanced spring campaign", tuple(DEFAULT_PLAN[f] for f in PLAN_FIELDS)),
    ("Big summer push", (80, 85_000, 6, 5, 8, 4, 4, 2, 3, 1, 2, 2, 2, 4, 3, 3, 1, 1)),
    ("Small Instagram test", (35, 9_000, 3, 1, 2, 0, 2, 0, 1, 0, 1, 0, 2, 0, 2, 0, 0, 0)),
    ("Broad Facebook reach", (90, 60_000, 4, 6, 6, 6, 0, 3, 0, 3, 0, 0, 0, 6, 0, 0, 0, 6)),
    ("No ads yet", (30, 10_000, 7, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
)


def field_message(field: str, message: str) -> str:
    """``message`` with its leading field name replaced by the words the page uses."""
    label = MESSAGE_LABELS.get(field)
    if label and message.startswith(field):
        return label + message[len(field) :]
    return message


def input_error(message: str) -> gr.Error:
    """An error about the user's input: shown on the page and returned to API clients."""
    return gr.Error(message, title="Check your input", print_exception=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the prediction layer's errors into messages for the page and the API client."""
    try:
        yield
    except gr.Error:
        raise
    except (PlanError, EconomicsError) as exc:
        raise input_error(field_message(exc.field, str(exc))) from None
    except ConfigError as exc:
        raise gr.Error(
            f"The predictor is misconfigured: {exc}", title="Configuration", print_exception=False
        ) from None
    except BundleError as exc:
        raise gr.Error(
            f"The model bundle cannot be used: {exc}", title="Model", print_exception=False
        ) from None
    except EndpointError as exc:
        raise gr.Error(
            f"The Databricks endpoint failed: {exc}", title="Endpoint", print_exception=False
        ) from None
    except ValueError as exc:
        raise input_error(str(exc)) from None
    except Exception:
        log.exception("prediction failed")
        raise gr.Error(
            "The prediction failed unexpectedly. Try again; if it keeps failing, the server log "
            "has the details.",
            title="Prediction failed",
            print_exception=False,
        ) from None


def with_plan_parameters(
    *after: inspect.Parameter, before: Sequence[inspect.Parameter] = ()
) -> Callable[[Callable], Callable]:
    """Name a ``(*values)`` handler's parameters: ``before``, the plan fields, then ``after``.

    Gradio documents the API with these names and lets clients pass them as keywords.
    """
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(f, kind) for f in PLAN_FIELDS]

    def decorate(fn: Callable) -> Callable:
        fn.__signature__ = inspect.Signature([*before, *params, *after])  # type: ignore[attr-defined]
        return fn

    return decorate


def parameter(name: str, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    """A keyword-capable handler parameter called ``name``."""
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)


LEVEL_PARAMETER = parameter("level", DEFAULT_LEVEL)
MODEL_PARAMETER = parameter("model", DEFAULT_MODEL)


@dataclass(frozen=True)
class Services:
    """What the page's handlers call: one predictor per model (the first is the default) and
    the anonymous scenario log."""

    predictors: Mapping[str, Predictor]
    log: ScenarioLog | NullLog = field(default_factory=NullLog)
    labels: Mapping[str, str] = field(default_factory=dict)

    def label(self, model: str) -> str:
        """The words for ``model`` on the page (its key when it has no label)."""
        return self.labels.get(model, model)

    @property
    def default_model(self) -> str:
        return next(iter(self.predictors))

    def predictor(self, model: Any) -> Predictor:
        """The predictor of ``model`` (empty means the default); :class:`gr.Error` if unknown."""
        if model is None or model == "":
            model = self.default_model
        if not isinstance(model, str) or model not in self.predictors:
            choices = ", ".join(self.predictors)
            raise input_error(f"Model {fmt_echo(model)} is not offered; choose one of {choices}.")
        return self.predictors[model]

    def plan_inputs(self, args: Sequence[Any]) -> tuple[CampaignPlan, float, Predictor]:
        """The plan, level and predictor from a handler's ``(*plan values, level, model, ...)``."""
        plan, level = plan_and_level(args)
        return plan, level, self.predictor(model_arg(args))

    def model_name(self, model: Any) -> str:
        """``model``, or the default model's key when empty."""
        return model if isinstance(model, str) and model else self.default_model


def bundle_labels(predictors: Mapping[str, Predictor]) -> dict[str, str]:
    """Each model's label from its bundle's record (read from the file, the model not loaded),
    so that the page never shows a model's key."""
    labels = {}
    for name, predictor in predictors.items():
        folder = getattr(predictor, "model_dir", None)
        label = display_name(folder) if folder else None
        if label:
            labels[name] = label
    return labels


def parse_plan(values: Sequence[Any]) -> CampaignPlan:
    """A validated plan from form values in ``PLAN_FIELDS`` order; :class:`gr.Error` if invalid."""
    with user_errors():
        return CampaignPlan(**dict(zip(PLAN_FIELDS, values, strict=True)))


def parse_level(level: Any) -> float:
    """The interval level as a float; empty means the default 90%."""
    if level is None or level == "":
        return DEFAULT_LEVEL
    if isinstance(level, bool) or not isinstance(level, int | float) or level not in LEVELS:
        choices = ", ".join(f"{lv:g}" for lv in LEVELS)
        raise input_error(f"Range level {fmt_echo(level)} is not offered; choose one of {choices}.")
    return float(level)


def plan_and_level(args: Sequence[Any]) -> tuple[CampaignPlan, float]:
    """The plan and level from a handler's ``(*plan values, level, ...)`` arguments."""
    n = len(PLAN_FIELDS)
    return parse_plan(args[:n]), parse_level(args[n] if len(args) > n else None)


def model_arg(args: Sequence[Any]) -> Any:
    """The model from a handler's ``(*plan values, level, model)`` arguments (``None`` if absent)."""
    n = len(PLAN_FIELDS) + 1
    return args[n] if len(args) > n else None


def markdown_escape(text: str) -> str:
    """``text`` shown literally in Markdown."""
    return html.escape(text, quote=False).replace("*", r"\*").replace("_", r"\_")


# The page's numbered sections, in page order: each one's number comes from here.
SECTIONS: tuple[str, ...] = (
    "Core settings",
    "Ad mixes (number of ads)",
    "Prediction",
    "ROAS, CPA and profit",
    "What budget do I need?",
    "Find the best plan",
    "What if…",
    "Compare scenarios",
    "Score a file of plans",
    "What planners try",
    "Record results",
)


def section_title(name: str) -> None:
    """The numbered title of the section ``name`` (one of :data:`SECTIONS`)."""
    gr.Markdown(f"### {SECTIONS.index(name) + 1} · {name}", elem_classes="cpp-section-title")


def section_intro(name: str, about: str, elem_id: str) -> None:
    """A section's numbered title, and the paragraph under it that says what the section does."""
    section_title(name)
    gr.Markdown(about, elem_id=elem_id)


def api_example(component: gr.components.Component, value: Any) -> None:
    """Show ``value`` for ``component`` in the "Use via API" snippets (Gradio's defaults, such as
    ``3`` for a budget or ``{"foo": "bar"}`` for a prediction, would fail or mislead). A callable
    ``value`` is called when the snippets are drawn."""
    component.example_payload = value if callable(value) else lambda: value  # type: ignore[method-assign]


def api_type(component: gr.components.Component, schema: dict[str, Any], words: str) -> None:
    """Describe ``component``'s value to API clients as the JSON ``schema``, in ``words``.

    A dropdown or radio of numbers is otherwise documented as a choice of strings ("5"), which
    the snippets then quote and the component refuses.
    """
    described = {**schema, "additional_description": words}
    component.api_info_as_input = lambda: described  # type: ignore[method-assign]


def optional_number(label: str, info: str, elem_id: str, min_width: int = 150) -> gr.Number:
    """An empty number box for an optional input (empty or 0 means "not given")."""
    return gr.Number(
        value=None,
        label=label,
        info=info,
        precision=None,
        min_width=min_width,
        elem_id=elem_id,
    )


def sample_file_example(blocks: Any, path: Path) -> dict[str, Any]:
    """A sample file shipped in ``ui/`` as the "Use via API" snippets pass it: the Space's copy
    on a Hugging Face Space or behind a share link (the server fetches public addresses only),
    else the file in this folder, which a client on the same machine uploads itself."""
    if blocks.space_id:
        url = f"https://huggingface.co/spaces/{blocks.space_id}/resolve/main/ui/{path.name}"
    elif blocks.share_url:
        url = f"{blocks.share_url.rstrip('/')}/gradio_api/file={path}"
    else:
        url = str(path)
    return {**handle_file(path), "url": url}


def show_sample_in_api(upload: gr.File, blocks: gr.Blocks, path: Path) -> None:
    """Make the "Use via API" snippets upload the sample file at ``path``, so that they work as
    copied. The address is read when the snippets are first drawn, once the app runs."""
    gr.set_static_paths([path])
    api_example(upload, lambda: sample_file_example(blocks, path))
