"""The app's anonymous scenario log, its dashboard, the model choice, and a full queue."""

from __future__ import annotations

import concurrent.futures
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from gradio_client import Client
from gradio_client.exceptions import AppError

import app
from predictor import CampaignPlan, Predictor
from predictor.contract.plan import PLAN_FIELDS
from predictor.record.scenario_log import ScenarioLog
from predictor.serving.model_choice import display_names
from tests.support.common import APP_MODEL_DIR, free_port
from ui import build_demo
from ui.common import DEFAULT_PLAN

PLAN: dict[str, Any] = dict(DEFAULT_PLAN)


def logged(app_log: ScenarioLog) -> pd.DataFrame:
    assert app_log.flush(timeout=10)
    return app_log.read_frame()


def test_each_prediction_is_logged_without_who_made_it(
    client: Client, app_log: ScenarioLog
) -> None:
    before = len(logged(app_log))
    budget = 31_234
    record = client.predict(**{**PLAN, "total_budget": budget}, api_name="/predict")[2]
    frame = logged(app_log)
    assert len(frame) == before + 1
    row = frame.iloc[-1]
    assert row["total_budget"] == budget
    assert (row["purchases"], row["lower"], row["upper"]) == (
        record["purchases"],
        record["lower"],
        record["upper"],
    )
    assert row["model"] == "ridge" and row["backend"] == "local"
    assert pd.isna(row["scenario_name"])
    columns = {c.lower() for c in frame.columns}
    assert not columns & {"ip", "ip_address", "user_agent", "session", "host"}


def test_saved_scenarios_are_logged_with_their_name(client: Client, app_log: ScenarioLog) -> None:
    session = Client(client.src, verbose=False, analytics_enabled=False)
    session.predict("Spring test", **PLAN, api_name="/save_scenario")
    row = logged(app_log).iloc[-1]
    assert row["scenario_name"] == "Spring test"


def test_dashboard_shows_the_logged_plans(client: Client, app_log: ScenarioLog) -> None:
    for budget in (5_500, 5_500, 77_000):
        client.predict(**{**PLAN, "total_budget": budget}, api_name="/predict")
    total = len(logged(app_log))
    summary, common, budgets, purchases, over_time, csv_path = client.predict(api_name="/dashboard")
    assert f"{total:,} predictions" in summary
    common = pd.DataFrame(common["data"], columns=common["headers"])
    assert common["Predictions"].sum() <= total and common["Predictions"].iloc[0] >= 2
    budget_bins = pd.DataFrame(budgets["data"], columns=budgets["columns"])
    assert budget_bins["count"].sum() == total
    answers = pd.DataFrame(purchases["data"], columns=purchases["columns"])
    assert answers["count"].sum() == total
    days = pd.DataFrame(over_time["data"], columns=over_time["columns"])
    assert days["predictions"].sum() == total
    csv = pd.read_csv(csv_path)
    assert len(csv) == total and 77_000 in set(csv["total_budget"])


def test_an_unknown_model_is_refused(client: Client) -> None:
    with pytest.raises(
        AppError, match=r"Model is 'gbm', which is not one of the choices: 'ridge'\."
    ):
        client.predict(**PLAN, model="gbm", api_name="/predict")


def test_two_models_answer_side_by_side(
    two_models: tuple[str, Predictor], app_predictor: Predictor
) -> None:
    url, boosting = two_models
    client = Client(url, verbose=False, analytics_enabled=False)
    card, _, record = client.predict(**PLAN, model="boosting", api_name="/predict")
    expected = boosting.predict(CampaignPlan(**PLAN), 0.9)
    assert (record["purchases"], record["lower"], record["upper"]) == (
        expected.purchases,
        expected.lower,
        expected.upper,
    )
    assert record["model"] == "boosting"
    assert "the model built into this app: Voting ensemble (Ridge" in card
    ridge = client.predict(**PLAN, api_name="/predict")[2]
    assert ridge["model"] == "ridge"
    assert ridge["purchases"] == app_predictor.predict(CampaignPlan(**PLAN), 0.9).purchases
    saved = client.predict("A", **PLAN, model="ridge", api_name="/save_scenario")[3]
    table = client.predict(
        "B", **PLAN, scenarios=saved, model="boosting", api_name="/save_scenario"
    )[0]
    rows = {row[0]: row[1:] for row in table["data"]}
    # The names the page uses, not the models' keys.
    labels = display_names(APP_MODEL_DIR)
    assert rows["Model"] == [labels["ridge"], labels["boosting"]]
    first, second = rows["Predicted purchases"]
    assert first == f"{ridge['purchases']:,}"
    assert second.startswith(f"{expected.purchases:,} (")


class SlowPredictor(Predictor):
    """The bundled predictor, taking a second per answer: enough to fill a small queue."""

    def predict(self, plan: CampaignPlan, level: float = 0.9):  # type: ignore[override]
        time.sleep(1.0)
        return super().predict(plan, level)


def test_a_full_queue_answers_busy_not_a_server_error(app_predictor: Predictor) -> None:
    demo = build_demo(SlowPredictor(app_predictor.config, app_predictor.model_dir))
    port = free_port()
    app.launch(
        demo,
        concurrency_limit=1,
        queue_max_size=1,
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
    )
    url = f"http://127.0.0.1:{port}/gradio_api/queue/join"
    fn_index = next(i for i, f in demo.fns.items() if f.api_name == "predict")
    data = [*(PLAN[f] for f in PLAN_FIELDS), 0.9, "ridge"]

    def join(i: int) -> requests.Response:
        body = {"data": data, "fn_index": fn_index, "session_hash": f"s{i}", "event_data": None}
        return requests.post(url, json=body, timeout=30)

    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(join, range(8)))
    finally:
        demo.close()
    codes = [a.status_code for a in answers]
    assert all(code < 500 for code in codes), codes
    busy = [a for a in answers if a.status_code == 429]
    assert busy and 200 in codes
    assert busy[0].json()["detail"] == app.BUSY_MESSAGE
    assert busy[0].headers["Retry-After"] == str(app.BUSY_RETRY_SECONDS)


def test_other_visitors_never_see_a_scenario_name(client: Client, app_log: ScenarioLog) -> None:
    secret = "Anna Quist's launch for ACME"
    Client(client.src, verbose=False, analytics_enabled=False).predict(
        secret, **PLAN, scenarios=[], api_name="/save_scenario"
    )
    assert secret in set(logged(app_log)["scenario_name"])  # kept in the private store
    visitor = Client(client.src, verbose=False, analytics_enabled=False)
    *shown, csv_path = visitor.predict(api_name="/dashboard")
    text = Path(csv_path).read_text(encoding="utf-8")
    assert "Anna" not in text and "Anna" not in json.dumps(shown)
    csv = pd.read_csv(csv_path)
    assert "scenario_name" not in csv and bool(csv["saved_as_scenario"].iloc[-1]) is True
    page = requests.get(f"{client.src}config", timeout=30).text
    assert "never its name" in page
