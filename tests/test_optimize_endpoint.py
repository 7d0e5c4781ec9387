"""The optimizer through a served model: the real MLflow scoring server on loopback, standing in
for a Databricks endpoint. Every answer takes at most five requests, the range included."""

from __future__ import annotations

import pytest

from predictor import Predictor, PredictorConfig
from predictor.planning.optimize import MAX_CALLS, optimize
from predictor.planning.optimize_space import GROUPS
from predictor.serving.model_choice import available_models
from predictor.serving.settings import load_config
from tests.support.common import MODEL_DIR, TOKEN
from tests.support.predictor import APP_PLAN, mlflow_server

GOALS = ("most_purchases", "careful", "least_budget", "within_cost")
BOUNDS = {"instagram_ads": {"max_share": 60}, "total_budget": {"max": 90_000}}


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no secrets.toml of the project folder


def _remote(url: str, model_dir) -> Predictor:
    environ = {
        "DATABRICKS_ENDPOINT_URL": url,
        "DATABRICKS_TOKEN": TOKEN,
        "PREDICTOR_BACKEND": "databricks",
        "PREDICTOR_TIMEOUT": "10,60",
    }
    return Predictor(load_config(environ), model_dir=model_dir)


@pytest.mark.parametrize("model", ["ridge", "boosting"])
def test_each_goal_is_at_most_five_requests_and_answers_like_the_local_model(model: str) -> None:
    folder = available_models(MODEL_DIR)[model]
    local = Predictor(PredictorConfig(), model_dir=folder)
    with mlflow_server(folder) as url:
        remote = _remote(url, folder)
        for goal in GOALS:
            before = remote.call_counts.get("databricks", 0)
            answer = optimize(
                remote, APP_PLAN, goal, list(GROUPS), BOUNDS, max_cost_per_purchase=900
            )
            requests = remote.call_counts.get("databricks", 0) - before
            assert requests == answer.model_calls <= MAX_CALLS, (goal, requests)
            assert answer.backend == "databricks"
            same = optimize(
                local,
                APP_PLAN,
                goal,
                list(GROUPS),
                BOUNDS,
                max_cost_per_purchase=900,
                max_calls=MAX_CALLS,
            )
            # The served bundle is the local one: with the same calls, the same plan,
            # prediction and range.
            assert answer.best.plan == same.best.plan, goal
            assert (answer.best.lower, answer.best.upper) == (same.best.lower, same.best.upper)
            assert answer.method == same.method
    assert remote.call_counts.get("local", 0) == 0
