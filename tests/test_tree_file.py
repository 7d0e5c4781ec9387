"""The ensemble bundle answers from its trees as plain numbers, without skops, and only while they
give the model's own answers."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from predictor import Predictor
from predictor.serving.bundle import BundleError, load_bundle, write_manifest
from predictor.serving.settings import PredictorConfig
from predictor.serving.tree_file import TREES_FILE, TreeFileError, TreeNodes, TreePoints
from tests.support.common import MODEL_DIR, REPO
from tests.support.predictor import APP_PLAN, rows_in_range, trusted_config

ENSEMBLE_DIR = MODEL_DIR / "alternatives" / "boosting"
RECORD = json.loads((ENSEMBLE_DIR / TREES_FILE).read_text(encoding="utf-8"))

# One split: column "b" at 2.5; left leaf 10, right leaf 20 (node 0 splits, 1 and 2 are leaves).
STUMP = {
    "left": [1, -1, -1],
    "right": [2, -1, -1],
    "feature": [1, -2, -2],
    "threshold": [2.5, -2.0, -2.0],
    "value": [15.0, 10.0, 20.0],
}


def test_the_numbers_give_the_models_own_answers_across_the_training_range():
    bundle = load_bundle(ENSEMBLE_DIR)
    rows = rows_in_range(bundle.metadata.training_range, 20_000, seed=5)
    ours = TreePoints.from_record(RECORD)(rows)
    assert ours == pytest.approx(bundle.predict_points(rows), rel=1e-9, abs=1e-9)


def test_a_tiny_vote_by_hand():
    points = TreePoints.from_record(
        {
            "format": 1,
            "columns": ["a", "b"],
            "weights": [1.0, 3.0],
            "members": [
                {"kind": "boosting", "init": 1.0, "learning_rate": 0.5, "trees": [STUMP, STUMP]},
                {"kind": "forest", "trees": [STUMP, {**STUMP, "threshold": [9.0, -2.0, -2.0]}]},
            ],
        }
    )
    rows = pd.DataFrame({"b": [1.0, 5.0], "a": [0.0, 0.0]})  # columns in another order
    # Row 1 (b = 1): boosting 1 + 0.5·10 + 0.5·10 = 11; forest (10 + 10) / 2 = 10.
    # Row 2 (b = 5): boosting 1 + 0.5·20 + 0.5·20 = 21; forest (20 + 10) / 2 = 15.
    expected = [(11 + 3 * 10) / 4, (21 + 3 * 15) / 4]
    assert points(rows) == pytest.approx(expected)


def test_a_linear_member_reads_its_own_columns():
    linear = {
        "kind": "linear",
        "columns": ["b"],
        "logged": [False],
        "mean": [0.0],
        "scale": [1.0],
        "weights": [0.0],
        "intercept": float(np.log1p(4.0)),
    }
    points = TreePoints.from_record(
        {"format": 1, "columns": ["a", "b"], "weights": None, "members": [linear]}
    )
    assert points(pd.DataFrame({"a": [1.0], "b": [2.0]})) == pytest.approx([4.0])


def _tree(**change):
    return {"format": 1, "columns": ["a", "b"], "weights": None,
            "members": [{"kind": "forest", "trees": [{**STUMP, **change}]}]}  # fmt: skip


@pytest.mark.parametrize(
    ("record", "words"),
    [
        (_tree(left=[0, -1, -1]), "do not form a tree"),  # a loop back to itself
        (_tree(right=[3, -1, -1]), "do not form a tree"),  # past the end
        (_tree(left=[-1, -1, -1]), "do not form a tree"),  # a leaf with one child
        (_tree(feature=[2, -2, -2]), "do not form a tree"),  # a column the model lacks
        (_tree(feature=[-1, -2, -2]), "do not form a tree"),
        (_tree(left=[1.0, -1.0, -1.0]), "whole numbers"),
        (_tree(threshold=[float("nan"), -2.0, -2.0]), "not finite"),
        (_tree(value=[1.0, 2.0]), "different lengths"),
        (_tree(value=[]), "empty"),
        ({**_tree(), "format": 2}, "not format 1"),
        ({**_tree(), "weights": [1.0, 1.0]}, "one number"),
        ({**_tree(), "weights": [-1.0]}, "one number"),
        ({**_tree(), "members": [{"kind": "knn"}]}, "unknown member kind"),
        ({**_tree(), "members": [{"kind": "boosting", "trees": [STUMP]}]}, "init"),
        ({**_tree(), "members": []}, "no members"),
    ],
)
def test_a_bad_record_is_refused(record, words):
    with pytest.raises(TreeFileError, match=words):
        TreePoints.from_record(record)


def test_the_depth_of_a_tree():
    assert TreeNodes.from_record(STUMP, 2).depth() == 1
    chain = {
        "left": [1, 3, -1, -1, -1],
        "right": [2, 4, -1, -1, -1],
        "feature": [0, 1, -2, -2, -2],
        "threshold": [0.5, 0.5, -2.0, -2.0, -2.0],
        "value": [0.0, 0.0, 1.0, 2.0, 3.0],
    }
    assert TreeNodes.from_record(chain, 2).depth() == 2


def test_the_ensembles_batch_needs_no_skops():
    code = (
        "import sys; from predictor import Predictor\n"
        "from tests.support.predictor import rows_in_range\n"
        "p = Predictor.from_env('model/alternatives/boosting')\n"
        "p.load(quick=True)\n"
        "rows = rows_in_range(p.metadata.training_range, 50, seed=8)\n"
        "result = p.predict_frame(rows)\n"
        "print(list(result['prediction']), 'skops' in sys.modules)"
    )
    env = {"PREDICTOR_BACKEND": "local", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    values, skops = out.stdout.rsplit(" ", 1)
    assert skops.strip() == "False"
    full = Predictor(PredictorConfig(backend="local"), model_dir=ENSEMBLE_DIR)
    full.load()
    expected = full.predict_frame(rows_in_range(full.metadata.training_range, 50, seed=8))
    assert json.loads(values) == pytest.approx(list(expected["prediction"]), rel=1e-9)


def _altered(tmp_path, record: dict):
    folder = tmp_path / "boosting"
    shutil.copytree(ENSEMBLE_DIR, folder)
    (folder / TREES_FILE).write_text(json.dumps(record), encoding="utf-8")
    write_manifest(folder)
    return folder


def test_numbers_that_disagree_with_the_model_stop_answering_once_it_loads(tmp_path, caplog):
    members = [dict(m) for m in RECORD["members"]]
    boosting = next(m for m in members if m["kind"] == "boosting")
    boosting["init"] += 50.0
    folder = _altered(tmp_path, {**RECORD, "members": members})
    predictor = Predictor(trusted_config(backend="local"), model_dir=folder)
    predictor.load(quick=True)
    before = predictor.predict(APP_PLAN).raw
    with caplog.at_level(logging.ERROR, logger="predictor"):
        predictor.load()
    after = predictor.predict(APP_PLAN).raw
    model = Predictor(PredictorConfig(backend="local"), model_dir=ENSEMBLE_DIR).predict(APP_PLAN)
    assert after == pytest.approx(model.raw) and before != pytest.approx(model.raw)
    assert "trees.json disagrees with the model" in caplog.text


def test_an_unreadable_trees_file_is_a_bundle_error(tmp_path):
    folder = _altered(tmp_path, {**RECORD, "members": [{"kind": "forest", "trees": [{}]}]})
    with pytest.raises(BundleError, match=r"trees.json in .* cannot be read"):
        Predictor(trusted_config(backend="local"), model_dir=folder).load(quick=True)


def test_an_altered_trees_file_fails_the_manifest(tmp_path):
    folder = tmp_path / "boosting"
    shutil.copytree(ENSEMBLE_DIR, folder)
    (folder / TREES_FILE).write_text(json.dumps({**RECORD, "weights": [1, 1, 9]}), "utf-8")
    with pytest.raises(BundleError):
        Predictor(trusted_config(backend="local"), model_dir=folder).load(quick=True)


def test_trees_that_cannot_be_rebuilt_leave_the_answer_to_the_model(monkeypatch, caplog):
    def broken(self, n_features):
        raise ValueError("this scikit-learn stores its trees otherwise")

    monkeypatch.setattr(TreeNodes, "compiled", broken)
    predictor = Predictor(PredictorConfig(backend="local"), model_dir=ENSEMBLE_DIR)
    with caplog.at_level(logging.WARNING, logger="predictor"):
        answer = predictor.predict(APP_PLAN)
    model = load_bundle(ENSEMBLE_DIR)
    expected = model.predict_points(pd.DataFrame([APP_PLAN.to_features()]))
    assert answer.raw == pytest.approx(float(expected[0]))
    assert "trees.json is not used" in caplog.text


def test_training_writes_no_trees_file_for_a_model_it_does_not_cover(tmp_path):
    from sklearn.neighbors import KNeighborsRegressor

    from predictor.contract.features import FEATURE_COLUMNS
    from training.export import write_tree_file

    rows = rows_in_range(load_bundle(ENSEMBLE_DIR).metadata.training_range, 40, seed=1)
    model = KNeighborsRegressor(3).fit(rows, np.arange(len(rows), dtype=float))
    assert not write_tree_file(model, rows[FEATURE_COLUMNS], tmp_path)
    assert not (tmp_path / TREES_FILE).exists()


def test_the_agreement_check_spreads_a_small_example_over_its_range():
    from predictor.contract.features import FEATURE_COLUMNS
    from training.export import agreement_rows

    example = rows_in_range(load_bundle(ENSEMBLE_DIR).metadata.training_range, 3, seed=2)
    rows = agreement_rows(example)
    assert len(rows) > 50 and list(rows.columns) == FEATURE_COLUMNS
    pd.testing.assert_frame_equal(rows.head(3), example.astype(float))
    # Both ends of each column's range are among the rows, and nothing outside it.
    pd.testing.assert_series_equal(rows.min(), example.min().astype(float))
    pd.testing.assert_series_equal(rows.max(), example.max().astype(float))


def test_the_optimizer_knows_the_ensemble_without_loading_its_model():
    code = (
        "import json, sys; from predictor import CampaignPlan, Predictor\n"
        "from predictor.planning.optimize import optimize\n"
        "from tests.support.predictor import APP_PLAN\n"
        "p = Predictor.from_env('model/alternatives/boosting')\n"
        "found = optimize(p, APP_PLAN, 'most_purchases', ['platform', 'budget'])\n"
        "print(json.dumps(found.to_dict()['best']), found.method, 'skops' in sys.modules)"
    )
    env = {"PREDICTOR_BACKEND": "local", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    best, method, skops = out.stdout.rsplit(" ", 2)
    assert skops.strip() == "False"
    from predictor.planning.optimize import optimize

    loaded = Predictor(PredictorConfig(backend="local"), model_dir=ENSEMBLE_DIR)
    loaded.load()
    assert loaded.is_tree_ensemble() is False  # loaded without its plain numbers: it asks the model
    found = optimize(loaded, APP_PLAN, "most_purchases", ["platform", "budget"])
    assert (json.loads(best), method) == (found.to_dict()["best"], found.method)
    assert (
        Predictor(PredictorConfig(backend="local"), model_dir=MODEL_DIR).is_tree_ensemble() is False
    )
