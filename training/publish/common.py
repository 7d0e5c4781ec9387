"""What both publishing targets share: the error type, the one error handler, the bundle check.

Credentials come from the environment and are never printed: every error line is scrubbed of
the secret values the commands know about before it is shown.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Self

from predictor.contract.redaction import sanitize
from predictor.serving.settings import SECRET_NAMES
from training.arguments import from_args

# Environment variables whose values are secrets wherever they appear: the app's secret settings
# and the Hugging Face token that publishing uses.
SECRET_VARIABLES = (*SECRET_NAMES, "HF_TOKEN")
ERROR_LIMIT = 1000


class PublishError(RuntimeError):
    """An expected publishing failure, reported as one clear line."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclasses.dataclass(frozen=True)
class Options:
    """Base of the typed options of a command, read from its parsed arguments."""

    dry_run: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        """The options of ``args`` (the attributes named like the fields)."""
        return from_args(cls, args)


def run_command(
    action: Callable[[], int],
    *,
    failure: str,
    remote_errors: Callable[[], tuple[type[BaseException], ...]],
    secrets: Iterable[str] = (),
) -> int:
    """Run a command; an expected failure becomes one scrubbed ``error:`` line and an exit code.

    :class:`PublishError` keeps its exit code (2 for what the user can fix before sending, 1 for
    failures during publishing). Errors of the remote services (``remote_errors()``, imported
    only when needed) become ``"<failure>: <message>"`` with exit code 1. Anything else is a bug
    and propagates.
    """
    try:
        return action()
    except PublishError as exc:
        message, code = str(exc), exc.exit_code
    except Exception as exc:
        if not isinstance(exc, remote_errors()):
            raise
        message, code = f"{failure}: {exc}", 1
    known = [*secrets, *(os.environ.get(name, "") for name in SECRET_VARIABLES)]
    print(f"error: {sanitize(message, known, limit=ERROR_LIMIT)}", file=sys.stderr)
    return code


def verify_bundle(model_dir: Path) -> dict[str, str]:
    """Check the bundle against its SHA-256 manifest; raise PublishError if it does not verify."""
    from predictor.serving.bundle import BundleError, verify_manifest

    try:
        return verify_manifest(model_dir)
    except BundleError as exc:
        raise bundle_error(exc) from None


def bundle_error(exc: Exception) -> PublishError:
    """The PublishError for a bundle that does not verify."""
    return PublishError(f"the model bundle cannot be published: {exc}")
