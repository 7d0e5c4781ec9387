"""publish-databricks and the publishing CLI: names, dry runs, registration, endpoint, errors.

Registration runs against a real local MLflow registry (SQLite), once as is and once answering
like Unity Catalog. The serving endpoints are a recording stand-in for the workspace.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from predictor.serving.bundle import verify_manifest, write_manifest
from tests.support.publish import parse, run
from training.publish import databricks
from training.publish.common import PublishError


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
    assert databricks.uc_model_name(name) == name


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
        parse(["publish-databricks", "--model-name", name, "--endpoint", "ep", "--dry-run"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--model-name" in err
    assert "CATALOG.SCHEMA.NAME" in err
    assert repr(name) in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 64, "a.b"])
def test_bad_endpoint_name_exits_2(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(["publish-databricks", "--model-name", "a.b.c", "--endpoint", name])
    assert exc.value.code == 2
    assert "--endpoint" in capsys.readouterr().err


# --------------------------------------------------------------------------- Databricks


def test_register_bundle_in_local_registry(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    # Dots are allowed in local registry names, so the Unity Catalog form is tested as is.
    monkeypatch.chdir(tmp_path)  # the local store's artifacts go under the working folder
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    name = "main.default.campaign_purchases"

    first = databricks.register_bundle(
        bundle, name, tracking_uri=uri, registry_uri=uri, experiment_name="publish-test"
    )
    second = databricks.register_bundle(
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
    with pytest.raises(PublishError, match=r"model\.skops"):
        databricks.register_bundle(bundle, "a.b.c", tracking_uri=uri, registry_uri=uri)
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
    outcome = databricks.deploy_endpoint(
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
    outcome = databricks.deploy_endpoint(ws, "cpp", "main.default.cpp", "4")
    assert outcome == "updated"
    assert [c[0] for c in ws.serving_endpoints.calls] == ["get", "update_config"]
    kwargs = ws.serving_endpoints.calls[1][1]
    assert kwargs["name"] == "cpp"
    (entity,) = kwargs["served_entities"]
    assert (entity.entity_name, entity.entity_version) == ("main.default.cpp", "4")
    # An interactive app should not meet a cold endpoint: scale to zero is off unless asked for.
    assert (entity.workload_size, entity.scale_to_zero_enabled) == ("Small", False)


def test_databricks_dry_run_prints_actions_offline(
    bundle: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run(
        [
            "publish-databricks",
            "--model-name",
            "main.default.cpp",
            "--endpoint",
            "cpp-endpoint",
            "--model-dir",
            str(bundle),
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


def test_scale_to_zero_is_a_flag_that_defaults_off() -> None:
    argv = ["publish-databricks", "--model-name", "a.b.c", "--endpoint", "e"]
    assert parse(argv).scale_to_zero is False
    assert parse([*argv, "--scale-to-zero"]).scale_to_zero is True
    assert parse([*argv, "--no-scale-to-zero"]).scale_to_zero is False


def test_databricks_dry_run_refuses_broken_bundle(
    bundle: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (bundle / "manifest.sha256").unlink()
    rc = run(
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
    rc = run(
        [
            *("publish-databricks", "--model-name", "a.b.c", "--endpoint", "e"),
            *("--model-dir", str(bundle)),
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 2
    assert "set DATABRICKS_HOST with DATABRICKS_TOKEN" in err
    assert "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET" in err
    assert "DATABRICKS_CONFIG_PROFILE" in err
    assert "Traceback" not in err + out


def test_republishing_to_unity_catalog_accepts_already_exists(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry answers a second create like Unity Catalog: ALREADY_EXISTS (HTTP 409)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException, RestException

    create = MlflowClient.create_registered_model
    answers: list[str] = []

    def create_like_unity_catalog(self: MlflowClient, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            self.get_registered_model(name)
        except MlflowException:
            answers.append("created")
            return create(self, name, *args, **kwargs)
        answers.append("ALREADY_EXISTS")
        raise RestException(
            {"error_code": "ALREADY_EXISTS", "message": f"Registered model '{name}' already exists"}
        )

    monkeypatch.setattr(MlflowClient, "create_registered_model", create_like_unity_catalog)
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    versions = [
        databricks.register_bundle(bundle, "main.default.cpp", tracking_uri=uri, registry_uri=uri)
        for _ in range(2)
    ]
    assert answers == ["created", "ALREADY_EXISTS"]
    assert [v.version for v in versions] == ["1", "2"]


def test_other_registry_errors_still_fail_the_publication(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import RestException

    def denied(self: MlflowClient, name: str, *args: Any, **kwargs: Any) -> Any:
        raise RestException({"error_code": "PERMISSION_DENIED", "message": "no CREATE MODEL"})

    monkeypatch.setattr(MlflowClient, "create_registered_model", denied)
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(RestException, match="PERMISSION_DENIED"):
        databricks.register_bundle(bundle, "a.b.c", tracking_uri=uri, registry_uri=uri)
    run_ids = [r.info.run_id for r in MlflowClient(uri).search_runs(["0", "1"])]
    assert [MlflowClient(uri).get_run(r).info.status for r in run_ids] == ["FAILED"]


def test_a_remote_failure_is_one_scrubbed_line_with_exit_1(
    bundle: Path,
    offline: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mlflow.exceptions import RestException

    secret, token = "dose" + "a1" * 16, "dapi" + "b2" * 16
    monkeypatch.setenv("DATABRICKS_HOST", "https://adb-1.azuredatabricks.net")
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", secret)
    monkeypatch.setenv("DATABRICKS_TOKEN", token)
    monkeypatch.setattr(databricks, "_workspace_client", lambda: object())
    import mlflow

    # _publish sets the process-wide URIs; keep them out of the other tests.
    monkeypatch.setattr(mlflow, "set_tracking_uri", lambda uri: None)
    monkeypatch.setattr(mlflow, "set_registry_uri", lambda uri: None)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RestException({"error_code": "PERMISSION_DENIED", "message": f"{token} {secret}"})

    monkeypatch.setattr(databricks, "register_bundle", refuse)
    argv = ["publish-databricks", "--model-name", "a.b.c", "--endpoint", "e"]
    rc = run([*argv, "--model-dir", str(bundle)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert err.startswith("error: publishing to Databricks failed: PERMISSION_DENIED")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert secret not in out + err and token not in out + err
