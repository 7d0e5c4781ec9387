"""Recording results through the app's API, and the track record it shows."""

from __future__ import annotations

from typing import Any

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from predictor.record.outcomes import OutcomeStore
from predictor.record.scenario_log import ScenarioLog
from ui.common import DEFAULT_PLAN
from ui.results import SAMPLE_RESULTS

PLAN: dict[str, Any] = dict(DEFAULT_PLAN)


@pytest.fixture(scope="module")
def store(app_log: ScenarioLog) -> OutcomeStore:
    store = OutcomeStore(app_log.url)
    yield store
    store.close()


def session(app_url: str) -> Client:
    return Client(app_url, verbose=False, analytics_enabled=False)


def test_the_answer_on_screen_is_recorded_with_what_was_shown(app_url, store):
    client = session(app_url)
    shown = client.predict(**{**PLAN, "total_budget": 41_111}, api_name="/predict")[2]
    before = len(store.read_frame())
    message = client.predict(
        scenario="",
        actual_purchases=str(shown["upper"] + 5),  # the API takes the boxes' text
        spend="40000",
        prediction=shown,
        api_name="/record_result",
    )
    assert message.startswith(f"Recorded: the plan brought {shown['upper'] + 5:,} purchases")
    assert "above the range" in message
    frame = store.read_frame()
    assert len(frame) == before + 1
    row = frame.iloc[-1]
    assert row["total_budget"] == 41_111 and row["spend"] == 40_000
    assert (row["predicted"], row["lower"], row["upper"]) == (
        shown["purchases"],
        shown["lower"],
        shown["upper"],
    )
    assert row["model"] == "ridge" and row["model_version"] == shown["model_version"]


def test_a_saved_scenario_is_picked_by_name_and_replaced_only_when_asked(app_url, store):
    client = session(app_url)
    client.predict("Results test", **{**PLAN, "total_budget": 42_222}, api_name="/save_scenario")
    first = client.predict(
        scenario="Results test", actual_purchases="80", prediction=None, api_name="/record_result"
    )
    assert first.startswith("Recorded: scenario Results test brought 80 purchases")
    with pytest.raises(AppError, match=r"already has a result .80 purchases.*tick"):
        client.predict(
            scenario="Results test",
            actual_purchases="81",
            prediction=None,
            api_name="/record_result",
        )
    again = client.predict(
        scenario="Results test",
        actual_purchases="81",
        replace=True,
        prediction=None,
        api_name="/record_result",
    )
    assert "replaced the earlier result" in again
    # Another session finds the scenario in the log.
    other = session(app_url).predict(
        scenario="Results test",
        actual_purchases="82",
        replace=True,
        prediction=None,
        api_name="/record_result",
    )
    assert other.startswith("Recorded (it replaced the earlier result): scenario Results test")
    named = store.read_frame().query("scenario_name == 'Results test'")
    assert named["actual_purchases"].tolist() == [82]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"actual_purchases": "-2"},
            "Actual purchases is -2; a campaign brings 0 purchases or more",
        ),
        ({"actual_purchases": "2.5"}, "enter a whole number"),
        ({"actual_purchases": ""}, "is empty"),
        ({"actual_purchases": "5", "scenario": "Nobody saved this"}, "No scenario is saved as"),
        ({"actual_purchases": "5", "prediction": None}, "Predict a plan first"),
    ],
)
def test_bad_input_is_a_message_not_a_server_error(app_url, kwargs, message):
    client = session(app_url)
    shown = client.predict(**PLAN, api_name="/predict")[2]
    call = {"scenario": "", "prediction": shown, **kwargs}
    with pytest.raises(AppError) as caught:
        client.predict(**call, api_name="/record_result")
    assert message.lower() in str(caught.value).lower()


def test_a_file_of_results_and_the_track_record(app_url, store):
    client = session(app_url)
    # Replacing: the API page's example (tested elsewhere) may have recorded this file already.
    summary = client.predict(
        results_csv=handle_file(str(SAMPLE_RESULTS)), replace=True, api_name="/record_results_csv"
    )
    assert summary.startswith("**3 of 4 results recorded**")
    assert "line 5: actual purchases is -4" in summary
    repeat = client.predict(
        results_csv=handle_file(str(SAMPLE_RESULTS)), api_name="/record_results_csv"
    )
    assert (
        repeat.startswith("**0 of 4 results recorded**")
        and "tick “Replace an earlier result”" in repeat
    )
    text, chart = client.predict(api_name="/track_record")
    total = len(store.read_frame())
    assert f"**All results** ({total:,})" in text
    assert chart.count('class="cpp-point ') == total and "cpp-diagonal" in chart
    if total < 10:
        assert "too early to judge" in text


def test_a_scenario_name_is_shown_as_written_never_as_markup(app_url):
    client = session(app_url)
    name = "Q3 <b>push</b>_*"
    client.predict(name, **{**PLAN, "total_budget": 43_333}, api_name="/save_scenario")
    message = client.predict(
        scenario=name, actual_purchases="10", prediction=None, api_name="/record_result"
    )
    assert "&lt;b&gt;push&lt;/b&gt;\\_\\*" in message and "<b>" not in message
