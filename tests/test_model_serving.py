"""The interval travels with the model: ``mlflow models serve`` answers each prediction with its range.

A real scoring server on loopback serves (a) the committed bundle, whose ranges the predictor
uses as sent, and (b) an older model that answers numbers only, for which the predictor uses the
local calibration and says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import requests

from predictor import FEATURE_COLUMNS, BadResponseError, CampaignPlan, Predictor
from predictor.serving.bundle import load_bundle, write_manifest
from predictor.serving.endpoint_answers import endpoint_answer, notice_local_range
from predictor.serving.model_code.interval import interval_bounds
from predictor.serving.model_code.pyfunc import bound_columns, interval_frame
from predictor.serving.settings import PredictorConfig, load_config
from tests.support.common import MODEL_DIR, TOKEN
from tests.support.predictor import copy_bundle, mlflow_server, rows_in_range, trusted_config

LEVELS = (0.8, 0.9, 0.95)
BOUNDS = [c for level in LEVELS for c in bound_columns(level)]


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    """No developer secrets.toml is read."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(MODEL_DIR)


@pytest.fixture(scope="module")
def served_bundle():
    with mlflow_server(MODEL_DIR) as url:
        yield url


@pytest.fixture(scope="module")
def served_numbers_only(tmp_path_factory, bundle):
    """The same pipeline saved as MLflow's plain scikit-learn model: it answers numbers only."""
    import mlflow.sklearn

    from training.export import SKOPS_TRUSTED_TYPES

    path = tmp_path_factory.mktemp("older") / "model"
    mlflow.sklearn.save_model(
        bundle.pyfunc.get_raw_model(),
        str(path),
        serialization_format="skops",
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
    )
    with mlflow_server(path) as url:
        yield url


def remote_predictor(url: str, model_dir=MODEL_DIR) -> Predictor:
    # The trust setting lets it use a bundle a test made (a pinned one is served either way).
    environ = {
        "PREDICTOR_TRUST_BUNDLE": "1",
        "DATABRICKS_TOKEN": TOKEN,
        "DATABRICKS_ENDPOINT_URL": url,
        "PREDICTOR_BACKEND": "databricks",
        "PREDICTOR_TIMEOUT": "10",
    }
    return Predictor(load_config(environ), model_dir=model_dir)


def test_the_served_bundle_answers_points_and_ranges(served_bundle, bundle):
    frame = rows_in_range(bundle.metadata.training_range, 25, seed=3)
    body = {"dataframe_split": {"columns": FEATURE_COLUMNS, "data": frame.to_numpy().tolist()}}
    response = requests.post(served_bundle, json=body, timeout=30)
    assert response.status_code == 200
    records = response.json()["predictions"]
    assert len(records) == 25
    assert all(set(r) == {"prediction", *BOUNDS} for r in records)
    answer = pd.DataFrame.from_records(records)
    expected = interval_frame(
        bundle.predict_points(frame), bundle.metadata.interval, frame, bundle.ranges.points
    )
    np.testing.assert_allclose(answer["prediction"], expected["prediction"], rtol=0, atol=1e-9)
    assert (answer[BOUNDS].to_numpy() == expected[BOUNDS].to_numpy()).all()
    assert all(float(v).is_integer() for r in records for k, v in r.items() if k != "prediction")


def test_the_predictor_uses_the_range_the_endpoint_sends(served_bundle, bundle, tmp_path):
    # A local bundle with a twice-as-wide 90% calibration: if the remote range were recomputed
    # locally, it would differ from the served bundle's.
    from mlflow.models import Model

    wider = copy_bundle(tmp_path / "wider")
    mlmodel = Model.load(str(wider / "MLmodel"))
    mlmodel.metadata["interval"]["quantiles"]["0.9"] *= 2
    mlmodel.save(str(wider / "MLmodel"))
    write_manifest(wider)

    frame = rows_in_range(bundle.metadata.training_range, 40, seed=3)
    local = Predictor(PredictorConfig(), model_dir=MODEL_DIR)
    remote = remote_predictor(served_bundle, model_dir=wider)
    for level in LEVELS:
        served = remote.predict_frame(frame, level=level)
        own = local.predict_frame(frame, level=level)
        assert served.attrs["backend"] == "databricks"
        assert not any("range comes from" in n for n in served.attrs["notices"])
        np.testing.assert_allclose(served["prediction"], own["prediction"], rtol=0, atol=1e-9)
        assert served[["lower", "upper"]].equals(own[["lower", "upper"]])
    wide = Predictor(trusted_config(), model_dir=wider).predict_frame(frame, level=0.9)
    assert (wide["upper"] - wide["lower"]).sum() > (own["upper"] - own["lower"]).sum()


