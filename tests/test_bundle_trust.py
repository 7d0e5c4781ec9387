"""A bundle folder is data, never code: the app never unpickles, never imports a bundle's code/,
loads skops with types fixed in the project, and serves only the pinned bundles unless told to.

The planted bundles are real attacks: each carries a payload that writes a marker file, and
``test_the_planted_payloads_are_live`` proves that MLflow's own loader runs them.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from predictor import FEATURE_COLUMNS, BundleError, CampaignPlan, Predictor
from predictor.serving import bundle_trust
from predictor.serving.bundle import (
    ALTERNATIVES_DIR,
    BOOSTING,
    MANIFEST_NAME,
    RIDGE,
    load_bundle,
    manifest_digest,
    verify_bundle,
    write_manifest,
)
from predictor.serving.bundle_trust import TRUST_SETTING, TRUSTED_TYPES, pinned_manifests
from predictor.serving.model_choice import available_models
from predictor.serving.settings import ConfigError, PredictorConfig, load_config
from tests.support.common import MODEL_DIR, REPO
from tests.support.predictor import copy_bundle, trusted_config

PICKLE_FLAG = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
BOOSTING_DIR = MODEL_DIR / ALTERNATIVES_DIR / BOOSTING
PLAN = CampaignPlan(
    duration_days=30, total_budget=20000, start_month=4, num_unique_interests=2, total_ads=3
)


@pytest.fixture(autouse=True)
def _clean(tmp_path, monkeypatch):
    """No developer secrets.toml, no trust setting and no pickle flag from outside."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(TRUST_SETTING, raising=False)
    monkeypatch.delenv(PICKLE_FLAG, raising=False)


# -- planted bundles -----------------------------------------------------------------------------


class _Payload:
    """Unpickling this writes ``marker``: what a planted pickle would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def _edit_mlmodel(bundle: Path, edit) -> None:
    record = yaml.safe_load((bundle / "MLmodel").read_text(encoding="utf-8"))
    edit(record)
    (bundle / "MLmodel").write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")


def plant_pickle(bundle: Path, marker: Path) -> Path:
    """Switch ``bundle`` to a cloudpickle model holding the payload; regenerate its manifest."""

    def to_pickle(record: dict) -> None:
        record["flavors"]["sklearn"]["serialization_format"] = "cloudpickle"
        record["flavors"]["sklearn"]["pickled_model"] = "model.pkl"
        record["flavors"]["sklearn"].pop("skops_trusted_types", None)
        record["flavors"]["python_function"]["data"] = "model.pkl"

    (bundle / "model.skops").unlink()
    (bundle / "model.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    _edit_mlmodel(bundle, to_pickle)
    write_manifest(bundle)
    return bundle


def plant_code(bundle: Path, marker: Path) -> Path:
    """Add a line writing ``marker`` to the bundle's own pyfunc.py; regenerate its manifest."""
    pyfunc = bundle / "code" / "campaign_model" / "pyfunc.py"
    line = f"open({str(marker)!r}, 'w').write('ran')\n"
    pyfunc.write_text(pyfunc.read_text(encoding="utf-8") + line, encoding="utf-8")
    write_manifest(bundle)
    return bundle


PLANTS = {"pickle": plant_pickle, "code": plant_code}


@pytest.mark.parametrize("trusted", [False, True], ids=["pinned-only", "trusted"])
def test_a_planted_pickle_is_refused_and_never_unpickled(tmp_path, trusted):
    marker = tmp_path / "ran-pickle"
    bundle = plant_pickle(copy_bundle(tmp_path / "model"), marker)
    predictor = Predictor(PredictorConfig(trust_bundle=trusted), model_dir=bundle)
    with pytest.raises(BundleError) as info:
        predictor.load()
    message = str(info.value)
    if trusted:
        assert "'cloudpickle'" in message and "loads only skops" in message
        assert "python -m training train" in message
    else:
        assert "not one of the bundles shipped" in message and f"{TRUST_SETTING}=1" in message
    with pytest.raises(BundleError):
        predictor.predict(PLAN)
    assert not marker.exists()
    assert PICKLE_FLAG not in os.environ


