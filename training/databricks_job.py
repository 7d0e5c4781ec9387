"""The aggregation and training as a one-time Databricks job (Jobs API ``runs/submit``).

:func:`job_spec` builds the request with databricks-sdk objects, :func:`job_json` prints it for a
dry run, and :func:`submit_job` sends it. The job checks out this repository from Git and runs
``python -m training`` on the driver with ``--engine spark``, so the event log is aggregated by
the cluster's Spark session and the models are trained on the campaign table. Building and
printing the request touches no network.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
ENTRY_FILE = "training/databricks_entry.py"  # relative to the repository root
# The command-line words that start a training run.
TRAIN_COMMAND: tuple[str, ...] = ("train",)
ENVIRONMENT_KEY = "training"
# Serverless environment 2 runs Python 3.11, as the project does.
ENVIRONMENT_VERSION = "2"
# What the job installs: the runtime set but the app's web framework, plus these training
# packages, with the ranges of the requirements files. Spark itself (the cluster's), and the test
# and publishing tools, are not installed.
APP_ONLY_PACKAGES: tuple[str, ...] = ("gradio",)
TRAINING_PACKAGES: tuple[str, ...] = ("mlflow", "pyarrow", "xgboost-cpu", "matplotlib", "rich")
GIT_PROVIDERS: tuple[str, ...] = (
    "gitHub",
    "gitHubEnterprise",
    "gitLab",
    "gitLabEnterpriseEdition",
    "bitbucketCloud",
    "bitbucketServer",
    "azureDevOpsServices",
    "awsCodeCommit",
)


@dataclass(frozen=True)
class JobOptions:
    """What the job runs on, and where its data and results live (paths as the cluster sees
    them, such as Unity Catalog volumes ``/Volumes/CATALOG/SCHEMA/VOLUME/...``)."""

    git_url: str
    data_dir: str
    out_dir: str
    git_branch: str = "main"
    git_commit: str | None = None  # a commit pins the run; otherwise the branch's head
    git_provider: str = "gitHub"
    cluster_id: str | None = None  # None: serverless compute
    run_name: str = "campaign-purchase-predictor: aggregate and train"
    timeout_seconds: int = 3600

    def __post_init__(self) -> None:
        if not re.match(r"^(https://|git@)", self.git_url):
            raise ValueError(f"git_url must be an https:// or git@ address (got {self.git_url!r})")
        if self.git_provider not in GIT_PROVIDERS:
            raise ValueError(f"git_provider must be one of {', '.join(GIT_PROVIDERS)}")
        for name in ("data_dir", "out_dir"):
            if not getattr(self, name).startswith(("/", "dbfs:")):
                raise ValueError(
                    f"{name} must be an absolute path on Databricks, like /Volumes/..."
                )
        if self.timeout_seconds < 1:
            raise ValueError("timeout_seconds must be at least 1")


def train_parameters(options: JobOptions) -> list[str]:
    """The ``python -m training`` arguments the job's task runs with."""
    out = options.out_dir.rstrip("/")
    return [
        *TRAIN_COMMAND,
        "--data-dir",
        options.data_dir,
        "--engine",
        "spark",
        "--model-dir",
        f"{out}/model",
        "--reports-dir",
        f"{out}/reports",
    ]


def job_requirements(repo: Path = REPO) -> list[str]:
    """The pip requirement lines the job installs, taken from the requirements files."""
    runtime = _requirement_lines(repo / "requirements.txt")
    lines = [line for line in runtime if Requirement(line).name not in APP_ONLY_PACKAGES]
    dev = {
        Requirement(line).name: line for line in _requirement_lines(repo / "requirements-dev.txt")
    }
    missing = [name for name in TRAINING_PACKAGES if name not in dev]
    if missing:
        raise ValueError(f"requirements-dev.txt has no line for {', '.join(missing)}")
    return lines + [dev[name] for name in TRAINING_PACKAGES]


def job_spec(options: JobOptions, repo: Path = REPO) -> dict[str, Any]:
    """Keyword arguments of ``WorkspaceClient().jobs.submit``: the job as databricks-sdk objects."""
    from databricks.sdk.service import compute, jobs

    requirements = job_requirements(repo)
    task = jobs.SubmitTask(
        task_key="aggregate_and_train",
        description="Aggregate the event log with Spark, then compare models and export the bundle",
        spark_python_task=jobs.SparkPythonTask(
            python_file=ENTRY_FILE, parameters=train_parameters(options), source=jobs.Source.GIT
        ),
        timeout_seconds=options.timeout_seconds,
    )
    spec: dict[str, Any] = {
        "run_name": options.run_name,
        "git_source": jobs.GitSource(
            git_url=options.git_url,
            git_provider=jobs.GitProvider(options.git_provider),
            git_branch=None if options.git_commit else options.git_branch,
            git_commit=options.git_commit,
        ),
        "tasks": [task],
        "timeout_seconds": options.timeout_seconds,
    }
    if options.cluster_id:
        task.existing_cluster_id = options.cluster_id
        task.libraries = [
            compute.Library(pypi=compute.PythonPyPiLibrary(package=_without_marker(line)))
            for line in requirements
            if _on_linux(line)
        ]
    else:
        task.environment_key = ENVIRONMENT_KEY
        spec["environments"] = [
            jobs.JobEnvironment(
                environment_key=ENVIRONMENT_KEY,
                spec=compute.Environment(
                    environment_version=ENVIRONMENT_VERSION, dependencies=requirements
                ),
            )
        ]
    return spec


def job_json(spec: dict[str, Any]) -> str:
    """The request body of ``spec`` as indented JSON."""
    return json.dumps({key: _body(value) for key, value in spec.items()}, indent=2, sort_keys=True)


def dry_run(options: JobOptions) -> str:
    """What ``--dry-run`` prints: the command each task runs, on what compute, and the request."""
    spec = job_spec(options)
    lines = []
    for task in spec["tasks"]:
        where = (
            f"cluster {task.existing_cluster_id}"
            if task.existing_cluster_id
            else f"serverless compute (environment {ENVIRONMENT_VERSION})"
        )
        command = " ".join(["python -m training", *task.spark_python_task.parameters])
        lines.append(f"[dry-run] would run task {task.task_key} on {where}: {command}")
    lines.append("[dry-run] Jobs API runs/submit request:")
    lines.append(job_json(spec))
    lines.append("[dry-run] nothing was sent")
    return "\n".join(lines)


def submit_job(workspace: Any, options: JobOptions) -> int:
    """Submit the job with a ``databricks.sdk.WorkspaceClient``; returns the run id."""
    waiter = workspace.jobs.submit(**job_spec(options))
    return int(waiter.run_id)


def _body(value: Any) -> Any:
    if isinstance(value, list):
        return [_body(item) for item in value]
    return value.as_dict() if hasattr(value, "as_dict") else value


def _requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a requirements file, with those of the files it ``-r`` includes."""
    found: list[str] = []
    for line in (line.strip() for line in path.read_text().splitlines()):
        if line.startswith("-r"):
            found += _requirement_lines(path.parent / line.removeprefix("-r").strip())
        elif line and not line.startswith("#"):
            found.append(line)
    return found


def _on_linux(line: str) -> bool:
    marker = Requirement(line).marker
    return marker is None or marker.evaluate({"sys_platform": "linux", "platform_system": "Linux"})


def _without_marker(line: str) -> str:
    return line.split(";", 1)[0].strip()
