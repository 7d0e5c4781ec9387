"""The available models: the Ridge bundle in ``model/`` and each bundle in ``model/alternatives/``.

>>> available_models()  # doctest: +SKIP
{'ridge': PosixPath('model'), 'boosting': PosixPath('model/alternatives/boosting')}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from predictor.serving.bundle import (
    ALTERNATIVES_DIR,
    DEFAULT_MODEL_DIR,
    RIDGE,
)

if TYPE_CHECKING:
    from predictor.serving.predictor import Predictor

# How long the other models wait for the default model's first answer before they load anyway.
FIRST_ANSWER_WAIT = 60.0


def model_dir(name: str, root: str | Path = DEFAULT_MODEL_DIR) -> Path:
    """Folder of the bundle called ``name``: the root for Ridge, ``alternatives/<name>`` otherwise."""
    return Path(root) if name == RIDGE else Path(root) / ALTERNATIVES_DIR / name


def available_models(root: str | Path = DEFAULT_MODEL_DIR) -> dict[str, Path]:
    """Bundles present under ``root`` by name, Ridge first, then the alternatives by name.

    A folder counts when it holds an ``MLmodel``; it is verified when a predictor loads it.
    """
    root = Path(root)
    found = {RIDGE: root} if (root / "MLmodel").is_file() else {}
    alternatives = root / ALTERNATIVES_DIR
    if alternatives.is_dir():
        for folder in sorted(alternatives.iterdir()):
            if folder.name != RIDGE and (folder / "MLmodel").is_file():
                found[folder.name] = model_dir(folder.name, root)
    return found


def display_name(folder: str | Path) -> str | None:
    """The label a bundle's record gives its model, or ``None`` when it gives none."""
    try:
        meta = yaml.safe_load((Path(folder) / "MLmodel").read_text(encoding="utf-8")) or {}
        label = (meta.get("metadata") or {}).get("display_name")
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    return label if isinstance(label, str) and label.strip() else None


def display_names(root: str | Path = DEFAULT_MODEL_DIR) -> dict[str, str]:
    """A label per available model, from its bundle's record (its name if the record has none)."""
    return {name: display_name(folder) or name for name, folder in available_models(root).items()}


def warm_up_in_order(
    predictors: Mapping[str, Predictor],
    warm: Callable[[Predictor], None],
    wait: float = FIRST_ANSWER_WAIT,
    poll: float = 0.1,
    start: Callable[[Predictor], None] | None = None,
) -> None:
    """Make the first (the page's default) model ready now, with ``start`` (by default ``warm``),
    and ``warm`` every model once it has answered (or after ``wait`` seconds), so that loading
    them does not slow the first answer down.

    A model chosen on the page before then loads when it is first asked.
    """
    models = list(predictors.values())
    if not models:
        return
    first = models[0]
    (start or warm)(first)
    deadline = time.monotonic() + wait
    while not first.call_counts and time.monotonic() < deadline:
        time.sleep(poll)
    for predictor in models if start is not None else models[1:]:
        warm(predictor)
