"""The ``publish-databricks`` and ``publish-space`` subcommands of ``python -m training``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from training.arguments import add_command
from training.publish.databricks import (
    DEFAULT_EXPERIMENT,
    DEFAULT_REGISTRY_URI,
    DEFAULT_TRACKING_URI,
    WORKLOAD_SIZES,
    cmd_publish_databricks,
    endpoint_name,
    uc_model_name,
)
from training.publish.job import add_job_arguments, cmd_training_job
from training.publish.space import cmd_publish_space, secret_names, space_repo_id

DATABRICKS_HELP = "register the bundle in Unity Catalog and create or update its serving endpoint"
SPACE_HELP = "create or update the Hugging Face Space with the app, predictor/, ui/ and model/"


def add_subcommands(subparsers: Any) -> None:
    """Add ``publish-databricks`` and ``publish-space`` to the ``python -m training`` CLI."""
    for name, help_text, func, add_arguments in (
        ("publish-databricks", DATABRICKS_HELP, cmd_publish_databricks, _databricks_arguments),
        ("publish-space", SPACE_HELP, cmd_publish_space, _space_arguments),
    ):
        add_arguments(add_command(subparsers, name, help_text, func, describe=True))


def _databricks_arguments(db: argparse.ArgumentParser) -> None:
    """The options of ``publish-databricks``, and its dispatch to the training job."""

    def dispatch(args: argparse.Namespace) -> int:
        if args.training_job:
            return cmd_training_job(args)
        if not (args.model_name and args.endpoint):
            db.error("the following arguments are required: --model-name, --endpoint")
        return cmd_publish_databricks(args)

    db.set_defaults(func=dispatch)
    db.add_argument(
        "--model-name",
        type=uc_model_name,
        metavar="CATALOG.SCHEMA.NAME",
        help="Unity Catalog model name",
    )
    db.add_argument("--endpoint", type=endpoint_name, metavar="NAME", help="serving endpoint")
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
        default=False,
        help="let the endpoint scale to zero when idle: cheaper, but the first calls after an "
        "idle spell time out while it starts (default off)",
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
    add_job_arguments(db)


def _space_arguments(space: argparse.ArgumentParser) -> None:
    """The options of ``publish-space``."""
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
        "--secrets-from-env",
        type=secret_names,
        default=(),
        metavar="NAME,...",
        help="set these environment variables as Space secrets, e.g. "
        "DATABRICKS_ENDPOINT_URL,DATABRICKS_CLIENT_ID,DATABRICKS_CLIENT_SECRET (values never shown)",
    )
    space.add_argument(
        "--dry-run", action="store_true", help="list the files it would upload; send nothing"
    )
