"""Publishing commands: name validation, dry runs, the Space's file list, and registration.

Registration runs against a real local MLflow registry (SQLite). The Databricks endpoint and
Hugging Face calls are checked through recording stand-ins for the remote services only.
"""

from __future__ import annotations

import argparse
import shutil
import socket
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from predictor.bundle import verify_manifest, write_manifest
from training import publish

HF_TOKEN = "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123"

# Files of the fake project the Space must get, sorted as space_files returns them.
SPACE_RUNTIME = [
    "LICENSE",
    "README.md",
    "app.py",
    "model/MLmodel",
    "model/manifest.sha256",
    "model/model.skops",
    "model/requirements.txt",
    "predictor/__init__.py",
    "predictor/core.py",
    "predictor/sub/helpers.py",
    "requirements.txt",
]
# Files that must never be uploaded.
SPACE_EXCLUDED = [
    "secrets.toml",
    "prod.secrets.toml",
    ".env",
    ".env.local",
    ".streamlit/secrets.toml",
    "predictor/.env",
    "predictor/secrets.toml",
    "model/__pycache__/x.cpython-311.pyc",
    "model/.DS_Store",
    "predictor/__pycache__/core.cpython-311.pyc",
    "predictor/notes.txt",
    "__pycache__/app.cpython-311.pyc",
    "data/x.csv",
    "data/synthetic/ads.csv",
    "mlruns/0/meta.yaml",
    "mlruns/0/abc/artifacts/model/MLmodel",
    "mlartifacts/1/x.bin",
    "mlflow.db",
    ".pytest_cache/v/cache/nodeids",
    ".ruff_cache/0.1/x",
    ".gradio/flagged/log.csv",
    ".hypothesis/examples/x",
    ".git/config",
    ".databrickscfg",
    "tests/test_app.py",
    "training/train.py",
    "training/__main__.py",
    "bench/bench_app.py",
    "reports/comparison.csv",
    "secrets.toml.example",
    "requirements-dev.txt",
    "pyproject.toml",
]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training")
    sub = parser.add_subparsers(dest="command")
    publish.add_subcommands(sub)
    return parser.parse_args(argv)