def test_a_planted_line_in_the_bundles_code_never_runs(tmp_path):
    marker = tmp_path / "ran-code"
    bundle = plant_code(copy_bundle(tmp_path / "model"), marker)
    with pytest.raises(BundleError, match="not one of the bundles shipped"):
        Predictor(PredictorConfig(), model_dir=bundle).load()
    # Even trusted on purpose, the bundle's code is ignored: the project's own code answers.
    planted = Predictor(trusted_config(), model_dir=bundle)
    planted.load()
    answer = planted.predict(PLAN)
    reference = Predictor(PredictorConfig(), model_dir=MODEL_DIR).predict(PLAN)
    assert (answer.raw, answer.lower, answer.upper) == (
        reference.raw,
        reference.lower,
        reference.upper,
    )
    assert not marker.exists()
    imported = [
        m for m in list(sys.modules.values()) if str(bundle) in str(getattr(m, "__file__", ""))
    ]
    assert imported == []
    assert not any(str(bundle) in entry for entry in sys.path)
    assert PICKLE_FLAG not in os.environ


def test_the_planted_payloads_are_live(tmp_path):
    """MLflow's loader (the model server's way, and the app's before) runs both payloads."""
    markers = {kind: tmp_path / f"ran-{kind}" for kind in PLANTS}
    bundles = {
        kind: plant(copy_bundle(tmp_path / kind), markers[kind]) for kind, plant in PLANTS.items()
    }
    code = textwrap.dedent(
        """
        import sys, mlflow.pyfunc
        for path in sys.argv[1:]:
            try:
                mlflow.pyfunc.load_model(path)
            except Exception as exc:
                print(path, type(exc).__name__, exc)
        """
    )
    out = subprocess.run(
        # The code plant first: a process imports a bundle's campaign_model only once.
        [sys.executable, "-c", code, str(bundles["code"]), str(bundles["pickle"])],
        env={**os.environ, PICKLE_FLAG: "true"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert markers["code"].exists() and markers["pickle"].exists(), out.stdout + out.stderr[-2000:]


def test_skops_types_come_from_the_project_not_from_the_bundle(tmp_path):
    """A model holding another type is refused even when its MLmodel lists the type as trusted."""
    import skops.io
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    bundle = copy_bundle(tmp_path / "model")
    pipeline = load_bundle(MODEL_DIR).pyfunc.get_raw_model()
    (bundle / "model.skops").write_bytes(
        skops.io.dumps(make_pipeline(FunctionTransformer(os.getcwd), pipeline))
    )
    untrusted = skops.io.get_untrusted_types(file=bundle / "model.skops")
    assert any("getcwd" in name for name in untrusted) and not set(untrusted) <= set(TRUSTED_TYPES)

    def trust_it(record: dict) -> None:
        record["flavors"]["sklearn"]["skops_trusted_types"] += untrusted

    _edit_mlmodel(bundle, trust_it)
    write_manifest(bundle)
    with pytest.raises(BundleError, match=r"types the app does not trust: .*getcwd"):
        load_bundle(bundle, trust_unpinned=True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["flavors"].pop("sklearn"), "no scikit-learn model saved with skops"),
        (lambda r: r["flavors"]["sklearn"].update(serialization_format="pickle"), "'pickle'"),
        (lambda r: r["flavors"]["sklearn"].update(pickled_model="../model.skops"), "model file"),
    ],
    ids=["no-sklearn-flavor", "pickle", "other-file"],
)
def test_only_the_skops_file_is_loaded(tmp_path, edit, message):
    bundle = copy_bundle(tmp_path / "model")
    _edit_mlmodel(bundle, edit)
    write_manifest(bundle)
    with pytest.raises(BundleError, match=message):
        verify_bundle(bundle, trust_unpinned=True)


# -- pins ----------------------------------------------------------------------------------------


def test_the_pins_are_the_shipped_manifests():
    shipped = available_models(REPO / "model")
    assert set(shipped) == {RIDGE, BOOSTING}
    assert pinned_manifests() == {
        name: hashlib.sha256((folder / MANIFEST_NAME).read_bytes()).hexdigest()
        for name, folder in shipped.items()
    }, "the bundles changed: if on purpose, run python -m training pin"
    assert bundle_trust.PIN_FILE.read_text() == bundle_trust.pins_text(pinned_manifests())


