"""The files ``publish-space`` uploads: exactly the app's runtime, checked against the bundle manifest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from training.publish.common import PublishError, bundle_error

# The Space's runtime, and nothing else. `*` crosses "/" in huggingface_hub's matching,
# so "predictor/*.py" also takes sub-packages and "model/*" the whole bundle.
SPACE_ALLOW_PATTERNS: tuple[str, ...] = (
    "app.py",
    "requirements.txt",
    "README.md",
    "LICENSE",
    "predictor/*.py",
    "ui/*.py",
    "ui/*.csv",
    "model/*",
)
# Defence in depth inside the allowed folders, and explicit about what must never leave.
SPACE_IGNORE_PATTERNS: tuple[str, ...] = (
    # hidden files and folders anywhere: .env, .gradio, .pytest_cache, .ruff_cache, .netrc ...
    ".*",
    "*/.*",
    # secrets
    "*.env",
    "*.env.*",
    "*secrets.toml",
    "*.databrickscfg",
    "*.netrc",
    "*.pem",
    "*.key",
    # caches
    "*__pycache__*",
    "*.pyc",
    "*.pyo",
    # MLflow stores and databases
    "mlruns/*",
    "*/mlruns/*",
    "mlartifacts/*",
    "*/mlartifacts/*",
    "*.db",
    "*.sqlite",
    # data, tests and training code
    "data/*",
    "tests/*",
    "training/*",
)
# Remote files under these patterns that are not in the upload are deleted, so a stale bundle
# file can never sit next to the new one (the manifest check would then refuse the bundle).
SPACE_DELETE_PATTERNS: tuple[str, ...] = ("model/*", "predictor/*", "ui/*")
SPACE_REQUIRED_FILES: tuple[str, ...] = (
    "app.py",
    "requirements.txt",
    "README.md",
    "model/MLmodel",
    "ui/__init__.py",
    "ui/sample_plans.csv",
    "ui/sample_results.csv",
)


def _ignore_patterns() -> list[str]:
    """Our ignore patterns plus the ones upload_folder always adds (.git, caches)."""
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS

    return [*SPACE_IGNORE_PATTERNS, *DEFAULT_IGNORE_PATTERNS]


def space_files(root: str | Path) -> list[str]:
    """The files (POSIX paths relative to ``root``) that ``publish-space`` uploads, sorted.

    Lists and filters exactly as ``HfApi.upload_folder`` does with the same patterns.
    """
    from huggingface_hub.utils import filter_repo_objects

    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise PublishError(f"project folder {root} does not exist; pass --root PROJECT_DIR")
    relpaths = [
        path.relative_to(root).as_posix() for path in sorted(root.glob("**/*")) if path.is_file()
    ]
    return list(
        filter_repo_objects(
            relpaths,
            allow_patterns=list(SPACE_ALLOW_PATTERNS),
            ignore_patterns=_ignore_patterns(),
        )
    )


def check_space_files(root: str | Path, files: Sequence[str]) -> None:
    """Refuse an upload the Space could not run: missing runtime files or a bundle that won't verify.

    The uploaded ``model/`` files must be exactly the files of its bundles' manifests (the Ridge
    bundle and each one under ``model/alternatives/``), with matching hashes.
    """
    from predictor.serving.bundle import MANIFEST_NAME, BundleError, file_sha256, read_manifest
    from predictor.serving.model_choice import available_models

    root = Path(root).expanduser().resolve()
    missing = [name for name in SPACE_REQUIRED_FILES if name not in files]
    if missing:
        raise PublishError(f"{missing[0]} is missing from {root}; the Space needs it")
    model_root = root / "model"
    entries: dict[str, str] = {}
    manifests = set()
    try:
        for folder in (available_models(model_root) or {"": model_root}).values():
            inside = folder.relative_to(model_root)
            prefix = "" if inside == Path() else f"{inside.as_posix()}/"
            entries |= {prefix + rel: digest for rel, digest in read_manifest(folder).items()}
            manifests.add(prefix + MANIFEST_NAME)
    except BundleError as exc:
        raise bundle_error(exc) from None
    uploaded = {f.removeprefix("model/") for f in files if f.startswith("model/")} - manifests
    left_out = sorted(set(entries) - uploaded)
    if left_out:
        raise PublishError(
            f"model bundle file {left_out[0]} is listed in {MANIFEST_NAME} but would not be "
            "uploaded (missing, or excluded as a secret/cache); restore the bundle as trained"
        )
    unlisted = sorted(uploaded - set(entries))
    if unlisted:
        raise PublishError(
            f"model/{unlisted[0]} is not listed in {MANIFEST_NAME}; remove it before publishing"
        )
    for rel in sorted(entries):
        if file_sha256(root / "model" / rel) != entries[rel]:
            raise PublishError(
                f"model bundle file {rel} was altered or is corrupt (its SHA-256 does not match "
                f"{MANIFEST_NAME}); restore the bundle as trained"
            )
