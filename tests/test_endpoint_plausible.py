"""Implausible endpoint answers are endpoint failures: the local model answers, with a notice.

A real ``mlflow models serve`` of a model that answers the issue's cases (1e15 purchases, -1e9,
a range of 0 to 1e12, a range that leaves out its point), then a loopback workspace for batches,
the band's edges, the breaker and the page.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gradio_client import Client

import app
from predictor import ImplausibleAnswerError, Predictor
from predictor.contract.features import FEATURE_COLUMNS
from predictor.contract.plan import PLAN_FIELDS
from predictor.serving.plausibility import FACTOR, check_plausible, plausible_band
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR, TOKEN, free_port
from tests.support.endpoint import FakeWorkspace
from tests.support.predictor import APP_PLAN, mlflow_server
from ui import build_demo

IMPLAUSIBLE = "Databricks endpoint gave an implausible answer ("
LEVELS = ("80", "90", "95")


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def local() -> Predictor:
    return Predictor(PredictorConfig(), model_dir=MODEL_DIR)


@pytest.fixture(scope="module")
def workspace() -> Iterator[FakeWorkspace]:
    with FakeWorkspace(token=TOKEN) as server:
        yield server


def remote(url: str, **extra: str) -> Predictor:
    return Predictor.from_env(
        MODEL_DIR, environ={"DATABRICKS_TOKEN": TOKEN, "DATABRICKS_ENDPOINT_URL": url, **extra}
    )


def records(points: list[float], lower: list[float], upper: list[float]) -> dict:
    """An answer with ``prediction`` and the same range at every level."""
    return {
        "predictions": [
            {
                "prediction": p,
                **{f"lower_{k}": lo for k in LEVELS},
                **{f"upper_{k}": up for k in LEVELS},
            }
            for p, lo, up in zip(points, lower, upper, strict=True)
        ]
    }


# -- a real scoring server answering the issue's cases ---------------------------------------------

MODEL_CODE = """
import mlflow
import numpy as np
import pandas as pd

