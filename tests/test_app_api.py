"""The app through its HTTP API, as a gradio_client user sees it, plus its pure helpers."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest
import requests
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

import app
from predictor import FEATURE_COLUMNS, CampaignPlan, Predictor
from predictor.contract.formatting import signed
from predictor.contract.plan import MIX_FIELDS, PLAN_FIELDS
from predictor.planning.economics import campaign_economics
from tests.support.common import APP_MODEL_DIR, REPO
from ui.common import DEFAULT_PLAN
from ui.whatif import SERIES_COLORS

PLAN: dict[str, Any] = dict(DEFAULT_PLAN)


@pytest.fixture(scope="module")
def server(app_url: str) -> str:
    return app_url


@pytest.fixture(scope="module")
def predictor(app_predictor: Predictor) -> Predictor:
    return app_predictor


def call_predict(client: Client, **changes: Any) -> tuple[str, str, dict[str, Any]]:
    return client.predict(**{**PLAN, **changes}, api_name="/predict")


# -- predict -----------------------------------------------------------------------------------


def test_predict_returns_number_range_backend_and_feature_row(
    client: Client, predictor: Predictor
) -> None:
    card, notes, record = call_predict(client)
    plan = CampaignPlan(**PLAN)
    expected = predictor.predict(plan, 0.9)
    assert record["purchases"] == expected.purchases
    assert (record["lower"], record["upper"]) == (expected.lower, expected.upper)
    assert record["lower"] <= record["purchases"] <= record["upper"]
    assert record["level"] == 0.9
    assert record["backend"] == "local"
    assert list(record["features"]) == FEATURE_COLUMNS
    assert record["features"] == plan.to_features()
    assert record["range"] == f"90% range: {expected.lower:,}–{expected.upper:,}"
    assert f">{expected.purchases:,}<" in card
    assert record["range"] in card
    assert "the model built into this app" in card
    # Which model answered is on the card in plain words, not repeated as jargon in the notes.
    assert "Local model served" not in notes and "Databricks" not in notes
    assert "Local model served" in record["notices"][-1]


def test_level_changes_the_range(client: Client) -> None:
    narrow = call_predict(client, level=0.8)[2]
    wide = call_predict(client, level=0.95)[2]
    assert narrow["purchases"] == wide["purchases"]
    assert wide["lower"] <= narrow["lower"] and narrow["upper"] <= wide["upper"]
    assert wide["range"].startswith("95% range: ")


def test_zero_ads_guardrail_skips_the_model(client: Client, predictor: Predictor) -> None:
    before = predictor.call_counts
    zero_mix = {f: 0 for f in MIX_FIELDS}
    card, _, record = call_predict(client, total_ads=0, **zero_mix)
    assert predictor.call_counts == before
    assert (record["purchases"], record["lower"], record["upper"]) == (0, 0, 0)
    assert record["backend"] == "guardrail"
    assert "0–0" in card and "a plan with no ads brings no purchases" in card
    assert "guardrail" not in card
    assert any("model was not called" in n for n in record["notices"])


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"facebook_ads": 5, "instagram_ads": 2}, "Platform mix adds up to 7 ads, more than"),
        ({"image_ads": 0, "video_ads": 1}, "Format mix adds up to 3 ads, fewer than"),
        ({"all_gender_ads": 4}, "Target gender mix adds up to 6 ads, more than"),
        ({"all_age_ads": 0}, "Target age group mix adds up to 3 ads, fewer than"),
    ],
)
def test_mix_warnings(client: Client, changes: dict[str, int], expected: str) -> None:
    _, notes, record = call_predict(client, **changes)
    assert expected in notes
    assert any(expected in n for n in record["notices"])


def test_consistent_mixes_give_no_warning(client: Client) -> None:
    _, notes, _ = call_predict(client)
    assert "mix adds up" not in notes


def test_outside_training_range_warns_of_extrapolation(client: Client) -> None:
    _, notes, _ = call_predict(client, total_budget=5e6)
    assert "extrapolates" in notes


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"total_ads": -1}, ["Total ads", "-1", "at least 0"]),
        ({"total_ads": 2.5}, ["Total ads", "whole number"]),
        ({"total_budget": "abc"}, ["Total budget", "text", "enter a number"]),
        ({"total_budget": None}, ["Total budget", "empty"]),
        ({"total_budget": -100}, ["Total budget", "enter 0 or more"]),
        ({"duration_days": 0}, ["Duration (days)", "at least 1"]),
        ({"facebook_ads": -2}, ["Facebook ads", "at least 0"]),
        ({"num_unique_interests": 1.5}, ["Unique interests", "whole number"]),
        ({"level": 0.7}, ["0.7", "choices"]),
        ({"start_month": 13}, ["13", "choices"]),
    ],
)
def test_bad_input_gets_a_clear_error(client: Client, changes: dict, words: list[str]) -> None:
    with pytest.raises(AppError) as info:
        call_predict(client, **changes)
    message = str(info.value)
    for word in words:
        assert word in message
    assert "Traceback" not in message
    assert "verbose error reporting" not in message


def test_bad_input_is_an_error_event_not_an_http_500(server: str) -> None:
    values = [PLAN[f] for f in PLAN_FIELDS]
    values[PLAN_FIELDS.index("total_ads")] = -3
    post = requests.post(
        f"{server}gradio_api/call/predict", json={"data": [*values, 0.9, "ridge"]}, timeout=30
    )
    assert post.status_code == 200
    event_id = post.json()["event_id"]
    stream = requests.get(f"{server}gradio_api/call/predict/{event_id}", timeout=30)
    assert stream.status_code == 200
    assert "event: error" in stream.text
    assert "Total ads is -3" in stream.text


def test_server_keeps_answering_after_errors(client: Client) -> None:
    with pytest.raises(AppError):
        call_predict(client, total_ads="many")
    assert call_predict(client)[2]["backend"] == "local"


# -- curves ------------------------------------------------------------------------------------


def test_curves_are_one_model_call_each_and_mark_the_plan(
    client: Client, predictor: Predictor
) -> None:
    record = call_predict(client)[2]
    before = predictor.call_counts.get("local", 0)
    budget_plot, ads_plot, notes, table = client.predict(**PLAN, level=0.9, api_name="/curves")
    assert predictor.call_counts.get("local", 0) - before == 2
    assert "held at your plan" in notes
    frame = pd.DataFrame(table["data"], columns=table["headers"])
    budget = frame[frame["curve"] == "Total budget"]
    assert budget["x"].min() == 0
    assert budget["x"].max() == pytest.approx(2 * PLAN["total_budget"])
    assert budget["x"].is_monotonic_increasing and len(budget) >= 20
    at_plan = budget[budget["x"] == PLAN["total_budget"]].iloc[0]
    assert at_plan["prediction"] == pytest.approx(max(record["raw"], 0), abs=0.01)
    assert (at_plan["lower"], at_plan["upper"]) == (record["lower"], record["upper"])
    assert (budget["lower"] <= budget["prediction"] + 1).all()
    ads = frame[frame["curve"] == "Number of ads"]
    assert ads["x"].min() == 0 and ads["x"].max() >= 2 * PLAN["total_ads"]
    assert ads[ads["x"] == 0]["prediction"].iloc[0] == 0
    at_plan = ads[ads["x"] == PLAN["total_ads"]].iloc[0]
    assert at_plan["prediction"] == pytest.approx(max(record["raw"], 0), abs=0.01)

    # The charts carry the same curves, the band's bounds and a vertical line at the plan.
    for plot, x, curve, scale in (
        (budget_plot, "budget_thousands", budget, 1000),
        (ads_plot, "total_ads", ads, 1),
    ):
        assert plot["mark"] == "line"
        assert plot["columns"] == [x, "purchases", "Line"]
        assert plot["datatypes"] == {
            x: "quantitative",
            "purchases": "quantitative",
            "Line": "nominal",
        }
        chart = pd.DataFrame(plot["data"], columns=plot["columns"])
        predicted = chart[chart["Line"].isin(["predicted purchases", "predicted, beyond the data"])]
        predicted = predicted.drop_duplicates(x).sort_values(x)
        assert list(predicted[x] * scale) == pytest.approx(list(curve["x"]))
        assert list(predicted["purchases"]) == pytest.approx(list(curve["prediction"]), abs=0.06)
        for series, column in (
            ("lower end of the 90% range", "lower"),
            ("upper end of the 90% range", "upper"),
        ):
            line = chart[chart["Line"] == series]
            assert list(line[x] * scale) == pytest.approx(list(curve["x"]))
            assert list(line["purchases"]) == pytest.approx(list(curve[column]), abs=0.06)
        plan_line = chart[chart["Line"] == "your plan"]
        field = "total_budget" if scale == 1000 else x
        assert set(plan_line[x] * scale) == {PLAN[field]}
        assert plan_line["purchases"].min() == 0
        assert plan_line["purchases"].max() >= curve["upper"].max()
        assert plan_line["purchases"].iloc[1] == pytest.approx(max(record["raw"], 0), abs=0.05)
    # Budgets below the smallest in the training data are drawn grey and flagged in the table.
    assert budget["beyond_training_data"].iloc[0] and not budget["beyond_training_data"].iloc[-1]
    grey = pd.DataFrame(budget_plot["data"], columns=budget_plot["columns"])
    assert (grey["Line"] == "predicted, beyond the data").any()
    # What the next purchase costs: the budget step over the purchases it adds.
    step = budget.iloc[20:22]
    expected_cost = (step["x"].iloc[1] - step["x"].iloc[0]) / (
        step["prediction"].iloc[1] - step["prediction"].iloc[0]
    )
    assert step["next_purchase_costs"].iloc[0] == pytest.approx(expected_cost, rel=0.01)
    assert budget["returns_flatten_here"].sum() == 1
    assert "next purchase costs about" in notes and "Returns flatten around" in notes


def test_curve_bounds_follow_the_level(client: Client) -> None:
    budget_plot = client.predict(**PLAN, level=0.8, api_name="/curves")[0]
    series = {row[2] for row in budget_plot["data"]}
    assert {"lower end of the 80% range", "upper end of the 80% range", "your plan"} <= series
    assert series <= set(SERIES_COLORS)


def test_curves_work_without_matplotlib() -> None:
    # The Space installs only requirements.txt, which has no matplotlib.
    code = (
        "import sys; sys.modules['matplotlib'] = None; "
        "from predictor import Predictor; from predictor.contract.plan import PLAN_FIELDS; "
        "from ui.common import DEFAULT_PLAN, Services; from ui.whatif import curves_handler; "
        f"curves = curves_handler(Services({{'ridge': Predictor.from_env({str(APP_MODEL_DIR)!r})}})); "
        "plan = [DEFAULT_PLAN[f] for f in PLAN_FIELDS]; "
        "budget, ads, notes, table = curves(*plan, 0.9); "
        "assert len(budget) > 40 and len(ads) > 8; "
        "print(sorted(set(budget['Line'])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == str(
        sorted(
            [
                "lower end of the 90% range",
                "predicted purchases",
                "predicted, beyond the data",
                "returns flatten",
                "upper end of the 90% range",
                "your plan",
            ]
        )
    )


def test_curves_with_no_ads_do_not_call_the_model(client: Client, predictor: Predictor) -> None:
    before = predictor.call_counts
    zero = {f: 0 for f in MIX_FIELDS}
    _, _, notes, table = client.predict(**{**PLAN, **zero, "total_ads": 0}, api_name="/curves")
    assert predictor.call_counts == before
    frame = pd.DataFrame(table["data"], columns=table["headers"])
    assert (frame["prediction"] == 0).all()
    assert "Add ads" in notes


def test_curves_reject_bad_input(client: Client) -> None:
    with pytest.raises(AppError, match="Duration"):
        client.predict(**{**PLAN, "duration_days": -5}, api_name="/curves")


# -- ROAS, CPA and profit ----------------------------------------------------------------------


def test_roas_cpa_profit_follow_the_prediction(client: Client) -> None:
    record = call_predict(client)[2]
    html_out, econ = client.predict(record, 80.0, 40.0, api_name="/roas")
    expected = campaign_economics(
        PLAN["total_budget"], record["purchases"], record["lower"], record["upper"], 80.0, 0.4
    )
    assert econ["revenue"]["value"] == pytest.approx(expected.revenue.value)
    assert econ["roas"]["low"] == pytest.approx(expected.roas.low)
    assert econ["roas"]["high"] == pytest.approx(expected.roas.high)
    assert econ["profit"]["value"] == pytest.approx(expected.profit.value)
    assert econ["cpa"]["value"] == pytest.approx(PLAN["total_budget"] / record["purchases"])
    for title in ("Revenue", "ROAS", "CPA", "Profit"):
        assert title in html_out
    assert "90%:" in html_out


@pytest.mark.parametrize(("margin", "read_as"), [(0.4, "a fraction"), (40, "a percentage")])
def test_margin_as_fraction_or_percent_gives_the_same_profit(
    client: Client, margin: float, read_as: str
) -> None:
    record = call_predict(client)[2]
    html_out, econ = client.predict(record, 80.0, margin, api_name="/roas")
    expected = campaign_economics(
        PLAN["total_budget"], record["purchases"], record["lower"], record["upper"], 80.0, 0.4
    )
    assert econ["profit"]["value"] == pytest.approx(expected.profit.value)
    assert f"read as {read_as}: 40% of each order" in econ["margin_note"]
    assert econ["margin_note"] in html_out


def test_low_roas_is_explained(client: Client) -> None:
    record = call_predict(client)[2]
    html_out, econ = client.predict(record, 5.0, 0, api_name="/roas")
    assert econ["roas"]["value"] < 1
    assert "purchases are sparse" in econ["roas_note"] and "purchases are sparse" in html_out


def test_roas_without_order_value_shows_cpa_only(client: Client) -> None:
    record = call_predict(client)[2]
    html_out, econ = client.predict(record, 0, 0, api_name="/roas")
    assert "revenue" not in econ and "profit" not in econ
    assert econ["cpa"]["value"] == pytest.approx(PLAN["total_budget"] / record["purchases"])
    assert "Enter an average order value" in html_out


def test_cpa_is_undefined_at_zero_purchases(client: Client) -> None:
    zero = {f: 0 for f in MIX_FIELDS}
    record = call_predict(client, total_ads=0, **zero)[2]
    html_out, econ = client.predict(record, 50.0, 30.0, api_name="/roas")
    assert econ["cpa"]["value"] is None
    assert "undefined" in econ["cpa"]["note"]
    assert "undefined" in html_out
    assert econ["profit"]["value"] == -PLAN["total_budget"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((80.0, 150.0), ["Margin 150", "0.4 or 40 for 40%"]),
        ((-5.0, 40.0), ["Average order value", "0 or more"]),
        (("lots", 40.0), ["Average order value", "number"]),
    ],
)
def test_roas_bad_input(client: Client, args: tuple, words: list[str]) -> None:
    record = call_predict(client)[2]
    with pytest.raises(AppError) as info:
        client.predict(record, *args, api_name="/roas")
    for word in words:
        assert word in str(info.value)


def test_roas_rejects_something_that_is_not_a_prediction(client: Client) -> None:
    with pytest.raises(AppError, match="returned by /predict"):
        client.predict({"hello": 1}, 50.0, 30.0, api_name="/roas")


# -- scenarios ---------------------------------------------------------------------------------


def test_scenarios_save_compare_export_remove(client: Client) -> None:
    table, dropdown, name_box, saved = client.predict("", **PLAN, api_name="/save_scenario")
    assert table["headers"] == ["Setting", "A"]
    assert name_box == "" and [s["name"] for s in saved] == ["A"]
    bigger = {**PLAN, "total_budget": 2 * PLAN["total_budget"]}
    table, dropdown, _, saved = client.predict(
        "Double budget", **bigger, scenarios=saved, api_name="/save_scenario"
    )
    assert table["headers"] == ["Setting", "A", "Double budget"]
    assert [c[0] for c in dropdown["choices"]] == ["A", "Double budget"]
    rows = {row[0]: row[1:] for row in table["data"]}
    budget_a = f"{PLAN['total_budget']:,}"
    assert rows["Total budget"] == [budget_a, f"{2 * PLAN['total_budget']:,} (+{budget_a})"]
    first = call_predict(client)[2]["purchases"]
    second = call_predict(client, total_budget=2 * PLAN["total_budget"])[2]["purchases"]
    assert rows["Predicted purchases"][0] == f"{first:,}"
    assert rows["Predicted purchases"][1].startswith(f"{second:,} ({signed(second - first)}")

    path = client.predict(saved, api_name="/export_scenarios")
    csv = pd.read_csv(path)
    assert list(csv["scenario"]) == ["A", "Double budget"]
    assert list(csv["predicted_purchases"]) == [first, second]
    assert list(csv["total_budget"]) == [PLAN["total_budget"], 2 * PLAN["total_budget"]]
    assert csv.loc[1, "purchases_vs_baseline"] == second - first
    assert {"lower", "upper", "level", "answered_by", *PLAN_FIELDS} <= set(csv.columns)
    against = pd.read_csv(client.predict(saved, "Double budget", api_name="/export_scenarios"))
    assert csv.loc[1, "purchases_vs_baseline"] == -against.loc[0, "purchases_vs_baseline"]

    with pytest.raises(AppError, match="exists"):
        client.predict("A", **PLAN, scenarios=saved, api_name="/save_scenario")
    with pytest.raises(AppError, match="No scenario is named 'Z'"):
        client.predict("Z", saved, api_name="/remove_scenario")
    table, dropdown, saved = client.predict("A", saved, api_name="/remove_scenario")
    assert table["headers"] == ["Setting", "Double budget"]
    table = client.predict("", **PLAN, scenarios=saved, api_name="/save_scenario")[0]
    assert table["headers"] == ["Setting", "Double budget", "A"]


def test_scenarios_are_the_callers_own(client: Client) -> None:
    mine = client.predict("Mine", **PLAN, api_name="/save_scenario")[3]
    table = client.predict("", **PLAN, api_name="/save_scenario")[0]
    assert table["headers"] == ["Setting", "A"]
    assert [s["name"] for s in mine] == ["Mine"]


@pytest.mark.parametrize(
    ("scenarios", "words"),
    [
        ("nonsense", "list of saved scenarios"),
        ([{"name": "A", "plan": {"total_budget": "lots"}}], "Saved scenario 1 cannot be read"),
    ],
)
def test_scenarios_sent_back_are_checked(client: Client, scenarios: Any, words: str) -> None:
    with pytest.raises(AppError, match=words):
        client.predict("", **PLAN, scenarios=scenarios, api_name="/save_scenario")


def test_saving_an_invalid_plan_is_refused(client: Client) -> None:
    with pytest.raises(AppError, match="Total budget"):
        client.predict("", **{**PLAN, "total_budget": 1e300}, api_name="/save_scenario")


# -- import and command line -------------------------------------------------------------------


def test_import_builds_the_ui_without_loading_the_model() -> None:
    code = (
        "import os, sys, app; from predictor import Predictor; from ui import build_demo; "
        "before = set(os.listdir('.')); "
        f"predictor = Predictor.from_env({str(APP_MODEL_DIR)!r}); "
        "demo = build_demo(predictor); "
        "assert predictor._model is None; "
        "assert 'mlflow.pyfunc' not in sys.modules; "
        "assert {'predict', 'curves', 'roas'} <= {f.api_name for f in demo.fns.values()}; "
        "assert set(os.listdir('.')) == before; "
        "print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {"share": None, "server_name": None, "server_port": None}),
        (
            ["--share", "--host", "0.0.0.0", "--port", "8123"],
            {"share": True, "server_name": "0.0.0.0", "server_port": 8123},
        ),
    ],
)
def test_command_line(monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: dict) -> None:
    # Unset host and port are passed as None so that Gradio reads GRADIO_SERVER_NAME/PORT.
    launched: list[dict] = []
    monkeypatch.setattr(app, "launch", lambda demo, **kwargs: launched.append(kwargs))
    monkeypatch.setattr(app, "warm_up", lambda predictor: None)
    app.main(argv)
    assert len(launched) == 1
    on_ready = launched[0].pop("on_ready")  # the warm-up starts once the server answers
    assert callable(on_ready)
    assert launched == [expected]


def test_roas_rejects_an_unknown_level(client: Client) -> None:
    record = {**call_predict(client)[2], "level": "high"}
    with pytest.raises(AppError, match="Range level 'high' is not offered"):
        client.predict(record, 50.0, 30.0, api_name="/roas")


def test_exported_names_cannot_run_as_spreadsheet_formulas(server: str) -> None:
    client = Client(server, verbose=False, analytics_enabled=False)
    saved = client.predict("=1+2", **PLAN, api_name="/save_scenario")[3]
    csv = pd.read_csv(client.predict(saved, api_name="/export_scenarios"))
    assert list(csv["scenario"]) == ["'=1+2"]


def test_the_pages_scored_csv_cannot_run_formulas(client: Client, tmp_path) -> None:
    plans = tmp_path / "plans.csv"
    plans.write_text(
        "note,=cmd,duration_days,total_budget,start_month,num_unique_interests,total_ads\n"
        '"=HYPERLINK(""http://x"",""y"")",+cmd|calc,60,50000,5,3,4\n'
        "@SUM(A1),-5,60,50000,5,3,4\n"
        '"\tx",-2.5e3,60,50000,5,3,4\n',
        encoding="utf-8",
    )
    summary, path, _ = client.predict(handle_file(str(plans)), 0.9, "ridge", api_name="/score_csv")
    assert "3 of 3 plans scored" in summary
    with open(path, newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    assert header[:2] == ["note", "'=cmd"]
    assert [row[:2] for row in rows] == [
        ['\'=HYPERLINK("http://x","y")', "'+cmd|calc"],
        ["'@SUM(A1)", "-5"],
        ["'\tx", "-2.5e3"],
    ]
    cells = [cell for row in rows for cell in row]
    assert not any(c[:1] in ("=", "+", "@", "\t", "\r") for c in [*header, *cells])


def rest_call(server: str, name: str, data: list[Any]) -> tuple[str, dict[str, Any] | list]:
    """A plain REST call to ``/gradio_api/call/NAME``: the final event and its data."""
    post = requests.post(f"{server}gradio_api/call/{name}", json={"data": data}, timeout=60)
    assert post.status_code == 200, post.text
    stream = requests.get(f"{server}gradio_api/call/{name}/{post.json()['event_id']}", timeout=120)
    assert stream.status_code == 200
    event, payload = None, None
    for block in stream.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") in ("complete", "error"):
            event, payload = lines["event"], json.loads(lines["data"])
    assert event is not None, stream.text
    return event, payload


PLAN_VALUES = [PLAN[f] for f in PLAN_FIELDS]


@pytest.mark.parametrize("name", ["predict", "curves"])
@pytest.mark.parametrize("count", [0, 3, 19, 21, 101])
def test_wrong_number_of_values_is_refused_naming_the_parameters(
    server: str, name: str, count: int
) -> None:
    data = ([*PLAN_VALUES, 0.9, "ridge"] + [1] * 81)[:count]
    event, payload = rest_call(server, name, data)
    assert event == "error"
    message = payload["error"]
    assert message.startswith(f"/{name} takes 20 values (duration_days, total_budget, ")
    assert "all_age_ads, level, model), in that order" in message
    assert f"it was given {count}." in message


def test_roas_refuses_a_plan_or_features_that_are_not_objects(client: Client) -> None:
    record = call_predict(client)[2]
    for broken, words in (
        ({**record, "plan": "60 days"}, "the prediction's plan is str, not an object"),
        ({**record, "plan": None, "features": [1, 2]}, "the prediction's features is list"),
    ):
        with pytest.raises(AppError) as caught:
            client.predict(broken, 60.0, 0.4, api_name="/roas")
        assert words in str(caught.value) and "unexpectedly" not in str(caught.value)


def test_numbers_in_messages_read_like_the_page(server: str) -> None:
    values = [*PLAN_VALUES, 0.9, "ridge"]
    values[PLAN_FIELDS.index("total_ads")] = 1_016_950
    event, payload = rest_call(server, "curves", values)
    assert event == "error"
    assert payload["error"] == "Total ads is 1,016,950; enter a whole number of at most 1,000,000"
    values[PLAN_FIELDS.index("total_ads")] = 1_000_000  # allowed, but absurd
    event, payload = rest_call(server, "curves", values)
    assert event == "error" and payload["error"].startswith("Total ads 1,000,000 is more than 100")
    assert "e+" not in payload["error"]


def test_huge_numbers_are_refused_in_plain_words(client: Client, server: str) -> None:
    record = call_predict(client)[2]
    with pytest.raises(AppError) as caught:
        client.predict({**record, "purchases": 1e308, "upper": 1e308}, 60, 0.4, api_name="/roas")
    assert "purchases is 1×10^308; enter at most 1,000,000,000,000" in str(caught.value)
    for position, label in ((20, "Purchases wanted"), (21, "Max cost per purchase")):
        values = [*PLAN_VALUES, 0.9, "ridge", None, None, None, None]
        values[position] = 1e308
        event, payload = rest_call(server, "target_budget", values)
        assert event == "error"
        assert payload["error"] == f"{label} is 1×10^308; enter at most 1,000,000,000,000"
