"""``publish-space``: create or update the Hugging Face Space with the app's runtime files.

The Space gets exactly the runtime (app, predictor/, model/, requirements, README, LICENSE), and,
with ``--secrets-from-env NAME,...``, the named environment variables as Space secrets. Secret
values are read from the environment and never printed; the dry run lists their names only.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.publish.common import Options, PublishError, run_command
from training.publish.space_files import (
    SPACE_ALLOW_PATTERNS,
    SPACE_DELETE_PATTERNS,
    SPACE_IGNORE_PATTERNS,
    check_space_files,
    space_files,
)

NO_SECRETS_NOTE = (
    "note: no Space secrets set (--secrets-from-env); the Space serves the local model unless "
    "its settings hold the Databricks endpoint and credentials"
)

_HF_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class SpaceOptions(Options):
    """The options of ``publish-space``."""

    repo_id: str
    root: Path
    private: bool
    secrets_from_env: tuple[str, ...]


def space_repo_id(value: str) -> str:
    """Validate a Hugging Face Space id ``USER/NAME``; return it unchanged."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    parts = value.split("/")
    if len(parts) != 2 or not all(_HF_PART.fullmatch(p) for p in parts):
        raise argparse.ArgumentTypeError(
            f"must be USER/NAME (or ORG/NAME): letters, digits, '-', '_' or '.' (got {value!r})"
        )
    try:
        validate_repo_id(value)
    except HFValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def secret_names(value: str) -> tuple[str, ...]:
    """Validate ``NAME,NAME,...`` (environment variable names); return them in order, once each."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    bad = [name for name in names if not _SECRET_NAME.fullmatch(name)]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            "must be environment variable names separated by commas, like "
            f"DATABRICKS_TOKEN,DATABRICKS_ENDPOINT_URL (got {bad[0] if bad else value!r})"
        )
    return tuple(dict.fromkeys(names))


def secrets_from_env(
    names: Sequence[str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The values of environment variables ``names``; PublishError naming the first unset one."""
    environ = os.environ if environ is None else environ
    missing = [name for name in names if not str(environ.get(name) or "").strip()]
    if missing:
        raise PublishError(
            f"environment variable {missing[0]} is not set (or empty); export it, or drop it "
            "from --secrets-from-env"
        )
    return {name: str(environ[name]).strip() for name in names}


def set_space_secrets(api: Any, repo_id: str, secrets: Mapping[str, str]) -> None:
    """Add or update each secret of the Space (``HfApi.add_space_secret``)."""
    for name, value in secrets.items():
        api.add_space_secret(repo_id, name, value)


def publish_space(
    root: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    api: Any = None,
    files: Sequence[str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> str:
    """Create (or reuse) the Gradio Space ``repo_id``, set its ``secrets``, upload the runtime.

    ``api`` is an ``HfApi`` (one is created from the saved login / ``HF_TOKEN`` when omitted).
    Secrets are set before the upload, so the build it starts already sees them.
    Returns the Space's URL.
    """
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    root = Path(root).expanduser().resolve()
    files = space_files(root) if files is None else files
    check_space_files(root, files)
    url = api.create_repo(
        repo_id,
        repo_type="space",
        space_sdk="gradio",
        exist_ok=True,
        private=True if private else None,
    )
    if private:  # create_repo ignores `private` for a Space that already exists
        api.update_repo_settings(repo_id, repo_type="space", private=True)
    set_space_secrets(api, repo_id, secrets or {})
    api.upload_folder(
        folder_path=str(root),
        repo_id=repo_id,
        repo_type="space",
        allow_patterns=list(SPACE_ALLOW_PATTERNS),
        # upload_folder appends its defaults to this list in place: always pass a fresh one
        ignore_patterns=list(SPACE_IGNORE_PATTERNS),
        delete_patterns=list(SPACE_DELETE_PATTERNS),
        commit_message="Update the Space: app, predictor and model bundle",
    )
    return str(url)


def _remote_errors() -> tuple[type[BaseException], ...]:
    from huggingface_hub.errors import HTTPError

    return (HTTPError, OSError, ValueError)


def cmd_publish_space(args: argparse.Namespace) -> int:
    """``publish-space``: create or update the Hugging Face Space with the app's runtime files."""
    options = SpaceOptions.from_args(args)
    secrets: dict[str, str] = {}

    def action() -> int:
        secrets.update(secrets_from_env(options.secrets_from_env))
        files = space_files(options.root)
        if options.dry_run:
            return _dry_run(options, files)
        return _publish(options, files, secrets)

    return run_command(
        action,
        failure="publishing the Space failed",
        remote_errors=_remote_errors,
        secrets=secrets.values(),
    )


def _dry_run(options: SpaceOptions, files: Sequence[str]) -> int:
    visibility = "private" if options.private else "public unless it exists already"
    print(
        f"[dry-run] would create Space {options.repo_id} (sdk gradio, {visibility}) "
        "if it does not exist"
    )
    if options.secrets_from_env:
        print(
            f"[dry-run] would set Space secrets {', '.join(options.secrets_from_env)} "
            "from the environment (values not shown)"
        )
    else:
        print(f"[dry-run] {NO_SECRETS_NOTE}")
    print(f"[dry-run] would upload {len(files)} files from {options.root.resolve()}:")
    for name in files:
        print(f"  {name}")
    print(
        "[dry-run] would delete Space files under "
        f"{', '.join(SPACE_DELETE_PATTERNS)} that are not in this list"
    )
    check_space_files(options.root, files)
    print("[dry-run] nothing was sent")
    return 0


def _publish(options: SpaceOptions, files: Sequence[str], secrets: Mapping[str, str]) -> int:
    from huggingface_hub import get_token

    if not get_token():
        raise PublishError(
            "no Hugging Face token: set HF_TOKEN (a write token) or run `hf auth login`"
        )
    url = publish_space(
        options.root, options.repo_id, private=options.private, files=files, secrets=secrets
    )
    if secrets:
        print(f"set Space secrets {', '.join(secrets)}")
    else:
        print(NO_SECRETS_NOTE)
    print(f"uploaded {len(files)} files to {url}")
    return 0