def _run(argv: list[str]) -> int:
    args = _parse(argv)
    return args.func(args)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fake project tree: the Space runtime plus everything that must stay behind."""
    root = tmp_path / "project"
    for rel in SPACE_RUNTIME + SPACE_EXCLUDED:
        if rel == "model/manifest.sha256":
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {rel}\n", encoding="utf-8")
    (root / "README.md").write_text("---\nsdk: gradio\napp_file: app.py\n---\n# App\n")
    # The manifest covers the bundle as trained; caches and stray files appear after it.
    for rel in ("model/__pycache__/x.cpython-311.pyc", "model/.DS_Store"):
        (root / rel).unlink()
    write_manifest(root / "model")
    for rel in ("model/__pycache__/x.cpython-311.pyc", "model/.DS_Store"):
        (root / rel).write_bytes(b"\x00cache")
    return root


@pytest.fixture(scope="module")
def saved_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sklearn bundle saved like the real one (skops, signature, metadata, manifest)."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    x = pd.DataFrame({"total_budget": [1000.0, 2000.0, 4000.0], "num_ads": [1.0, 2.0, 5.0]})
    y = np.array([3.0, 5.0, 11.0])
    model = LinearRegression().fit(x, y)
    path = tmp_path_factory.mktemp("saved") / "bundle"
    mlflow.sklearn.save_model(
        model,
        str(path),
        serialization_format="skops",
        skops_trusted_types=[],
        signature=infer_signature(x, model.predict(x)),
        pip_requirements=["scikit-learn", "skops"],
        metadata={"model_version": "0.0.7", "data_fingerprint": "ab" * 32},
    )
    write_manifest(path)
    return path


@pytest.fixture
def bundle(saved_bundle: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny bundle, free to alter."""
    return Path(shutil.copytree(saved_bundle, tmp_path / "bundle"))


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name", ["main.default.campaign_purchases", "dev_cat.ml-team.model2", "A.B.C"]
)
def test_uc_model_name_accepts_three_parts(name: str) -> None:
    assert publish.uc_model_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "campaign",
        "main.campaign",
        "main.default.x.y",
        "main..x",
        "main.default.",
        "a b.c.d",
        "a/b.c.d",
    ],
)
def test_bad_uc_model_name_exits_2_with_message(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        _parse(["publish-databricks", "--model-name", name, "--endpoint", "ep", "--dry-run"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--model-name" in err
    assert "CATALOG.SCHEMA.NAME" in err
    assert repr(name) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 64, "a.b"])
def test_bad_endpoint_name_exits_2(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parse(["publish-databricks", "--model-name", "a.b.c", "--endpoint", name])
    assert exc.value.code == 2
    assert "--endpoint" in capsys.readouterr().err


@pytest.mark.parametrize(
    "repo_id", ["nouser", "a/b/c", "me/a--b", "me/-x", "me/x.git", "/x", "me/"]
)
def test_bad_space_repo_id_exits_2(repo_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parse(["publish-space", "--repo-id", repo_id, "--dry-run"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--repo-id" in err
    assert "Traceback" not in err


def test_good_space_repo_id_parses() -> None:
    args = _parse(["publish-space", "--repo-id", "someone/campaign-planner", "--private"])
    assert args.repo_id == "someone/campaign-planner"
    assert args.private is True
    assert args.func is publish.cmd_publish_space


# --------------------------------------------------------------------------- Databricks


def test_register_bundle_in_local_registry(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    # Dots are allowed in local registry names, so the Unity Catalog form is tested as is.
    monkeypatch.chdir(tmp_path)  # the local store's artifacts go under the working folder
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    name = "main.default.campaign_purchases"

    first = publish.register_bundle(
        bundle, name, tracking_uri=uri, registry_uri=uri, experiment_name="publish-test"
    )
    second = publish.register_bundle(
        bundle, name, tracking_uri=uri, registry_uri=uri, experiment_name="publish-test"
    )

    assert (first.name, first.version) == (name, "1")
    assert (second.name, second.version) == (name, "2")
    assert first.source == f"models:/{first.model_id}"
    assert first.model_id != second.model_id

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    stored = client.get_model_version(name, "1")
    assert stored.name == name
    assert stored.source == f"models:/{first.model_id}"
    assert stored.run_id == first.run_id
    assert stored.status == "READY"
    assert stored.tags["bundle_model_version"] == "0.0.7"
    assert stored.tags["bundle_data_fingerprint"] == "ab" * 32
    assert client.get_run(first.run_id).info.status == "FINISHED"
    assert client.get_logged_model(first.model_id).status.name == "READY"

    # The stored artifacts are the bundle byte for byte: its manifest still verifies, strictly.
    import mlflow.artifacts

    logged = client.get_logged_model(first.model_id)
    downloaded = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=logged.artifact_location, dst_path=str(tmp_path / "dl")
        )
    )
    assert verify_manifest(downloaded) == verify_manifest(bundle)


def test_register_refuses_altered_bundle(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (bundle / "model.skops").write_bytes(b"tampered")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(publish.PublishError, match=r"model\.skops"):
        publish.register_bundle(bundle, "a.b.c", tracking_uri=uri, registry_uri=uri)
    assert not (tmp_path / "mlflow.db").exists()


class _FakeEndpoints:
    """Records serving-endpoint calls; ``existing`` names the endpoints that exist."""

    def __init__(self, existing: set[str]) -> None:
        self.existing = existing
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get(self, name: str) -> object:
        from databricks.sdk.errors import ResourceDoesNotExist

        self.calls.append(("get", {"name": name}))
        if name not in self.existing:
            raise ResourceDoesNotExist(f"Endpoint with name '{name}' does not exist.")
        return object()

    def create(self, **kwargs: Any) -> None:
        self.calls.append(("create", kwargs))

    def update_config(self, **kwargs: Any) -> None:
        self.calls.append(("update_config", kwargs))


class _FakeWorkspace:
    def __init__(self, existing: set[str]) -> None:
        self.serving_endpoints = _FakeEndpoints(existing)


def test_deploy_endpoint_creates_missing_endpoint() -> None:
    ws = _FakeWorkspace(existing=set())
    outcome = publish.deploy_endpoint(
        ws, "cpp", "main.default.cpp", "3", workload_size="Medium", scale_to_zero=False
    )
    assert outcome == "created"
    assert [c[0] for c in ws.serving_endpoints.calls] == ["get", "create"]
    kwargs = ws.serving_endpoints.calls[1][1]
    assert kwargs["name"] == "cpp"
    (entity,) = kwargs["config"].served_entities
    assert (entity.entity_name, entity.entity_version) == ("main.default.cpp", "3")
    assert (entity.workload_size, entity.scale_to_zero_enabled) == ("Medium", False)


def test_deploy_endpoint_updates_existing_endpoint() -> None:
    ws = _FakeWorkspace(existing={"cpp"})
    outcome = publish.deploy_endpoint(ws, "cpp", "main.default.cpp", "4")
    assert outcome == "updated"
    assert [c[0] for c in ws.serving_endpoints.calls] == ["get", "update_config"]
    kwargs = ws.serving_endpoints.calls[1][1]
    assert kwargs["name"] == "cpp"
    (entity,) = kwargs["served_entities"]
    assert (entity.entity_name, entity.entity_version) == ("main.default.cpp", "4")
    assert (entity.workload_size, entity.scale_to_zero_enabled) == ("Small", True)


def test_databricks_dry_run_prints_actions_offline(
    bundle: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = _run(
        [
            "publish-databricks",
            "--model-name",
            "main.default.cpp",
            "--endpoint",
            "cpp-endpoint",
            "--model-dir",
            str(bundle),
            "--no-scale-to-zero",
            "--dry-run",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    lines = [line for line in out.splitlines() if line.startswith("[dry-run] would")]
    assert len(lines) == 4
    assert f"register {bundle} as a new version of main.default.cpp" in out
    assert "registry URI databricks-uc" in out
    assert "serving endpoint cpp-endpoint" in out
    assert "scale to zero off" in out
    assert "workload size Small" in out


def test_databricks_dry_run_refuses_broken_bundle(
    bundle: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (bundle / "manifest.sha256").unlink()
    rc = _run(
        [
            *("publish-databricks", "--model-name", "a.b.c", "--endpoint", "e"),
            *("--model-dir", str(bundle), "--dry-run"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert "manifest.sha256 is missing" in err


def test_databricks_without_credentials_says_what_to_set(
    bundle: Path,
    tmp_path: Path,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for var in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-such.databrickscfg"))
    rc = _run(
        [
            *("publish-databricks", "--model-name", "a.b.c", "--endpoint", "e"),
            *("--model-dir", str(bundle)),
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 2
    assert "set DATABRICKS_HOST and DATABRICKS_TOKEN" in err
    assert "Traceback" not in err + out


# --------------------------------------------------------------------------- Space


def test_space_files_are_exactly_the_runtime(project: Path) -> None:
    assert publish.space_files(project) == SPACE_RUNTIME


def test_space_files_match_what_upload_folder_would_upload(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import HfApi

    api = HfApi(token=False)
    monkeypatch.setattr(api, "_validate_yaml", lambda *a, **k: None)  # a network call otherwise
    ignore = list(publish.SPACE_IGNORE_PATTERNS)
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS

    operations = api._prepare_upload_folder_additions(
        project,
        "",
        allow_patterns=list(publish.SPACE_ALLOW_PATTERNS),
        ignore_patterns=ignore + DEFAULT_IGNORE_PATTERNS,
        repo_type="space",
    )
    assert [op.path_in_repo for op in operations] == publish.space_files(project)


def test_space_dry_run_lists_exactly_the_files_offline(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = _run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    listed = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert listed == SPACE_RUNTIME
    assert "would create Space me/planner (sdk gradio" in out
    assert f"would upload {len(SPACE_RUNTIME)} files" in out
    for name in SPACE_EXCLUDED:
        assert name not in listed


def test_space_dry_run_refuses_missing_app(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "app.py").unlink()
    rc = _run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    assert rc == 2
    assert "app.py is missing" in capsys.readouterr().err


def test_space_refuses_altered_bundle(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "model" / "model.skops").write_text("tampered")
    rc = _run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    assert rc == 2
    assert "model.skops was altered" in capsys.readouterr().err


def test_space_refuses_unlisted_bundle_file(
    project: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "model" / "stale.json").write_text("{}")
    rc = _run(["publish-space", "--repo-id", "me/planner", "--root", str(project), "--dry-run"])
    assert rc == 2
    assert "model/stale.json is not listed" in capsys.readouterr().err


class _RecordingHfApi:
    """Records Hub calls instead of sending them."""

    calls: ClassVar[list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).calls = []

    def create_repo(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append(("create_repo", args, kwargs))
        return f"https://huggingface.co/spaces/{args[0]}"

    def update_repo_settings(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("update_repo_settings", args, kwargs))

    def upload_folder(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("upload_folder", args, kwargs))


@pytest.mark.parametrize("private", [False, True])
def test_publish_space_creates_and_uploads_with_patterns(
    project: Path,
    private: bool,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import huggingface_hub
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

    monkeypatch.setattr(huggingface_hub, "HfApi", _RecordingHfApi)
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    argv = ["publish-space", "--repo-id", "me/planner", "--root", str(project)]
    rc = _run(argv + (["--private"] if private else []))
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert HF_TOKEN not in out + err

    calls = _RecordingHfApi.calls
    names = [c[0] for c in calls]
    assert names == (
        ["create_repo", "update_repo_settings", "upload_folder"]
        if private
        else ["create_repo", "upload_folder"]
    )
    _, args, kwargs = calls[0]
    assert args == ("me/planner",)
    assert kwargs["repo_type"] == "space"
    assert kwargs["space_sdk"] == "gradio"
    assert kwargs["exist_ok"] is True
    assert kwargs["private"] is (True if private else None)

    upload = calls[-1][2]
    assert upload["repo_id"] == "me/planner"
    assert upload["repo_type"] == "space"
    assert Path(upload["folder_path"]) == project.resolve()
    # The patterns handed to upload_folder select exactly the listed runtime files.
    every_file = sorted(
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()
    )
    selected = filter_repo_objects(
        every_file,
        allow_patterns=upload["allow_patterns"],
        ignore_patterns=upload["ignore_patterns"] + DEFAULT_IGNORE_PATTERNS,
    )
    assert sorted(selected) == SPACE_RUNTIME
    assert f"uploaded {len(SPACE_RUNTIME)} files" in out


def test_publish_space_without_token_says_what_to_set(
    project: Path,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", _RecordingHfApi)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    _RecordingHfApi.calls = []
    rc = _run(["publish-space", "--repo-id", "me/planner", "--root", str(project)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "set HF_TOKEN" in err
    assert _RecordingHfApi.calls == []
