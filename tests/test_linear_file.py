"""The Ridge bundle answers from its plain numbers before its model loads, and only while they
give the model's own answers."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from predictor import Predictor
from predictor.serving.bundle import BundleError, load_bundle, write_manifest
from predictor.serving.linear_file import LINEAR_FILE, LinearFileError, LinearPoints
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR, REPO
from tests.support.predictor import APP_PLAN, copy_bundle, rows_in_range, trusted_config

RECORD = json.loads((MODEL_DIR / LINEAR_FILE).read_text(encoding="utf-8"))


def test_the_numbers_give_the_models_own_answers_across_the_training_range():
    bundle = load_bundle(MODEL_DIR)
    rows = rows_in_range(bundle.metadata.training_range, 2_000, seed=4)
    ours = LinearPoints.from_record(RECORD)(rows)
    assert ours == pytest.approx(bundle.predict_points(rows), rel=1e-9, abs=1e-9)


def test_a_tiny_model_by_hand():
    points = LinearPoints.from_record(
        {
            "columns": ["a", "b"],
            "logged": [True, False],
            "mean": [0.0, 1.0],
            "scale": [1.0, 2.0],
            "weights": [1.0, 0.5],
            "intercept": 0.25,
        }
    )
    rows = pd.DataFrame({"b": [3.0], "a": [np.e - 1]})
    # log1p(e - 1) = 1; (3 - 1) / 2 = 1; 0.25 + 1 + 0.5 = 1.75
    assert points(rows) == pytest.approx([np.expm1(1.75)])
    assert list(rows["a"]) == [np.e - 1]  # the caller's table is left as it was


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"weights": [1.0]}, "do not match its columns"),
        ({"scale": [0.0] * len(RECORD["columns"])}, "above 0"),
        ({"intercept": float("nan")}, "not finite"),
        ({"columns": None}, "incomplete"),
    ],
)
def test_a_bad_record_is_refused(change, words):
    with pytest.raises(LinearFileError, match=words):
        LinearPoints.from_record({**RECORD, **change})


def test_the_first_answer_needs_neither_scikit_learn_nor_skops():
    code = (
        "import sys; from predictor import CampaignPlan, Predictor\n"
        "p = Predictor.from_env('model')\n"
        "p.load(quick=True)\n"
        "a = p.predict(CampaignPlan(duration_days=60, total_budget=50000, start_month=5,"
        " num_unique_interests=3, total_ads=4, facebook_ads=2, instagram_ads=2))\n"
        "print(a.raw, a.lower, a.upper, 'sklearn' in sys.modules, 'skops' in sys.modules)"
    )
    env = {"PREDICTOR_BACKEND": "local", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    raw, lower, upper, sklearn, skops = out.stdout.split()
    assert (sklearn, skops) == ("False", "False")
    full = Predictor(PredictorConfig(backend="local"), model_dir=MODEL_DIR)
    from predictor import CampaignPlan

    answer = full.predict(
        CampaignPlan(
            duration_days=60,
            total_budget=50000,
            start_month=5,
            num_unique_interests=3,
            total_ads=4,
            facebook_ads=2,
            instagram_ads=2,
        )
    )
    assert float(raw) == pytest.approx(answer.raw, rel=1e-9)
    assert (int(lower), int(upper)) == (answer.lower, answer.upper)


def _altered(tmp_path, record: dict):
    folder = copy_bundle(tmp_path / "model")
    (folder / LINEAR_FILE).write_text(json.dumps(record), encoding="utf-8")
    write_manifest(folder)
    return folder


def test_numbers_that_disagree_with_the_model_stop_answering_once_it_loads(tmp_path, caplog):
    wrong = {**RECORD, "intercept": RECORD["intercept"] + 0.5}
    predictor = Predictor(trusted_config(backend="local"), model_dir=_altered(tmp_path, wrong))
    predictor.load(quick=True)
    before = predictor.predict(APP_PLAN).raw
    with caplog.at_level(logging.ERROR, logger="predictor"):
        predictor.load()
    after = predictor.predict(APP_PLAN).raw
    model = Predictor(PredictorConfig(backend="local"), model_dir=MODEL_DIR).predict(APP_PLAN)
    assert after == pytest.approx(model.raw) and before != pytest.approx(model.raw)
    assert "linear.json disagrees with the model" in caplog.text


def test_an_unreadable_linear_file_is_a_bundle_error(tmp_path):
    folder = _altered(tmp_path, {**RECORD, "weights": "heavy"})
    with pytest.raises(BundleError, match=r"linear.json in .* cannot be read"):
        Predictor(trusted_config(backend="local"), model_dir=folder).load(quick=True)


def test_an_altered_linear_file_fails_the_manifest(tmp_path):
    folder = copy_bundle(tmp_path / "model")
    (folder / LINEAR_FILE).write_text(json.dumps({**RECORD, "intercept": 9.0}), encoding="utf-8")
    with pytest.raises(BundleError):
        Predictor(trusted_config(backend="local"), model_dir=folder).load(quick=True)


def test_the_first_answer_never_waits_on_the_model_loading(monkeypatch):
    """The app loads the model in the background once the first plan is asked: however the two
    meet, the first answer comes from the linear numbers without waiting for the loading."""
    import threading

    import predictor.serving.predictor as predictor_module

    loading, release, waited = threading.Event(), threading.Event(), threading.Event()

    def slow_load(*args, **kwargs):
        loading.set()
        release.wait(30)  # until the answer below is in, or 30 s if that answer waits on this
        waited.set()
        return load_bundle(*args, **kwargs)

    monkeypatch.setattr(predictor_module, "load_bundle", slow_load)
    predictor = Predictor(PredictorConfig(backend="local"), model_dir=MODEL_DIR)
    loader = threading.Thread(target=predictor.load)
    loader.start()
    try:
        assert loading.wait(60)
        # The model is loading (and holds its lock) while the first plan is asked.
        answer = predictor.predict(APP_PLAN)
        assert answer.backend == "local" and answer.lower <= answer.purchases <= answer.upper
        assert not waited.is_set(), "the first answer waited for the model to load"
    finally:
        release.set()
        loader.join(60)
    assert predictor.predict(APP_PLAN).purchases == answer.purchases
