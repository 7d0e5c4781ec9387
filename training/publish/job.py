"""``publish-databricks --training-job``: submit the aggregation and training as a Databricks job."""

from __future__ import annotations

import argparse
from typing import Any

from training.arguments import from_args
from training.publish.common import PublishError, run_command


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the training job, on the ``publish-databricks`` parser."""
    group = parser.add_argument_group(
        "training job",
        "with --training-job, submit the aggregation (Spark) and training as a one-time "
        "Databricks job instead of publishing the bundle",
    )
    group.add_argument("--training-job", action="store_true", help="submit the training job")
    group.add_argument("--git-url", help="the repository the job checks out (https:// or git@)")
    group.add_argument("--git-branch", default="main", help="branch to run (default %(default)s)")
    group.add_argument("--git-commit", help="a commit to pin the run to (instead of the branch)")
    group.add_argument("--data-dir", help="the event log tables, e.g. /Volumes/CAT/SCHEMA/VOL/logs")
    group.add_argument("--out-dir", help="where the bundle and reports go, e.g. /Volumes/.../run")
    group.add_argument("--cluster-id", help="an existing cluster (default: serverless compute)")


def job_options(args: argparse.Namespace) -> Any:
    """The job's options from the command line; :class:`PublishError` names what is missing."""
    from training.databricks_job import JobOptions

    missing = [
        f"--{n.replace('_', '-')}"
        for n in ("git_url", "data_dir", "out_dir")
        if not getattr(args, n)
    ]
    if missing:
        raise PublishError(f"--training-job needs {', '.join(missing)}")
    try:
        return from_args(JobOptions, args)
    except ValueError as exc:
        raise PublishError(str(exc)) from None


def cmd_training_job(args: argparse.Namespace) -> int:
    """Print the job's request (``--dry-run``) or submit it and print the run id."""
    from training.databricks_job import dry_run, submit_job

    def action() -> int:
        options = job_options(args)
        if args.dry_run:
            print(dry_run(options))
            return 0
        from databricks.sdk import WorkspaceClient

        print(f"submitted the training job: run {submit_job(WorkspaceClient(), options)}")
        return 0

    return run_command(action, failure="submitting the training job failed", remote_errors=_errors)


def _errors() -> tuple[type[BaseException], ...]:
    from databricks.sdk.errors import DatabricksError

    return (DatabricksError,)