def test_both_shipped_bundles_load_with_the_fixed_types():
    import skops.io

    for folder in (MODEL_DIR, BOOSTING_DIR):
        found = set(skops.io.get_untrusted_types(file=folder / "model.skops"))
        assert found <= set(TRUSTED_TYPES)
        bundle = load_bundle(folder)
        frame = pd.DataFrame([PLAN.to_features()], columns=FEATURE_COLUMNS).astype(float)
        points = bundle.predict_points(frame)
        assert points.shape == (1,) and np.isfinite(points).all()
        served = bundle.pyfunc.predict(frame)
        assert served["prediction"].tolist() == points.tolist()
    found = set(skops.io.get_untrusted_types(file=BOOSTING_DIR / "model.skops"))
    assert "sklearn.tree._tree.Tree" in found  # the nonlinear bundle needs the tree types


def test_a_bundle_that_differs_from_the_pins_needs_the_setting(tmp_path, trust_bundles):
    bundle = copy_bundle(tmp_path / "model")
    assert verify_bundle(bundle) == verify_bundle(MODEL_DIR)  # a byte-identical copy is pinned
    (bundle / "README.md").write_text("A bundle retrained elsewhere.\n")
    write_manifest(bundle)  # its manifest verifies, but its digest is not pinned
    assert manifest_digest(bundle) not in pinned_manifests().values()
    for refused in (
        lambda: Predictor(PredictorConfig(), model_dir=bundle).load(),
        lambda: Predictor(PredictorConfig(), model_dir=bundle).levels,
        lambda: load_bundle(bundle),
    ):
        with pytest.raises(BundleError, match=f"{TRUST_SETTING}=1.*python -m training pin"):
            refused()
    # With the setting, from the environment (the fixture) or given directly, it is served.
    assert Predictor.from_env(bundle).predict(PLAN).backend == "local"
    assert Predictor(trusted_config(), model_dir=bundle).predict(PLAN).backend == "local"
    assert load_bundle(bundle, trust_unpinned=True).metadata == verify_bundle(MODEL_DIR)


@pytest.mark.parametrize(
    ("value", "trusted"), [("1", True), ("true", True), ("YES", True), ("0", False), ("off", False)]
)
def test_the_trust_setting_is_read_from_the_environment(value, trusted):
    assert load_config({TRUST_SETTING: value}).trust_bundle is trusted
    assert load_config({}).trust_bundle is False


def test_a_bad_trust_setting_is_refused_by_name():
    with pytest.raises(ConfigError, match=f"{TRUST_SETTING} must be 1"):
        load_config({TRUST_SETTING: "maybe"})


def test_pinning_writes_the_digests_of_the_bundles_given(tmp_path):
    from training.export import is_shipped_folder, pin_bundles

    root = copy_bundle(tmp_path / "model")
    (root / "README.md").write_text("retrained\n")
    write_manifest(root)
    pin_file = tmp_path / "bundle_pins.py"
    pins = pin_bundles(root, pin_file)
    assert pins == {RIDGE: manifest_digest(root), BOOSTING: pinned_manifests()[BOOSTING]}
    namespace: dict = {}
    exec(pin_file.read_text(), namespace)
    assert namespace["PINNED_MANIFESTS"] == pins
    assert is_shipped_folder(REPO / "model") and not is_shipped_folder(root)
    (root / "model.skops").write_bytes(b"altered")
    with pytest.raises(BundleError, match="altered"):
        pin_bundles(root, pin_file)  # a bundle that does not verify is never pinned


# -- what the app's process does -----------------------------------------------------------------


def test_a_local_load_imports_no_mlflow_and_sets_no_flag():
    code = textwrap.dedent(
        f"""
        import os, sys
        import app
        from predictor import CampaignPlan, Predictor
        from ui import build_demo
        predictors = {{name: Predictor.from_env(folder, model=name)
                       for name, folder in app.available_models({str(MODEL_DIR)!r}).items()}}
        build_demo(predictors)
        for predictor in predictors.values():
            predictor.load()
            predictor.predict(CampaignPlan(duration_days=30, total_budget=20000, start_month=4,
                                           num_unique_interests=2, total_ads=3))
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("mlflow", "campaign_model")))
        print({PICKLE_FLAG!r} in os.environ)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in (TRUST_SETTING, PICKLE_FLAG)}
    env["PREDICTOR_BACKEND"] = "local"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split("\n")[:2] == ["[]", "False"]


def test_no_serving_code_sets_the_pickle_flag():
    sources = [REPO / "app.py", *(REPO / "predictor").rglob("*.py"), *(REPO / "ui").rglob("*.py")]
    assert len(sources) > 20
    assert not [p for p in sources if PICKLE_FLAG in p.read_text(encoding="utf-8")]
