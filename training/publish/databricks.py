"""``publish-databricks``: register the bundle in Unity Catalog and serve it on Model Serving.

Credentials are databricks-sdk's: ``DATABRICKS_HOST`` with ``DATABRICKS_TOKEN`` or
``DATABRICKS_CLIENT_ID``/``DATABRICKS_CLIENT_SECRET``, or a ``~/.databrickscfg`` profile.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from predictor.serving.settings import ENDPOINT_NAME
from training import config
from training.publish.common import Options, PublishError, run_command, verify_bundle

DEFAULT_TRACKING_URI = "databricks"
DEFAULT_REGISTRY_URI = "databricks-uc"
DEFAULT_EXPERIMENT = config.DATABRICKS_EXPERIMENT_NAME
WORKLOAD_SIZES = ("Small", "Medium", "Large")
# The workspace registry says RESOURCE_ALREADY_EXISTS; Unity Catalog says ALREADY_EXISTS (409).
ALREADY_EXISTS_CODES = frozenset({"RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"})
CREDENTIALS_HINT = (
    "set DATABRICKS_HOST with DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID and "
    "DATABRICKS_CLIENT_SECRET), or DATABRICKS_CONFIG_PROFILE naming a profile in ~/.databrickscfg"
)


@dataclass(frozen=True)
class DatabricksOptions(Options):
    """The options of ``publish-databricks``."""

    model_name: str
    endpoint: str
    model_dir: Path
    workload_size: str
    scale_to_zero: bool
    experiment: str
    tracking_uri: str
    registry_uri: str


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version created in a registry."""

    name: str
    version: str
    source: str
    run_id: str
    model_id: str


_UC_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,254}")


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
    if not ENDPOINT_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            "must be 1 to 63 letters, digits, '-' or '_', starting with a letter or digit "
            f"(got {value!r})"
        )
    return value


def _bundle_tags(model_dir: Path) -> dict[str, str]:
    """Identifying tags for the version: the bundle's own version, data fingerprint and manifest."""
    from mlflow.models import Model

    from predictor.serving.bundle import MANIFEST_NAME, file_sha256

    metadata = Model.load(str(model_dir / "MLmodel")).metadata or {}
    tags = {"bundle_manifest_sha256": file_sha256(model_dir / MANIFEST_NAME)}
    for key in ("model_version", "data_fingerprint"):
        if metadata.get(key) is not None:
            tags[f"bundle_{key}"] = str(metadata[key])
    return tags


def _ensure_registered_model(client: Any, model_name: str) -> None:
    """Create the registered model unless it exists (in either registry's words)."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(model_name)
    except MlflowException as exc:
        if exc.error_code not in ALREADY_EXISTS_CODES:
            raise


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
        _ensure_registered_model(client, model_name)
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
    scale_to_zero: bool = False,
) -> str:
    """Point serving endpoint ``endpoint`` at ``model_name`` version ``version``.

    ``workspace`` is a ``databricks.sdk.WorkspaceClient``. Updates the endpoint's config when it
    exists, creates it otherwise, and returns "created" or "updated". Does not wait for the
    endpoint to become ready (that takes minutes). Scale to zero is off unless asked for: an
    interactive app would otherwise meet a cold endpoint after every idle spell.
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


def _require_credentials() -> None:
    """Fail fast, offline, when no Databricks credentials are configured at all."""
    config_file = Path(os.environ.get("DATABRICKS_CONFIG_FILE", "~/.databrickscfg")).expanduser()
    if not os.environ.get("DATABRICKS_HOST") and not config_file.is_file():
        raise PublishError(f"no Databricks credentials: {CREDENTIALS_HINT}")


def _workspace_client() -> Any:
    """A WorkspaceClient from the environment, with a clear error when credentials are missing."""
    from databricks.sdk import WorkspaceClient

    try:
        return WorkspaceClient()
    except ValueError:
        raise PublishError(f"Databricks credentials are incomplete: {CREDENTIALS_HINT}") from None


def databricks_plan(options: DatabricksOptions) -> list[str]:
    """The actions ``publish-databricks`` takes, in order, as printable lines."""
    zero = "on" if options.scale_to_zero else "off"
    return [
        f"verify the bundle {options.model_dir} against its manifest",
        f"log {options.model_dir} as a logged model in experiment {options.experiment} "
        f"(tracking URI {options.tracking_uri})",
        f"register {options.model_dir} as a new version of {options.model_name} "
        f"(registry URI {options.registry_uri})",
        f"create serving endpoint {options.endpoint}, or update it if it exists, to serve "
        f"{options.model_name} at the new version (workload size {options.workload_size}, "
        f"scale to zero {zero})",
    ]


def _remote_errors() -> tuple[type[BaseException], ...]:
    from databricks.sdk.errors import DatabricksError
    from mlflow.exceptions import MlflowException

    return (MlflowException, DatabricksError, OSError)


def cmd_publish_databricks(args: argparse.Namespace) -> int:
    """``publish-databricks``: register the bundle in Unity Catalog and serve it."""
    options = DatabricksOptions.from_args(args)
    return run_command(
        lambda: _dry_run(options) if options.dry_run else _publish(options),
        failure="publishing to Databricks failed",
        remote_errors=_remote_errors,
    )


def _dry_run(options: DatabricksOptions) -> int:
    verify_bundle(options.model_dir)
    for line in databricks_plan(options):
        print(f"[dry-run] would {line}")
    print("[dry-run] nothing was sent")
    return 0


def _publish(options: DatabricksOptions) -> int:
    import mlflow

    _require_credentials()
    verify_bundle(options.model_dir)
    workspace = _workspace_client()
    # The Unity Catalog store resolves logged models through the global tracking URI.
    mlflow.set_tracking_uri(options.tracking_uri)
    mlflow.set_registry_uri(options.registry_uri)
    registered = register_bundle(
        options.model_dir,
        options.model_name,
        tracking_uri=options.tracking_uri,
        registry_uri=options.registry_uri,
        experiment_name=options.experiment,
    )
    print(f"registered {options.model_dir} as {registered.name} version {registered.version}")
    outcome = deploy_endpoint(
        workspace,
        options.endpoint,
        registered.name,
        registered.version,
        workload_size=options.workload_size,
        scale_to_zero=options.scale_to_zero,
    )
    print(
        f"{outcome} serving endpoint {options.endpoint}: {registered.name} version "
        f"{registered.version}; it is ready when its state in Serving shows READY"
    )
    return 0
