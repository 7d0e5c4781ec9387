"""The page's Blocks, strict at the API's door: every call is checked before a handler runs.

Gradio accepts extra values, answers too few with an empty error and a stack in the server log,
and refuses a value outside a dropdown's choices with a stack too. :class:`GuardedBlocks`
refuses each of these with a message that names the parameters, and logs every refused call
as one line, without a stack. A stack in the log then means a bug, never bad input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import gradio as gr
from gradio.exceptions import Error as GradioError
from gradio.exceptions import InvalidPathError

from predictor.contract.formatting import fmt_echo
from ui.common import MESSAGE_LABELS, input_error

log = logging.getLogger("app")

# How much of a refusal's message its log line keeps.
LOG_MESSAGE_LIMIT = 300
# Choices listed in full up to this many; longer lists show their ends.
LISTED_CHOICES = 6
PARAMETER_LABELS: dict[str, str] = {
    **MESSAGE_LABELS,
    "model": "Model",
    "name": "Scenario name",
}


def _parameters(fn: Any) -> list[str]:
    """The names of ``fn``'s inputs, in order (a component's label where Gradio has none)."""
    names = list(getattr(fn, "input_parameter_names", None) or [])
    if len(names) != len(fn.inputs):
        names = [getattr(b, "label", None) or f"value {i + 1}" for i, b in enumerate(fn.inputs)]
    return names


def _route(fn: Any) -> str:
    return f"/{fn.api_name}" if fn.api_name else f"event {fn.name}"


def count_error(fn: Any, given: int) -> gr.Error:
    """The refusal of a call to ``fn`` with ``given`` values: what it takes, by name."""
    names = [n for n, b in zip(_parameters(fn), fn.inputs, strict=True) if not b.skip_api]
    if not names:
        return input_error(f"{_route(fn)} takes no values; it was given {given:,}.")
    takes = f"{len(names)} value{'' if len(names) == 1 else 's'} ({', '.join(names)})"
    return input_error(
        f"{_route(fn)} takes {takes}, in that order; it was given {given:,}. "
        "Send one value per parameter."
    )


def _choices_text(values: Sequence[Any]) -> str:
    shown = [fmt_echo(v) for v in values]
    if len(shown) > LISTED_CHOICES:
        shown = [*shown[:3], "…", *shown[-2:]]
    return ", ".join(shown)


def choice_error(name: str, value: Any, choices: Sequence[Any]) -> gr.Error:
    """The refusal of ``value`` for a parameter whose values are ``choices``."""
    label = PARAMETER_LABELS.get(name, name)
    if not choices:
        return input_error(f"{label} is {fmt_echo(value)}, but there is nothing to choose yet.")
    return input_error(
        f"{label} is {fmt_echo(value)}, which is not one of the choices: {_choices_text(choices)}."
    )


def _is_choice(value: Any, choices: Sequence[Any]) -> bool:
    # 5.0 is the choice 5, but True is not the choice 1.
    return any(type(value) is type(c) or _numbers(value, c) for c in choices if value == c)


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def value_error(name: str, block: Any, value: Any) -> gr.Error | None:
    """The refusal of ``value`` for input ``block`` called ``name``, or None if it may pass.

    Only what Gradio itself would fail on, or convert silently, is checked here; the handlers
    check the rest and say what to change.
    """
    if value is None:
        return None
    label = PARAMETER_LABELS.get(name, name)
    if isinstance(block, gr.Dropdown) and block.multiselect:
        return _selection_error(name, block, value)
    if isinstance(block, gr.Dropdown | gr.Radio) and not getattr(block, "allow_custom_value", 0):
        choices = [choice for _, choice in block.choices]
        return None if _is_choice(value, choices) else choice_error(name, value, choices)
    if isinstance(block, gr.Textbox) and not isinstance(value, str):
        return input_error(f"{label} must be text, but it is {type(value).__name__}.")
    if isinstance(block, gr.Dropdown) and not isinstance(value, str | int | float):
        return input_error(f"{label} must be text, but it is {type(value).__name__}.")
    if isinstance(block, gr.Dropdown) and isinstance(value, float) and value != value:
        return input_error(f"{label} must be text, but it is not a number (NaN).")
    if isinstance(block, gr.Checkbox) and not isinstance(value, bool):
        return input_error(f"{label} must be true or false, but it is {type(value).__name__}.")
    if isinstance(block, gr.File) and not _is_file_data(block, value):
        return upload_error(name)
    return None


def _selection_error(name: str, block: gr.Dropdown, value: Any) -> gr.Error | None:
    """The refusal of a multiple choice's ``value``: a list of names (or one name as text),
    each one of the choices unless the dropdown takes others."""
    label = PARAMETER_LABELS.get(name, name)
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return input_error(f'{label} must be a list of names, such as ["platform", "format"].')
    if block.allow_custom_value:
        return None
    choices = [choice for _, choice in block.choices]
    wrong = next((n for n in names if n not in choices), None)
    return None if wrong is None else choice_error(name, wrong, choices)


def upload_error(name: str) -> gr.Error:
    """The refusal of a file that was not uploaded to this app."""
    return input_error(
        f"{PARAMETER_LABELS.get(name, name)} must be a file uploaded to this app: upload it "
        "first (gradio_client's handle_file(path) does that) and pass what the upload returns."
    )


def _is_file_data(block: gr.File, value: Any) -> bool:
    try:
        block.data_model.model_validate(value, context={"validate_meta": True})
    except Exception:  # pydantic's ValidationError, or a value it cannot even inspect
        return False
    return True


def _check_hidden_slots(fn: Any, inputs: list[Any]) -> None:
    """Refuse a plain REST call that sent one value more than the API's parameters.

    Gradio fills the session's slots (such as the saved scenarios) with None when a REST call
    sends one value per parameter, and passes the values on as they are when it sends as many
    values as there are slots: then a value where a slot is would be silently dropped.
    """
    hidden = [i for i, block in enumerate(fn.inputs) if block.skip_api]
    if len(inputs) == len(fn.inputs) and any(inputs[i] is not None for i in hidden):
        raise count_error(fn, len(inputs))


def preprocess_needed(inputs: Sequence[Any]) -> bool:
    """Whether Gradio's own reading of ``inputs`` could change a value.

    It could not for numbers without rounding or bounds, and for single choices passed on as
    values: those it only checks against the choices, which :class:`GuardedBlocks` does before,
    with a clearer message. Gradio reads each input in a worker thread of its own, so an event
    whose inputs are all of these kinds skips the reading (``preprocess=False``) and saves a
    thread hand-off per input; any other kind keeps it.
    """
    for block in inputs:
        if isinstance(block, gr.Number):
            if block.precision is not None or block.minimum is not None:
                return True
            if block.maximum is not None:
                return True
        elif isinstance(block, gr.Dropdown | gr.Radio):
            if block.type != "value" or getattr(block, "multiselect", False):
                return True
        else:
            return True
    return False


class GuardedBlocks(gr.Blocks):
    """:class:`gr.Blocks` that checks each call's values before Gradio reads them."""

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        """Refuse a call with too few or too many values."""
        if len(inputs) != len(block_fn.inputs):
            raise count_error(block_fn, len(inputs))
        super().validate_inputs(block_fn, inputs)

    async def preprocess_data(
        self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False
    ) -> Any:
        """Refuse values Gradio would fail on; then Gradio reads them as usual."""
        self.validate_inputs(block_fn, inputs)  # before pairing values with inputs
        for name, block, value in zip(_parameters(block_fn), block_fn.inputs, inputs, strict=True):
            if block.stateful:
                continue
            if state is not None and block._id in state:
                block = state[block._id]  # this session's choices
            error = value_error(name, block, value)
            if error is not None:
                raise error
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except GradioError:
            raise
        except InvalidPathError:  # a file on the server's disk, not one uploaded
            files = [
                n
                for n, b in zip(_parameters(block_fn), block_fn.inputs, strict=True)
                if isinstance(b, gr.File)
            ]
            raise upload_error(files[0] if files else "the file") from None
        except Exception as exc:  # a value Gradio's own reading refused
            raise input_error(
                f"{_route(block_fn)} could not read its values: {str(exc).splitlines()[0][:200]}"
            ) from None

    async def process_api(self, block_fn: Any, inputs: list[Any], *args: Any, **kwargs: Any):
        """Run a call; a refused one leaves one line in the log, without a stack."""
        fn = self.fns[block_fn] if isinstance(block_fn, int) else block_fn
        try:
            if kwargs.get("simple_format"):
                _check_hidden_slots(fn, inputs)
            return await super().process_api(block_fn, inputs, *args, **kwargs)
        except GradioError as exc:
            message = " ".join(str(exc.message).split())[:LOG_MESSAGE_LIMIT]
            log.warning("%s refused: %s", _route(fn), message)
            exc.print_exception = False
            raise