def test_an_older_numbers_only_model_gets_the_local_range_and_says_so(served_numbers_only, bundle):
    response = requests.post(
        served_numbers_only,
        json={"dataframe_split": {"columns": FEATURE_COLUMNS, "data": [[1.0] * 19]}},
        timeout=30,
    )
    assert isinstance(response.json()["predictions"][0], float)  # numbers only, truly

    frame = rows_in_range(bundle.metadata.training_range, 30, seed=3)
    local = Predictor(PredictorConfig(), model_dir=MODEL_DIR)
    remote = remote_predictor(served_numbers_only)
    for level in (0.8, 0.95):
        served = remote.predict_frame(frame, level=level)
        own = local.predict_frame(frame, level=level)
        assert served.attrs["backend"] == "databricks"
        assert notice_local_range(level) in served.attrs["notices"]
        np.testing.assert_allclose(served["prediction"], own["prediction"], rtol=0, atol=1e-9)
        assert served[["lower", "upper"]].equals(own[["lower", "upper"]])
    plan = CampaignPlan(
        duration_days=30, total_budget=9000, start_month=3, num_unique_interests=2, total_ads=2
    )
    answer, reference = remote.predict(plan), local.predict(plan)
    assert (answer.lower, answer.upper) == (reference.lower, reference.upper)
    assert answer.notices[-1] == notice_local_range(0.9)


# -- the pieces, on tiny inputs -------------------------------------------------------------------

CALIBRATION = {"scale": {"offset": 1.0, "power": 0.0}, "quantiles": {"0.8": 1.0, "0.9": 2.5}}


def test_bound_column_names():
    assert bound_columns(0.9) == ("lower_90", "upper_90")
    assert bound_columns(0.8) == ("lower_80", "upper_80")
    assert bound_columns(0.95) == ("lower_95", "upper_95")
    assert bound_columns(0.975) == ("lower_97_5", "upper_97_5")


def test_interval_frame_holds_every_calibrated_level():
    frame = interval_frame(np.array([10.2, 0.4]), CALIBRATION)
    assert list(frame.columns) == ["prediction", "lower_80", "upper_80", "lower_90", "upper_90"]
    assert frame["prediction"].tolist() == [10.2, 0.4]
    assert frame[["lower_90", "upper_90"]].to_numpy().tolist() == [[8, 12], [0, 2]]
    lower, upper = interval_bounds(np.array([10.2, 0.4]), CALIBRATION, 0.8)
    assert frame["lower_80"].tolist() == lower.tolist()
    assert frame["upper_80"].tolist() == upper.tolist()


def test_endpoint_answer_reads_numbers_and_frames():
    raw, bounds = endpoint_answer(np.array([1.5, 2.0]), 2, 0.9)
    assert raw.tolist() == [1.5, 2.0] and bounds is None
    frame = pd.DataFrame({"prediction": [1.5, 9.0], "lower_90": [0, 5], "upper_90": [4, 14]})
    raw, bounds = endpoint_answer(frame, 2, 0.9)
    assert raw.tolist() == [1.5, 9.0]
    assert bounds[0].tolist() == [0, 5] and bounds[1].tolist() == [4, 14]
    assert bounds[0].dtype == np.int64
    raw, bounds = endpoint_answer(frame, 2, 0.8)  # no 80% range sent
    assert bounds is None


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (pd.DataFrame({"value": [1.0]}), "no 'prediction' column"),
        (pd.DataFrame({"prediction": [1.0], "lower_90": [3], "upper_90": [2]}), "range"),
        (pd.DataFrame({"prediction": [1.0], "lower_90": [0.5], "upper_90": [2]}), "range"),
        (pd.DataFrame({"prediction": [1.0], "lower_90": [-1], "upper_90": [2]}), "range"),
        (pd.DataFrame({"prediction": [np.nan], "lower_90": [0], "upper_90": [2]}), "non-finite"),
        (np.array([1.0, 2.0]), "2 predictions for 1 rows"),
        (np.array(["a"]), "not numbers"),
    ],
)
def test_endpoint_answer_refuses_what_it_cannot_trust(answer, message):
    with pytest.raises(BadResponseError, match=message):
        endpoint_answer(answer, 1, 0.9)
