"""Publishing: the bundle to Databricks (Unity Catalog + Model Serving), the app to a Hugging Face Space.

Both commands have a ``--dry-run`` that prints every action and touches no network. Credentials
come from the environment (``DATABRICKS_HOST``/``DATABRICKS_TOKEN``, ``HF_TOKEN`` or a saved
Hugging Face login) and are never printed. Heavy clients are imported only when they are used, so
importing this module, and every dry run, stays offline.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training import config

DEFAULT_TRACKING_URI = "databricks"
DEFAULT_REGISTRY_URI = "databricks-uc"
DEFAULT_EXPERIMENT = config.DATABRICKS_EXPERIMENT_NAME
WORKLOAD_SIZES = ("Small", "Medium", "Large")

# The Space's runtime, and nothing else. `*` crosses "/" in huggingface_hub's matching,
# so "predictor/*.py" also takes sub-packages and "model/*" the whole bundle.
SPACE_ALLOW_PATTERNS: tuple[str, ...] = (
    "app.py",
    "requirements.txt",
    "README.md",
    "LICENSE",
    "predictor/*.py",
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
SPACE_DELETE_PATTERNS: tuple[str, ...] = ("model/*", "predictor/*")
SPACE_REQUIRED_FILES: tuple[str, ...] = ("app.py", "requirements.txt", "README.md", "model/MLmodel")

_UC_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,254}")
_ENDPOINT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_HF_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class PublishError(RuntimeError):
    """An expected publishing failure, reported as one clear line."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------- validation


def uc_model_name(value: str) -> str:
    """Validate a Unity Catalog model name ``CATALOG.SCHEMA.NAME``; return it unchanged."""
    parts = value.split(".")
    if len(parts) != 3 or not all(_UC_PART.fullmatch(p) for p in parts):
        raise argparse.ArgumentTypeError(
            f"must be a Unity Catalog name CATALOG.SCHEMA.NAME: three parts separated by dots, "
            f"each made of letters, digits, '_' or '-' (got {value!r})"
        )
    return value


def endpoint_name(value: str) -> str:
    """Validate a Databricks serving endpoint name; return it unchanged."""
    if not _ENDPOINT_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            "must be 1 to 63 letters, digits, '-' or '_', starting with a letter or digit "
            f"(got {value!r})"
        )
    return value


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


def _bundle_error(exc: Exception) -> PublishError:
    return PublishError(f"the model bundle cannot be published: {exc}")


def verify_bundle(model_dir: Path) -> dict[str, str]:
    """Check the bundle against its SHA-256 manifest; raise PublishError if it does not verify."""
    from predictor.bundle import BundleError, verify_manifest

    try:
        return verify_manifest(model_dir)
    except BundleError as exc:
        raise _bundle_error(exc) from None


# --------------------------------------------------------------------------- Databricks


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version created in a registry."""

    name: str
    version: str
    source: str
    run_id: str
    model_id: str


def _bundle_tags(model_dir: Path) -> dict[str, str]:
    """Identifying tags for the version: the bundle's own version, data fingerprint and manifest."""
    from mlflow.models import Model

    from predictor.bundle import MANIFEST_NAME, file_sha256

    metadata = Model.load(str(model_dir / "MLmodel")).metadata or {}
    tags = {"bundle_manifest_sha256": file_sha256(model_dir / MANIFEST_NAME)}
    for key in ("model_version", "data_fingerprint"):
        if metadata.get(key) is not None:
            tags[f"bundle_{key}"] = str(metadata[key])
    return tags


def register_bundle(
    model_dir: str | Path,
    model_name: str,
    *,
    tracking_uri: str,
    registry_uri: str,
    experiment_name: str = DEFAULT_EXPERIMENT,
) -> RegisteredVersion:
    """Log the saved bundle as an MLflow logged model and register it as a new model version.

    The bundle is uploaded byte for byte (its manifest stays valid); a run in ``experiment_name``
    records the publication. Returns the created version.
    """
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelOutput
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

    model_dir = Path(model_dir)
    verify_bundle(model_dir)
    tags = _bundle_tags(model_dir)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)

    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    )
    run = client.create_run(experiment_id, run_name=f"publish {model_name}", tags=tags)
    run_id = run.info.run_id
    try:
        logged = client.create_logged_model(
            experiment_id, name="model", source_run_id=run_id, tags=tags, model_type="sklearn"
        )
        client.log_model_artifacts(logged.model_id, str(model_dir))
        client.finalize_logged_model(logged.model_id, "READY")
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])

        try:
            client.create_registered_model(model_name)
        except MlflowException as exc:
            if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
        created = client.create_model_version(
            model_name,
            source=f"models:/{logged.model_id}",
            run_id=run_id,
            tags=tags,
            model_id=logged.model_id,
        )
    except Exception:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    return RegisteredVersion(
        name=created.name,
        version=str(created.version),
        source=created.source,
        run_id=run_id,
        model_id=logged.model_id,
    )


