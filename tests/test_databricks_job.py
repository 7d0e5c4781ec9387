"""The Databricks job that aggregates with Spark and trains: its Jobs API request, offline."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from databricks.sdk.service import jobs

from tests.support.common import SAMPLE
from training.__main__ import build_parser
from training.aggregate import aggregate_dir
from training.databricks_job import (
    ENTRY_FILE,
    REPO,
    JobOptions,
    dry_run,
    job_json,
    job_requirements,
    job_spec,
    submit_job,
    train_parameters,
)

OPTIONS = JobOptions(
    git_url="https://github.com/acme/campaign-purchase-predictor.git",
    data_dir="/Volumes/main/ads/logs",
    out_dir="/Volumes/main/ads/runs/1/",
)


def test_spec_fits_the_sdk_submit_call() -> None:
    spec = job_spec(OPTIONS)
    inspect.signature(jobs.JobsAPI.submit).bind(None, **spec)  # raises on an unknown argument
    [task] = spec["tasks"]
    assert isinstance(task, jobs.SubmitTask)
    assert task.spark_python_task.source == jobs.Source.GIT
    assert (REPO / task.spark_python_task.python_file).is_file()
    assert spec["git_source"].git_branch == "main" and spec["git_source"].git_commit is None


def test_json_is_the_request_body_of_the_same_job() -> None:
    spec = job_spec(OPTIONS)
    body = json.loads(job_json(spec))
    task = body["tasks"][0]
    assert jobs.SubmitTask.from_dict(task).as_dict() == spec["tasks"][0].as_dict() == task
    assert jobs.GitSource.from_dict(body["git_source"]) == spec["git_source"]
    assert body["environments"][0]["spec"]["dependencies"] == job_requirements()
    assert body["tasks"][0]["environment_key"] == body["environments"][0]["environment_key"]


def test_task_runs_the_training_cli_with_spark() -> None:
    args = build_parser().parse_args(train_parameters(OPTIONS))
    assert args.command == "train"
    assert args.engine == "spark"
    assert str(args.data_dir) == "/Volumes/main/ads/logs"
    assert str(args.model_dir) == "/Volumes/main/ads/runs/1/model"
    assert str(args.reports_dir) == "/Volumes/main/ads/runs/1/reports"


def test_installs_the_training_set_from_the_requirements_files() -> None:
    requirements = job_requirements()
    names = [line.split(">=")[0].split(";")[0] for line in requirements]
    assert {"scikit-learn", "skops", "mlflow", "xgboost-cpu", "pandas"} <= set(names)
    assert not {"pyspark", "gradio", "pytest", "playwright", "ruff"} & set(names)
    runtime = (REPO / "requirements.txt").read_text().splitlines()
    assert next(line for line in runtime if line.startswith("scikit-learn")) in requirements


def test_existing_cluster_gets_libraries_instead_of_an_environment() -> None:
    options = replace(OPTIONS, cluster_id="0123-456789-abc", git_commit="f" * 40)
    spec = job_spec(options)
    [task] = spec["tasks"]
    assert task.existing_cluster_id == "0123-456789-abc" and task.environment_key is None
    assert "environments" not in spec
    packages = [library.pypi.package for library in task.libraries]
    assert "xgboost-cpu>=3.2,<4" in packages and not any(";" in p for p in packages)
    assert spec["git_source"].git_commit == "f" * 40 and spec["git_source"].git_branch is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("git_url", "acme/repo"),
        ("data_dir", "relative/logs"),
        ("out_dir", "runs"),
        ("git_provider", "github"),
        ("timeout_seconds", 0),
    ],
)
def test_bad_options_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        replace(OPTIONS, **{field: value})


def test_dry_run_prints_the_command_and_the_request() -> None:
    text = dry_run(OPTIONS)
    first, *_, last = text.splitlines()
    assert first.startswith("[dry-run] would run task aggregate_and_train on serverless compute")
    assert "python -m training train --data-dir /Volumes/main/ads/logs --engine spark" in first
    assert last == "[dry-run] nothing was sent"
    request = text.split("request:\n", 1)[1].rsplit("\n[dry-run]", 1)[0]
    assert json.loads(request) == json.loads(job_json(job_spec(OPTIONS)))


def test_submit_sends_the_spec_and_returns_the_run_id() -> None:
    class Waiter:
        run_id = 4242

    class Jobs:
        def submit(self, **kwargs: object) -> Waiter:
            self.sent = kwargs
            return Waiter()

    class Workspace:
        jobs = Jobs()

    workspace = Workspace()
    assert submit_job(workspace, OPTIONS) == 4242
    assert workspace.jobs.sent == job_spec(OPTIONS)


def test_entry_file_runs_the_cli_from_any_folder(tmp_path: Path) -> None:
    out = tmp_path / "campaigns.csv"
    args = ["aggregate", "--data-dir", str(SAMPLE), "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, str(REPO / ENTRY_FILE), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    pd.testing.assert_frame_equal(pd.read_csv(out), aggregate_dir(SAMPLE), check_dtype=False)


JOB_ARGS = [
    "publish-databricks",
    "--training-job",
    "--git-url",
    "https://github.com/acme/campaign-purchase-predictor",
    "--data-dir",
    "/Volumes/main/ads/raw/logs",
    "--out-dir",
    "/Volumes/main/ads/raw/run",
]


def test_publish_databricks_dry_run_prints_the_training_job(capsys) -> None:
    from training.__main__ import main

    assert main([*JOB_ARGS, "--git-commit", "abc1234", "--dry-run"]) == 0
    out = capsys.readouterr().out
    request = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert request["git_source"]["git_commit"] == "abc1234"
    (task,) = request["tasks"]
    words = task["spark_python_task"]["parameters"]
    assert words[:1] == ["train"] and "--engine" in words and "spark" in words
    assert "/Volumes/main/ads/raw/run/model" in words


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["publish-databricks", "--training-job", "--dry-run"], "--git-url, --data-dir, --out-dir"),
        ([*JOB_ARGS[:3], "ftp://x", *JOB_ARGS[4:], "--dry-run"], "git_url must be"),
    ],
)
def test_publish_databricks_job_refuses_missing_or_bad_options(capsys, args, message) -> None:
    from training.__main__ import main

    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_publishing_the_bundle_still_needs_its_names() -> None:
    from training.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["publish-databricks", "--dry-run"])
    assert exit_info.value.code == 2
