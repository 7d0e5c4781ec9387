"""The training pipeline end to end: generate, aggregate, compare in MLflow, export, load back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictor.contract.features import FEATURE_COLUMNS, TARGET_COLUMN
from predictor.serving.bundle import load_bundle
from tests.support.common import REPO, SAMPLE
from training.aggregate import aggregate_dir
from training.generate import generate, write_dataset
from training.models import SERVED_NAME


def run_training(workdir: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    """``python -m training ARGS`` in ``workdir`` with its own MLflow store (and ``extra_env``).

    The child runs outside the repository, so it is told where the packages are.
    """
    env = {
        **os.environ,
        **extra_env,
        "PYTHONPATH": str(REPO),
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "training", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One ``--quick`` run, shared by the tests of this module."""
    workdir = tmp_path_factory.mktemp("quick")
    proc = run_training(workdir, "train", "--quick", "--model-dir", "model")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir, proc


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generated_files_have_the_dataset_schema_and_load(tmp_path):
    out = write_dataset(generate(30, seed=3), tmp_path)
    headers = {p.name: p.read_text().splitlines()[0] for p in out.glob("*.csv")}
    assert (
        headers["campaigns.csv"]
        == "campaign_id,name,start_date,end_date,duration_days,total_budget"
    )
    assert headers["ads.csv"] == (
        "ad_id,campaign_id,ad_platform,ad_type,target_gender,target_age_group,target_interests"
    )
    assert headers["ad_events.csv"] == (
        "event_id,ad_id,user_id,timestamp,day_of_week,time_of_day,event_type"
    )
    assert headers["ground_truth.csv"] == "campaign_id,expected_purchases"
    table = aggregate_dir(out)
    assert len(table) == 30
    assert list(table.columns) == ["campaign_id", *FEATURE_COLUMNS, TARGET_COLUMN]
    # The purchases counted from the event log are the generator's purchases.
    events = pd.read_csv(out / "ad_events.csv", dtype={"user_id": str})
    assert table[TARGET_COLUMN].sum() == (events["event_type"] == "Purchase").sum()
    assert events["user_id"].str.fullmatch(r"[0-9a-f]{5}").all()


def test_generator_is_deterministic_per_seed(tmp_path):
    a = write_dataset(generate(25, seed=11), tmp_path / "a")
    b = write_dataset(generate(25, seed=11), tmp_path / "b")
    c = write_dataset(generate(25, seed=12), tmp_path / "c")
    for name in ("campaigns.csv", "ads.csv", "ad_events.csv", "users.csv", "ground_truth.csv"):
        assert _sha(a / name) == _sha(b / name), name
    assert _sha(a / "ad_events.csv") != _sha(c / "ad_events.csv")


def test_original_scale_matches_the_public_dataset():
    tables = generate(50, seed=1)
    events = tables["ad_events"]
    assert len(tables["campaigns"]) == 50
    assert 150 <= len(tables["ads"]) <= 260
    assert 250_000 <= len(events) <= 600_000
    purchases = int((events["event_type"] == "Purchase").sum())
    assert 1_000 <= purchases <= 3_500


def test_purchases_only_log_has_the_same_purchases():
    full = generate(40, seed=5)
    small = generate(40, seed=5, purchases_only=True)
    assert set(small["ad_events"]["event_type"].astype(str)) == {"Purchase"}
    count = lambda t: t["ad_events"].query("event_type == 'Purchase'").groupby("ad_id").size()  # noqa: E731
    pd.testing.assert_series_equal(count(full), count(small))


def test_quick_run_exports_a_bundle_that_round_trips(quick_run):
    from mlflow.models import Model

    workdir, _ = quick_run
    model_dir = workdir / "model"
    for name in (
        "MLmodel",
        "model.skops",
        "input_example.json",
        "requirements.txt",
        "README.md",
        "manifest.sha256",
    ):
        assert (model_dir / name).is_file(), name
    meta = Model.load(str(model_dir / "MLmodel"))
    assert meta.signature.inputs.input_names() == FEATURE_COLUMNS
    md = meta.metadata
    assert md["features"] == FEATURE_COLUMNS
    assert set(md["interval"]["quantiles"]) == {"0.8", "0.9", "0.95"}
    assert set(md["training_range"]) == set(FEATURE_COLUMNS)
    assert len(md["data_fingerprint"]) == 64 and md["seed"] == 42
    requirements = (model_dir / "requirements.txt").read_text().split()
    assert {r.split("==")[0] for r in requirements} == {
        "mlflow-skinny",
        "scikit-learn",
        "skops",
        "pandas",
        "numpy",
    }

    loaded = load_bundle(model_dir, trust_unpinned=True)
    table = pd.read_csv(workdir / "reports" / "campaigns.csv")
    X = table[FEATURE_COLUMNS].astype(float)
    pred = np.asarray(loaded.predict_points(X))
    assert pred.shape == (len(table),) and np.isfinite(pred).all()
    example = pd.read_json(model_dir / "input_example.json", orient="split")
    assert list(example.columns) == FEATURE_COLUMNS