# By start month: 1 -> 1e15 purchases, 2 -> -1e9, 3 -> a range of 0 to 1e12,
# 4 -> a range that leaves out its point, others -> a plausible answer.
class Odd(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        month = model_input["start_month"].to_numpy()
        point = np.select([month == 1, month == 2], [1e15, -1e9], 20.0)
        lower = np.select([month == 1, month == 4], [1e15 - 5, 30], np.where(month == 2, 0, 10))
        upper = np.select([month == 1, month == 3, month == 4], [1e15 + 5, 1e12, 40], 30)
        upper = np.where(month == 2, 0, upper)
        frame = {"prediction": point}
        for level in ("80", "90", "95"):
            frame[f"lower_{level}"] = lower.astype(np.int64)
            frame[f"upper_{level}"] = upper.astype(np.int64)
        return pd.DataFrame(frame)

mlflow.models.set_model(Odd())
"""


@pytest.fixture(scope="module")
def odd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import mlflow.pyfunc

    folder: Path = tmp_path_factory.mktemp("odd")
    code = folder / "odd_model.py"
    code.write_text(textwrap.dedent(MODEL_CODE))
    mlflow.pyfunc.save_model(
        str(folder / "model"), python_model=str(code), pip_requirements=["pandas"]
    )
    with mlflow_server(folder / "model") as url:
        yield url


@pytest.mark.parametrize(
    ("month", "says"),
    [
        (1, "1,000,000,000,000,000 purchases, where at most"),
        (2, "-1,000,000,000 purchases"),
        (3, "a range of 10–1,000,000,000,000, where at most"),
        (4, "a range of 30–40 that leaves out its answer 20"),
    ],
)
def test_the_issues_answers_fall_back_with_a_notice(odd_server, local, month, says):
    plan = APP_PLAN.replace(start_month=month)
    predictor = remote(odd_server, PREDICTOR_TIMEOUT="30")
    answer = predictor.predict(plan)
    reference = local.predict(plan)
    assert answer.backend == "local"
    assert (answer.purchases, answer.lower, answer.upper) == (
        reference.purchases,
        reference.lower,
        reference.upper,
    )
    notice = answer.notices[-1]
    assert notice.startswith(IMPLAUSIBLE) and says in notice
    assert notice.endswith("; the local model answered.")
    assert predictor.call_counts == {"databricks": 1, "local": 1}
    # The breaker is open: the next call does not go out.
    again = predictor.predict(APP_PLAN.replace(start_month=6))
    assert again.backend == "local" and "(implausible answer)" in again.notices[-1]


def test_a_plausible_answer_from_the_same_server_is_served(odd_server, local):
    plan = APP_PLAN.replace(start_month=6)
    answer = remote(odd_server, PREDICTOR_TIMEOUT="30").predict(plan)
    assert answer.backend == "databricks" and (answer.purchases, answer.lower, answer.upper) == (
        20,
        10,
        30,
    )


def test_with_the_endpoint_required_it_is_a_typed_error(odd_server):
    predictor = remote(odd_server, PREDICTOR_TIMEOUT="30", PREDICTOR_BACKEND="databricks")
    with pytest.raises(ImplausibleAnswerError, match=r"1e\+15 purchases, above the plausible"):
        predictor.predict(APP_PLAN.replace(start_month=1))


# -- the band's edges, over a loopback workspace ---------------------------------------------------


def local_frame(local: Predictor, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    plans = pd.DataFrame(
        [APP_PLAN.replace(total_budget=float(b)).to_features() for b in rng.uniform(6e3, 1e5, n)],
        columns=FEATURE_COLUMNS,
    )
    return plans, local.predict_frame(plans, 0.95)


def test_one_implausible_row_sends_the_whole_batch_to_the_local_model(workspace, local):
    plans, reference = local_frame(local, 5)
    points = reference["prediction"].tolist()
    points[2] = FACTOR * max(reference["upper"].iloc[2], 10) + 1  # just above the band
    workspace.answer({"predictions": points})
    result = remote(workspace.url()).predict_frame(plans)
    assert result.attrs["backend"] == "local"
    assert result["prediction"].tolist() == local.predict_frame(plans)["prediction"].tolist()
    notice = result.attrs["notices"][-1]
    assert notice.startswith(f"{IMPLAUSIBLE}row 3 of 5: ")


def test_answers_inside_the_band_are_the_endpoints(workspace, local):
    plans, reference = local_frame(local, 4)
    width = (reference["upper"] - reference["lower"]).to_numpy(dtype=float)
    high = FACTOR * np.maximum(reference["upper"].to_numpy(dtype=float), 10)
    # A retrained model may well differ: three times the local answer, the band's very top,
    # a little below zero (shown as 0), and the local answer itself.
    points = [
        3 * reference["prediction"].iloc[0],
        high[1],
        -0.5 * width[2],
        reference["prediction"].iloc[3],
    ]
    workspace.answer({"predictions": points})
    result = remote(workspace.url()).predict_frame(plans)
    assert result.attrs["backend"] == "databricks"
    assert result["prediction"].tolist() == pytest.approx([max(p, 0) for p in points])


def test_the_band_rule_on_tiny_inputs():
    band = plausible_band(np.array([-0.7, 40.0]), np.array([0, 25]), np.array([3, 60]))
    assert band.low.tolist() == [-0.7 - 3, -35.0] and band.high.tolist() == [100.0, 600.0]
    check_plausible(np.array([-0.7, 40.0]), (np.array([0, 25]), np.array([3, 60])), band)
    check_plausible(np.array([-3.7, 600.0]), None, band)  # the edges are inside
    for raw, bounds, text in [
        ([-3.8, 40.0], None, "row 1 of 2: -3.8 purchases, below the plausible -3.7"),
        ([0.0, 600.1], None, "row 2 of 2: 600.1 purchases, above the plausible 600"),
        ([0.0, 40.0], ([0, 25], [3, 601]), "row 2 of 2: a range of 25-601, above"),
        ([2.6, 40.0], ([0, 25], [2, 60]), "row 1 of 2: a range of 0-2 without its answer 3"),
    ]:
        arrays = None if bounds is None else (np.array(bounds[0]), np.array(bounds[1]))
        with pytest.raises(ImplausibleAnswerError, match=text.replace("+", r"\+")):
            check_plausible(np.array(raw), arrays, band)


# -- on the page -----------------------------------------------------------------------------------


def test_the_page_shows_the_local_answer_and_says_why(workspace, local):
    predictor = remote(workspace.url())
    demo = build_demo(predictor)
    port = free_port()
    app.launch(
        demo, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        workspace.answer(records([1e15], [0], [2e15]))
        client = Client(url, verbose=False, analytics_enabled=False)
        values = {f: getattr(APP_PLAN, f) for f in PLAN_FIELDS}
        card, notes, record = client.predict(**values, api_name="/predict")
    finally:
        demo.close()
    reference = local.predict(APP_PLAN)
    assert record["backend"] == "local" and record["purchases"] == reference.purchases
    assert f"{reference.purchases:,}" in card and "1,000,000,000,000,000" not in card
    assert "The online model's answer was far outside what is plausible" in notes
    assert any(
        n.startswith(f"{IMPLAUSIBLE}1,000,000,000,000,000 purchases") for n in record["notices"]
    )
