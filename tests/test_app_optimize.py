"""Find the best plan through the app's API and the command line: the same answers as Python,
and bad input answered with a message that names the field, never a server error."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from gradio_client import Client
from gradio_client.exceptions import AppError

from predictor import CampaignPlan, Predictor
from predictor.__main__ import main
from predictor.planning.optimize import optimize
from ui.common import DEFAULT_PLAN
from ui.optimize import TABLE_HEADERS, bounds_from_table, empty_table, use_plan

PLAN: dict[str, Any] = dict(DEFAULT_PLAN)
BOUNDS = {"instagram_ads": {"max_share": 60}, "total_budget": {"max": 80_000}}
CHANGE = ["platform", "format", "budget"]


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    return Client(app_url, verbose=False, analytics_enabled=False)


def _python(predictor: Predictor, goal: str = "most_purchases", **kwargs: Any):
    return optimize(predictor, CampaignPlan(**PLAN), goal, CHANGE, BOUNDS, 0.9, **kwargs)


def test_api_python_and_command_line_give_the_same_plan(
    client: Client, app_predictor: Predictor, tmp_path, capsys, monkeypatch
) -> None:
    html, data = client.predict(
        **PLAN, goal="most_purchases", change=CHANGE, bounds=BOUNDS, api_name="/optimize"
    )
    expected = _python(app_predictor)
    assert data["best"] == expected.to_dict()["best"]
    assert data["limits"] == list(expected.limits) and data["gain"] == expected.gain
    assert "Use this plan" not in html and "The best plan in full" in html
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(PLAN))
    monkeypatch.delenv("DATABRICKS_ENDPOINT_URL", raising=False)
    where = ["--model-dir", str(app_predictor.model_dir), "--json"]
    change = ["--change", ",".join(CHANGE), "--bounds", json.dumps(BOUNDS)]
    code = main(["optimize", "--plan", str(plan_file), *change, *where])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["best"] == data["best"]


def test_the_page_table_and_the_api_object_mean_the_same(client: Client) -> None:
    table = {
        "headers": TABLE_HEADERS,
        "data": [
            ["Instagram ads", None, None, None, 60],
            ["Total budget", None, 80_000, None, None],
        ],
    }
    _, from_table = client.predict(**PLAN, change=CHANGE, bounds=table, api_name="/optimize")
    _, from_object = client.predict(**PLAN, change=CHANGE, bounds=BOUNDS, api_name="/optimize")
    assert from_table["best"] == from_object["best"]


def test_every_goal_answers_through_the_api(client: Client, app_predictor: Predictor) -> None:
    for goal, extra in (
        ("careful", {}),
        ("least_budget", {"target_purchases": 40}),
        ("within_cost", {"max_cost_per_purchase": 900}),
        ("within_cost", {"min_roas": 2, "average_order_value": 1_800}),
    ):
        _, data = client.predict(
            **PLAN, goal=goal, change=CHANGE, bounds=BOUNDS, api_name="/optimize", **extra
        )
        assert data["status"] in ("found", "already_best", "out_of_reach")
        python = {"target_purchases": extra.get("target_purchases")}
        python |= {
            k: extra.get(k) for k in ("max_cost_per_purchase", "min_roas", "average_order_value")
        }
        assert data["best"] == _python(app_predictor, goal, **python).to_dict()["best"]


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({"bounds": {"instagram_ads": {"min": 3, "max": 1}}}, "Instagram ads: the lower bound 3"),
        ({"bounds": {"stories_ads": {"min": -2}}}, "Stories ads: the min bound -2 is negative"),
        ({"bounds": {"instagram_ads": {"max_share": 150}}}, "a share of 150% is above 100%"),
        ({"bounds": {"total_budget": {"max": 1_000}}}, "below the smallest budget in the training"),
        ({"bounds": {"tiktok_ads": {"max": 1}}}, "'tiktok_ads' is not a plan field"),
        (
            {
                "bounds": {
                    "headers": TABLE_HEADERS,
                    "data": [["TikTok ads", 1, 2, None, None]],
                }
            },
            "Bounds: 'TikTok ads' is not a plan field",
        ),
        ({"bounds": "not json"}, "Bounds: give a JSON object"),
        ({"goal": "within_cost"}, "give a maximum cost per purchase"),
    ],
)
def test_bad_input_names_the_field(client: Client, inputs: dict, words: str) -> None:
    with pytest.raises(AppError) as info:
        client.predict(**PLAN, change=CHANGE, api_name="/optimize", **inputs)
    assert words in str(info.value)


def test_an_unknown_group_through_rest_is_a_message_not_a_5xx(app_url: str) -> None:
    info = requests.get(f"{app_url}gradio_api/info", timeout=30).json()
    params = [p["parameter_name"] for p in info["named_endpoints"]["/optimize"]["parameters"]]
    values = {**PLAN, "level": 0.9, "model": "ridge", "goal": "most_purchases"}
    values |= {"change": ["platform", "tiktok"], "bounds": None}
    data = [values.get(p) for p in params]
    start = requests.post(f"{app_url}gradio_api/call/optimize", json={"data": data}, timeout=30)
    assert start.status_code == 200
    stream = requests.get(
        f"{app_url}gradio_api/call/optimize/{start.json()['event_id']}", timeout=60
    )
    assert stream.status_code == 200
    assert "event: error" in stream.text
    assert "change: 'tiktok' is not something that can change" in stream.text
    assert "Traceback" not in stream.text


def test_table_parsing_and_use_plan() -> None:
    table = empty_table()
    assert len(table) == 18 and list(table.columns) == TABLE_HEADERS
    table.iloc[6, 4] = 60  # Instagram ads, Max %
    assert bounds_from_table(table) == {"instagram_ads": {"max_share": 60}}
    assert bounds_from_table(None) == {}
    with pytest.raises(Exception, match="Find a plan first"):
        use_plan(None)
    assert use_plan({"best": {"plan": PLAN}}) == list(PLAN.values())


def test_the_api_page_example_works_as_copied(client: Client, app_url: str) -> None:
    info = requests.get(f"{app_url}gradio_api/info", timeout=30).json()
    params = info["named_endpoints"]["/optimize"]["parameters"]
    example = {p["parameter_name"]: p["example_input"] for p in params}
    assert example["bounds"] == {"total_budget": {"max": 80_000}}
    assert example["change"] == ["platform", "format"]
    _, data = client.predict(**example, api_name="/optimize")
    assert data["status"] in ("found", "already_best")