def deploy_endpoint(
    workspace: Any,
    endpoint: str,
    model_name: str,
    version: str,
    *,
    workload_size: str = "Small",
    scale_to_zero: bool = True,
) -> str:
    """Point serving endpoint ``endpoint`` at ``model_name`` version ``version``.

    ``workspace`` is a ``databricks.sdk.WorkspaceClient``. Updates the endpoint's config when it
    exists, creates it otherwise, and returns "created" or "updated". Does not wait for the
    endpoint to become ready (that takes minutes).
    """
    from databricks.sdk.errors import NotFound
    from databricks.sdk.service.serving import EndpointCoreConfigInput, ServedEntityInput

    entity = ServedEntityInput(
        entity_name=model_name,
        entity_version=str(version),
        workload_size=workload_size,
        scale_to_zero_enabled=scale_to_zero,
    )
    try:
        workspace.serving_endpoints.get(endpoint)
    except NotFound:
        workspace.serving_endpoints.create(
            name=endpoint,
            config=EndpointCoreConfigInput(name=endpoint, served_entities=[entity]),
        )
        return "created"
    workspace.serving_endpoints.update_config(name=endpoint, served_entities=[entity])
    return "updated"


def _require_databricks_credentials() -> None:
    """Fail fast, offline, when no Databricks credentials are configured at all."""
    config_file = Path(os.environ.get("DATABRICKS_CONFIG_FILE", "~/.databrickscfg")).expanduser()
    if not os.environ.get("DATABRICKS_HOST") and not config_file.is_file():
        raise PublishError(
            "no Databricks credentials: set DATABRICKS_HOST and DATABRICKS_TOKEN "
            "(or configure a profile in ~/.databrickscfg)"
        )


def _workspace_client() -> Any:
    """A WorkspaceClient from the environment, with a clear error when credentials are missing."""
    from databricks.sdk import WorkspaceClient

    try:
        return WorkspaceClient()
    except ValueError:
        raise PublishError(
            "Databricks credentials are incomplete: set DATABRICKS_HOST and DATABRICKS_TOKEN "
            "(or configure a profile in ~/.databrickscfg)"
        ) from None


def databricks_plan(args: argparse.Namespace) -> list[str]:
    """The actions ``publish-databricks`` takes, in order, as printable lines."""
    zero = "on" if args.scale_to_zero else "off"
    return [
        f"verify the bundle {args.model_dir} against its manifest",
        f"log {args.model_dir} as a logged model in experiment {args.experiment} "
        f"(tracking URI {args.tracking_uri})",
        f"register {args.model_dir} as a new version of {args.model_name} "
        f"(registry URI {args.registry_uri})",
        f"create serving endpoint {args.endpoint}, or update it if it exists, to serve "
        f"{args.model_name} at the new version (workload size {args.workload_size}, "
        f"scale to zero {zero})",
    ]


def cmd_publish_databricks(args: argparse.Namespace) -> int:
    """``publish-databricks``: register the bundle in Unity Catalog and serve it."""
    try:
        if args.dry_run:
            verify_bundle(args.model_dir)
            for line in databricks_plan(args):
                print(f"[dry-run] would {line}")
            print("[dry-run] nothing was sent")
            return 0
        return _publish_databricks(args)
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def _publish_databricks(args: argparse.Namespace) -> int:
    import mlflow
    from databricks.sdk.errors import DatabricksError
    from mlflow.exceptions import MlflowException

    _require_databricks_credentials()
    verify_bundle(args.model_dir)
    workspace = _workspace_client()
    # The Unity Catalog store resolves logged models through the global tracking URI.
    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_registry_uri(args.registry_uri)
    try:
        registered = register_bundle(
            args.model_dir,
            args.model_name,
            tracking_uri=args.tracking_uri,
            registry_uri=args.registry_uri,
            experiment_name=args.experiment,
        )
        print(f"registered {args.model_dir} as {registered.name} version {registered.version}")
        outcome = deploy_endpoint(
            workspace,
            args.endpoint,
            registered.name,
            registered.version,
            workload_size=args.workload_size,
            scale_to_zero=args.scale_to_zero,
        )
    except (MlflowException, DatabricksError, OSError) as exc:
        raise PublishError(f"publishing to Databricks failed: {exc}", exit_code=1) from None
    print(
        f"{outcome} serving endpoint {args.endpoint}: {registered.name} version "
        f"{registered.version}; it is ready when its state in Serving shows READY"
    )
    return 0