def test_comparison_tracks_every_candidate_and_beats_the_baseline(quick_run):
    import mlflow

    workdir, _ = quick_run
    comparison = pd.read_csv(workdir / "reports" / "comparison.csv").set_index("model")
    candidates = {
        "linreg_k5", "linreg_k10", "linreg_k15", "ridge", "lasso", SERVED_NAME, "random_forest",
        "gradient_boosting", "xgboost", "knn", "mlp_relu", "mlp_tanh", "mlp_logistic", "voting",
    }  # fmt: skip
    assert candidates <= set(comparison.index)
    served = comparison.loc[SERVED_NAME]
    assert served["test_rmse"] < comparison.loc["mean_baseline", "test_rmse"]
    assert served["cv_rmse_mean"] > 0 and served["cv_rmse_sd"] >= 0
    for name in ("comparison.md", "pred_vs_actual.png", "residuals.png"):
        assert (workdir / "reports" / name).stat().st_size > 0

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("campaign-purchase-predictor")
    runs = client.search_runs([experiment.experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    parents = [r for r in runs if not r.data.tags.get("mlflow.parentRunId")]
    assert {r.data.tags["candidate"] for r in children} == set(comparison.index) - {
        "mean_baseline",
        "oracle",
    }
    assert all("test_rmse" in r.data.metrics and "cv_rmse_mean" in r.data.metrics for r in children)
    assert len(parents) == 1
    artifacts = {a.path for a in client.list_artifacts(parents[0].info.run_id)}
    assert {"comparison.md", "comparison.csv", "pred_vs_actual.png", "residuals.png"} <= artifacts


def test_a_run_elsewhere_is_not_pinned_and_is_served_only_when_trusted(quick_run):
    from predictor.serving.bundle import BundleError, manifest_digest
    from predictor.serving.bundle_trust import pinned_manifests

    workdir, _ = quick_run
    assert manifest_digest(workdir / "model") not in pinned_manifests().values()
    with pytest.raises(BundleError, match="PREDICTOR_TRUST_BUNDLE=1"):
        load_bundle(workdir / "model")
    proc = run_training(
        workdir, "evaluate", "--model-dir", "model", "--campaigns", "60", PREDICTOR_TRUST_BUNDLE="1"
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert '"rmse_ratio"' in proc.stdout


def test_quick_run_interval_covers_fresh_campaigns(quick_run):
    from training.evaluate import evaluate

    workdir, _ = quick_run
    bundle = load_bundle(workdir / "model", trust_unpinned=True)
    ev = evaluate(bundle.predict_points, bundle.ranges, seed=999, n_campaigns=1500)
    # A quick model is trained on few campaigns; its interval must still keep its promise.
    assert 0.85 <= ev["coverage"]["0.9"] <= 0.95, ev["coverage"]
    assert ev["coverage"]["0.8"] < ev["coverage"]["0.9"] < ev["coverage"]["0.95"]
    small, _, large = ev["mean_width_90_by_third"]
    assert small < large
    assert ev["rmse_ratio"] < 1.6


def test_same_seed_gives_the_same_model_and_metrics(quick_run, tmp_path):
    workdir, _ = quick_run
    proc = run_training(tmp_path, "train", "--quick", "--model-dir", "model")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _sha(tmp_path / "model" / "model.skops") == _sha(workdir / "model" / "model.skops")
    alternative = Path("model", "alternatives", "boosting", "model.skops")
    assert _sha(tmp_path / alternative) == _sha(workdir / alternative)
    assert _sha(tmp_path / "reports" / "campaigns.csv") == _sha(
        workdir / "reports" / "campaigns.csv"
    )
    a = pd.read_csv(workdir / "reports" / "comparison.csv").drop(columns="seconds")
    b = pd.read_csv(tmp_path / "reports" / "comparison.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b)
    from mlflow.models import Model

    meta_a = Model.load(str(workdir / "model" / "MLmodel")).metadata
    meta_b = Model.load(str(tmp_path / "model" / "MLmodel")).metadata
    assert meta_a["metrics"] == meta_b["metrics"] and meta_a["interval"] == meta_b["interval"]


def test_trains_on_real_files_of_the_schema(tmp_path):
    data = tmp_path / "data"
    write_dataset(generate(60, seed=8), data)
    (data / "ground_truth.csv").unlink()
    proc = run_training(
        tmp_path, "train", "--data-dir", "data", "--quick", "--no-evaluate", "--model-dir", "m"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "m" / "manifest.sha256").is_file()


def test_bad_data_dir_gives_one_clear_line(tmp_path):
    (tmp_path / "bad").mkdir()
    for name in ("campaigns.csv", "ads.csv", "ad_events.csv"):
        (tmp_path / "bad" / name).write_text((SAMPLE / name).read_text())
    ads = (tmp_path / "bad" / "ads.csv").read_text().replace("Instagram", "Tiktok", 1)
    (tmp_path / "bad" / "ads.csv").write_text(ads)
    proc = run_training(tmp_path, "train", "--data-dir", "bad", "--quick")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "ads.csv" in proc.stderr and "ad_platform" in proc.stderr and "Tiktok" in proc.stderr


def test_aggregate_and_generate_commands(tmp_path):
    proc = run_training(tmp_path, "generate", "--out", "gen", "--campaigns", "20", "--seed", "4")
    assert proc.returncode == 0, proc.stderr
    proc = run_training(tmp_path, "aggregate", "--data-dir", "gen", "--out", "table.csv")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "table.csv")
    assert list(table.columns) == ["campaign_id", *FEATURE_COLUMNS, TARGET_COLUMN]
    assert len(table) == 20
    proc = run_training(tmp_path, "generate", "--out", "gen", "--campaigns", "0")
    assert proc.returncode != 0 and "--campaigns" in proc.stderr and "Traceback" not in proc.stderr


def test_sample_metadata_is_json_serializable(quick_run):
    from mlflow.models import Model

    workdir, _ = quick_run
    meta = Model.load(str(workdir / "model" / "MLmodel")).metadata
    assert json.loads(json.dumps(meta)) == meta


def test_too_few_campaigns_and_missing_bundle_are_clear_errors(tmp_path):
    proc = run_training(tmp_path, "train", "--campaigns", "5")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "--campaigns 5 is too few" in proc.stderr
    assert not (tmp_path / "data").exists()  # refused before generating anything
    proc = run_training(tmp_path, "evaluate", "--model-dir", "missing")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "missing" in proc.stderr and "does not exist" in proc.stderr


def test_experiment_is_a_workspace_path_on_databricks():
    from training.train import experiment_name

    assert experiment_name("databricks") == "/Shared/campaign-purchase-predictor"
    assert experiment_name("databricks://profile") == "/Shared/campaign-purchase-predictor"
    assert experiment_name("sqlite:///mlflow.db") == "campaign-purchase-predictor"


def test_every_command_is_named_and_shares_its_options():
    from training.__main__ import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == {
        "train", "generate", "aggregate", "evaluate", "pin", "recalibrate", "publish-databricks", "publish-space",
    }  # fmt: skip
    with pytest.raises(SystemExit):
        parser.parse_args([])  # no implied command
    with pytest.raises(SystemExit):
        parser.parse_args(["--quick"])  # options belong to a command
    train = parser.parse_args(["train", "--seed", "7", "--model-dir", "m"])
    assert (train.command, train.seed, train.model_dir, train.campaigns) == (
        "train",
        7,
        Path("m"),
        None,
    )
    evaluate = parser.parse_args(["evaluate"])
    assert (evaluate.seed, evaluate.campaigns, evaluate.model_dir) == (2026, 10_000, Path("model"))
    generate = parser.parse_args(["generate"])
    assert (generate.seed, generate.campaigns) == (42, 1000)
    assert parser.parse_args(["pin", "--model-dir", "m"]).model_dir == Path("m")


def test_no_command_is_a_usage_error(tmp_path):
    proc = run_training(tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "COMMAND" in proc.stderr and "required" in proc.stderr
    assert not (tmp_path / "data").exists()


def test_mutual_information_cache_belongs_to_its_scorer():
    from sklearn.base import clone
    from sklearn.feature_selection import mutual_info_regression

    from training.models import memoized_mutual_info, served_model

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), rng.normal(size=60)
    score = memoized_mutual_info()
    first = score(X, y, random_state=1)
    assert score(X.copy(), y.copy(), random_state=1) is first  # remembered
    np.testing.assert_array_equal(first, mutual_info_regression(X, y, random_state=1))
    assert score(X, y, random_state=2) is not first
    assert memoized_mutual_info()(X, y, random_state=1) is not first  # another scorer, own cache
    model = served_model(k=3, seed=1, mutual_info=score)
    cloned = clone(model).regressor.named_steps["select"].score_func
    assert cloned.func is score  # clones share the tuning run's cache
    plain = served_model(k=3, seed=1).regressor.named_steps["select"].score_func
    assert plain.func is mutual_info_regression


def test_quick_run_exports_the_alternative_next_to_the_ridge_bundle(quick_run):
    from predictor.serving.model_choice import available_models

    workdir, proc = quick_run
    models = available_models(workdir / "model")
    assert set(models) == {"ridge", "boosting"}
    ridge, alternative = (
        load_bundle(models[m], trust_unpinned=True) for m in ("ridge", "boosting")
    )
    assert alternative.metadata.candidate in {"gradient_boosting", "voting"}
    assert alternative.metadata.interval["n_calibration"] == 200
    assert alternative.metadata.metrics["served"]["cv_rmse_mean"] > 0
    table = pd.read_csv(workdir / "reports" / "campaigns.csv")
    X = table[FEATURE_COLUMNS].astype(float)
    a, b = ridge.predict_points(X), alternative.predict_points(X)
    assert np.isfinite(b).all() and not np.allclose(a, b)
    # The linear model's numbers travel with it (the app's first answers); the ensemble has none.
    assert (models["ridge"] / "linear.json").is_file()
    assert not (models["boosting"] / "linear.json").exists()
    # The ensemble's trees travel with it as plain numbers (answers without skops); Ridge has none.
    assert (models["boosting"] / "trees.json").is_file()
    assert not (models["ridge"] / "trees.json").exists()
    answer = alternative.pyfunc.predict(X.head(5))
    assert {"prediction", "lower_90", "upper_90"} <= set(answer.columns)
    assert "model/alternatives/boosting" in proc.stdout  # its bars are printed too


def _reexport(tmp_path: Path, source: Path, **kwargs) -> Path:
    from training.export import save_bundle

    bundle = load_bundle(source, trust_unpinned=True)
    X = pd.read_json(source / "input_example.json", orient="split").astype(float)
    target = tmp_path / "model"
    model = bundle.pyfunc.get_raw_model()
    points = bundle.ranges.points
    save_bundle(model, X, bundle.metadata, target, "card", points=points, **kwargs)
    return target


def test_saving_the_ridge_bundle_keeps_the_alternatives(tmp_path):
    from predictor.serving.bundle import verify_manifest

    target = tmp_path / "model"
    (target / "alternatives" / "boosting").mkdir(parents=True)
    (target / "alternatives" / "boosting" / "MLmodel").write_text("kept\n")
    (target / "stale.txt").write_text("replaced with the bundle\n")
    _reexport(tmp_path, REPO / "model")
    assert (target / "alternatives" / "boosting" / "MLmodel").read_text() == "kept\n"
    assert not (target / "stale.txt").exists()
    verify_manifest(target)


def test_a_model_with_types_not_listed_is_refused(tmp_path):
    from mlflow.exceptions import MlflowException

    from training.export import SKOPS_TRUSTED_TYPES

    with pytest.raises(MlflowException, match=r"untrusted types.*sklearn\.tree\._tree\.Tree"):
        _reexport(
            tmp_path,
            REPO / "model" / "alternatives" / "boosting",
            trusted_types=SKOPS_TRUSTED_TYPES,
        )
    assert not (tmp_path / "model").exists() and not (tmp_path / "model.staging").exists()