# --------------------------------------------------------------------------- Hugging Face Space


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

    The uploaded ``model/`` files must be exactly the manifest's files, with matching hashes.
    """
    from predictor.bundle import MANIFEST_NAME, BundleError, file_sha256, read_manifest

    root = Path(root).expanduser().resolve()
    missing = [name for name in SPACE_REQUIRED_FILES if name not in files]
    if missing:
        raise PublishError(f"{missing[0]} is missing from {root}; the Space needs it")
    try:
        entries = read_manifest(root / "model")
    except BundleError as exc:
        raise _bundle_error(exc) from None
    uploaded = {f.removeprefix("model/") for f in files if f.startswith("model/")}
    uploaded.discard(MANIFEST_NAME)
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


def publish_space(
    root: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    api: Any = None,
    files: Sequence[str] | None = None,
) -> str:
    """Create (or reuse) the Gradio Space ``repo_id`` and upload the runtime files to it.

    ``api`` is an ``HfApi`` (one is created from the saved login / ``HF_TOKEN`` when omitted).
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


def cmd_publish_space(args: argparse.Namespace) -> int:
    """``publish-space``: create or update the Hugging Face Space with the app's runtime files."""
    try:
        files = space_files(args.root)
        if args.dry_run:
            visibility = "private" if args.private else "public unless it exists already"
            print(
                f"[dry-run] would create Space {args.repo_id} (sdk gradio, {visibility}) "
                "if it does not exist"
            )
            print(f"[dry-run] would upload {len(files)} files from {Path(args.root).resolve()}:")
            for name in files:
                print(f"  {name}")
            print(
                "[dry-run] would delete Space files under "
                f"{', '.join(SPACE_DELETE_PATTERNS)} that are not in this list"
            )
            check_space_files(args.root, files)
            print("[dry-run] nothing was sent")
            return 0
        return _publish_space(args, files)
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def _publish_space(args: argparse.Namespace, files: Sequence[str]) -> int:
    from huggingface_hub import get_token
    from huggingface_hub.errors import HTTPError

    if not get_token():
        raise PublishError(
            "no Hugging Face token: set HF_TOKEN (a write token) or run `hf auth login`"
        )
    try:
        url = publish_space(args.root, args.repo_id, private=args.private, files=files)
    except (HTTPError, OSError, ValueError) as exc:
        raise PublishError(f"publishing the Space failed: {exc}", exit_code=1) from None
    print(f"uploaded {len(files)} files to {url}")
    return 0


# --------------------------------------------------------------------------- CLI


def _add(
    subparsers: Any, name: str, help_text: str, func: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(func=func)
    return parser


def add_subcommands(subparsers: Any) -> None:
    """Add ``publish-databricks`` and ``publish-space`` to the ``python -m training`` CLI."""
    db = _add(
        subparsers,
        "publish-databricks",
        "register the bundle in Unity Catalog and create or update its serving endpoint",
        cmd_publish_databricks,
    )
    db.add_argument(
        "--model-name",
        required=True,
        type=uc_model_name,
        metavar="CATALOG.SCHEMA.NAME",
        help="Unity Catalog model name",
    )
    db.add_argument(
        "--endpoint", required=True, type=endpoint_name, metavar="NAME", help="serving endpoint"
    )
    db.add_argument(
        "--model-dir", type=Path, default=Path("model"), help="bundle folder (default %(default)s)"
    )
    db.add_argument(
        "--workload-size",
        choices=WORKLOAD_SIZES,
        default="Small",
        help="serving workload size (default %(default)s)",
    )
    db.add_argument(
        "--scale-to-zero",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let the endpoint scale to zero when idle (default on)",
    )
    db.add_argument(
        "--experiment",
        default=DEFAULT_EXPERIMENT,
        help="MLflow experiment that records the publication (default %(default)s)",
    )
    db.add_argument(
        "--tracking-uri",
        default=DEFAULT_TRACKING_URI,
        help="MLflow tracking URI (default %(default)s)",
    )
    db.add_argument(
        "--registry-uri",
        default=DEFAULT_REGISTRY_URI,
        help="MLflow model registry URI (default %(default)s)",
    )
    db.add_argument("--dry-run", action="store_true", help="print the actions; send nothing")

    space = _add(
        subparsers,
        "publish-space",
        "create or update the Hugging Face Space with the app, predictor/ and model/",
        cmd_publish_space,
    )
    space.add_argument(
        "--repo-id", required=True, type=space_repo_id, metavar="USER/NAME", help="Space id"
    )
    space.add_argument(
        "--root", type=Path, default=Path("."), help="project folder (default: current folder)"
    )
    space.add_argument(
        "--private", action="store_true", help="make the Space private (also if it exists)"
    )
    space.add_argument(
        "--dry-run", action="store_true", help="list the files it would upload; send nothing"
    )
