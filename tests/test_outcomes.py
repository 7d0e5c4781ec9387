"""Recording outcomes: the checks of a result, the store on a SQLite file, files of results, the CLI."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from predictor import Predictor
from predictor.__main__ import main
from predictor.contract.plan import PLAN_FIELDS
from predictor.planning.batch_scoring import score_plans
from predictor.record.log_rows import LOG_COLUMNS, TABLE_NAME
from predictor.record.outcome_rows import (
    OUTCOME_COLUMNS,
    OutcomeError,
    Shown,
    check_purchases,
    check_spend,
    outcome_row,
)
from predictor.record.outcomes import OutcomeStore, OutcomeStoreError
from predictor.record.outcomes_file import Models, OutcomeFileError, record_file
from predictor.record.scenario_log import ScenarioLog
from tests.support.outcome import PLAN_ROW, VersionedAnswer, csv, plan_csv, save_scenario
from tests.support.scenario import PLAN, Answer

SHOWN = Shown(predicted=12, lower=5, upper=21, level=0.9, model="ridge", model_version="1.0.0")


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'log.sqlite'}"


@pytest.fixture
def store(url):
    store = OutcomeStore(url)
    yield store
    store.close()


@pytest.fixture
def models(predictor: Predictor) -> Models:
    return Models({"ridge": predictor})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), ("12", 12), (12.0, 12), (" 7 ", 7), ("1,234", 1234)],
)
def test_good_purchases(value, expected):
    assert check_purchases(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-3, "is -3; a campaign brings 0 purchases or more"),
        (2.5, "is 2.5; enter a whole number"),
        (math.nan, "not a number (NaN)"),
        ("nan", "not a number (NaN)"),
        ("", "is empty"),
        (None, "is empty"),
        ("lots", "is 'lots', not a number"),
        (math.inf, "infinite"),
        (True, "must be a number"),
        (2e9, "enter at most 1,000,000,000"),
    ],
)
def test_bad_purchases_say_what_is_wrong(value, message):
    with pytest.raises(OutcomeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_purchases(value)


def test_spend_is_optional_but_checked():
    assert check_spend("") is None and check_spend(None) is None and check_spend("99.5") == 99.5
    with pytest.raises(OutcomeError, match="spend is -1"):
        check_spend(-1)


def test_a_shown_answer_must_hold_together():
    with pytest.raises(OutcomeError, match="does not hold the prediction"):
        Shown(predicted=30, lower=5, upper=21, level=0.9, model="ridge")
    with pytest.raises(OutcomeError, match="level is 90"):
        Shown(predicted=12, lower=5, upper=21, level=90, model="ridge")
    with pytest.raises(OutcomeError, match="incomplete"):
        Shown.of({"purchases": 3})


def test_a_row_keeps_the_plan_the_result_and_what_was_shown_nothing_else():
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    row = outcome_row(PLAN, "40", SHOWN, spend="4900", scenario_name="  Spring  A ", at=at)
    assert set(row) == set(OUTCOME_COLUMNS)
    assert {f: row[f] for f in PLAN_FIELDS} == PLAN_ROW
    assert (row["actual_purchases"], row["spend"], row["scenario_name"]) == (40, 4900.0, "Spring A")
    assert (row["predicted"], row["lower"], row["upper"], row["level"]) == (12, 5, 21, 0.9)
    assert (row["model"], row["model_version"], row["recorded_at"]) == (
        "ridge",
        "1.0.0",
        datetime(2026, 5, 1, 12, 0),
    )
    columns = {c.lower() for c in OUTCOME_COLUMNS}
    assert not columns & {"ip", "ip_address", "user_agent", "session", "host", "note", "comment"}


def test_store_round_trip_and_one_result_per_scenario(store, url):
    assert store.read_frame().empty  # nothing made by reading
    first = outcome_row(PLAN, 40, SHOWN, scenario_name="A")
    receipt = store.add([(None, first)])
    assert (receipt.added, receipt.replaced, receipt.refused) == (1, 0, ())
    again = outcome_row(PLAN, 44, SHOWN, scenario_name="A")
    refused = store.add([(None, again)])
    assert refused.added == 0 and refused.refused[0].duplicate
    assert "scenario 'A' already has a result (40 purchases" in str(refused.refused[0])
    replaced = store.add([(None, again)], replace=True)
    assert (replaced.added, replaced.replaced) == (1, 1)
    other_plan = outcome_row(PLAN.replace(total_budget=9000), 5, SHOWN, scenario_name="A")
    assert store.add([(None, other_plan)]).added == 1  # another planner's scenario A
    frame = store.read_frame()
    assert list(frame.columns) == list(OUTCOME_COLUMNS)
    assert sorted(frame["actual_purchases"]) == [5, 44]
    assert str(frame["recorded_at"].dt.tz) == "UTC"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = {c["name"] for c in sa.inspect(conn).get_columns("outcomes")}
    engine.dispose()
    assert stored == set(OUTCOME_COLUMNS)


def test_a_store_that_cannot_be_written_says_which_without_the_password(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OutcomeStoreError, match="cannot be written"):
        OutcomeStore(f"sqlite:///{blocker}/x.sqlite").add([(None, outcome_row(PLAN, 1, SHOWN))])
    secret = "pw-never-shown-42"
    store = OutcomeStore(f"postgresql+psycopg://u:{secret}@127.0.0.1:1/db?connect_timeout=2")
    with pytest.raises(OutcomeStoreError) as caught:
        store.read_frame()
    assert secret not in str(caught.value) and "u:***@127.0.0.1" in str(caught.value)


def test_bad_rows_are_refused_one_by_one_and_the_good_ones_kept(store, models):
    receipt = record_file(
        plan_csv(
            {"scenario_name": "good", "actual_purchases": 40, "spend": 4800},
            {"actual_purchases": -3},
            {"actual_purchases": 2.5},
            {"actual_purchases": "nan"},
            {"actual_purchases": ""},
            {"actual_purchases": 9, "total_budget": "lots"},
            {"actual_purchases": 9, "start_month": 13},
            {"scenario_name": "good", "actual_purchases": 41},
            {"actual_purchases": 7, "spend": -5},
            {"actual_purchases": 12, "total_ads": 2, "facebook_ads": 2},
        ),
        store,
        models,
    )
    assert receipt.added == 2
    assert [(r.line, r.reason.split(";")[0]) for r in receipt.refused] == [
        (3, "actual purchases is -3"),
        (4, "actual purchases is 2.5"),
        (5, "actual purchases is not a number (NaN)"),
        (6, "actual purchases is empty"),
        (7, "total_budget must be a number, but it is text"),
        (8, "start_month is 13"),
        (9, "scenario 'good' already has a result on line 2"),
        (10, "spend is -5"),
    ]
    assert [r.duplicate for r in receipt.refused] == [False] * 6 + [True, False]
    frame = store.read_frame()
    assert sorted(frame["actual_purchases"]) == [12, 40]
    assert frame.set_index("actual_purchases").loc[40, "spend"] == 4800


def test_a_plan_predicted_now_keeps_that_answer_and_the_model_version(store, models, predictor):
    record_file(plan_csv({"actual_purchases": 30}), store, models)
    row = store.read_frame().iloc[0]
    answer = predictor.predict(PLAN, 0.9)
    assert (row["predicted"], row["lower"], row["upper"], row["level"]) == (
        answer.purchases,
        answer.lower,
        answer.upper,
        0.9,
    )
    assert row["model"] == "ridge" and row["model_version"] == predictor.metadata.model_version
    assert row["backend"] == "local" and not pd.isna(row["predicted_at"])


def test_a_scored_file_keeps_its_answers_the_same_plan_twice_is_one_scenario(
    store, models, predictor
):
    scored = score_plans(predictor, pd.DataFrame([PLAN_ROW]), 0.8)
    scored["actual_purchases"] = 33
    scored["prediction"] = scored["prediction"] + 1  # what the file says was shown wins
    scored["upper"] = scored["upper"] + 1
    text = scored.to_csv(index=False)
    assert record_file(csv_text(text), store, models).added == 1
    row = store.read_frame().iloc[0]
    assert row["predicted"] == int(scored["prediction"][0]) and row["level"] == 0.8
    assert row["model_version"] == predictor.metadata.model_version and row["backend"] == "file"
    twice = record_file(csv_text(text), store, models)
    assert twice.added == 0 and "the same plan already has a result" in str(twice.refused[0])


def csv_text(text: str):
    import io

    return io.StringIO(text)


def test_a_saved_scenario_by_name_keeps_what_was_shown_then(url, models, predictor):
    log = ScenarioLog(url)
    shown_then = VersionedAnswer(purchases=99, lower=70, upper=130, model_version="0.9.0-earlier")
    save_scenario(log, "Spring", shown_then)
    log.close()
    store = OutcomeStore(url)
    receipt = record_file(
        csv(["scenario_name", "actual_purchases"], ["Spring", 120], ["Nowhere", 3]),
        store,
        models,
    )
    assert receipt.added == 1
    assert str(receipt.refused[0]) == (
        "line 3: no saved scenario is named 'Nowhere' in the scenario log; give the plan's "
        "columns instead"
    )
    row = store.read_frame().iloc[0]
    # The log's answer, not what today's model says about the plan.
    assert predictor.predict(PLAN).purchases != 99
    assert (row["predicted"], row["lower"], row["upper"]) == (99, 70, 130)
    assert row["model_version"] == "0.9.0-earlier" and row["scenario_name"] == "Spring"
    assert {f: row[f] for f in PLAN_FIELDS} == PLAN_ROW
    store.close()


def test_whole_file_problems_are_one_clear_error(store, models):
    with pytest.raises(OutcomeFileError, match="no actual_purchases column"):
        record_file(csv(["scenario_name"], ["A"]), store, models)
    with pytest.raises(OutcomeFileError, match="add a scenario_name column"):
        record_file(csv(["total_budget", "actual_purchases"], [10, 3]), store, models)
    with pytest.raises(OutcomeFileError, match="empty"):
        record_file(csv_text(""), store, models)


def test_an_old_log_gains_the_version_column_and_stays_readable(url, tmp_path):
    engine = sa.create_engine(url.replace("store/", ""))
    path = tmp_path / "log.sqlite"
    old = [c for c in LOG_COLUMNS if c != "model_version"]
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {TABLE_NAME} ({', '.join(old)})"))
        conn.execute(
            sa.text(f"INSERT INTO {TABLE_NAME} VALUES ({', '.join(':' + c for c in old)})"),
            {
                **dict.fromkeys(old, 1),
                "id": "x",
                "created_at": "2026-01-01 00:00:00",
                "model": "ridge",
                "backend": "local",
                "scenario_name": "Old",
            },
        )
    engine.dispose()
    log = ScenarioLog(f"sqlite:///{path}")
    before = log.read_frame()
    assert len(before) == 1 and pd.isna(before["model_version"][0])
    log.record(PLAN, VersionedAnswer(), model="ridge")
    assert log.flush(30) and log.stats()["written"] == 1
    frame = log.read_frame()
    assert list(frame.columns) == list(LOG_COLUMNS) and len(frame) == 2
    assert frame["model_version"].tolist()[1] == "0.9.0-earlier"
    assert OutcomeStore(f"sqlite:///{path}").saved_scenario("Old")["purchases"] == 1
    log.close()


def test_the_log_keeps_the_version_of_a_prediction(url, predictor):
    log = ScenarioLog(url)
    log.record(PLAN, predictor.predict(PLAN), model="ridge")
    log.record(PLAN, Answer(), model="ridge")  # an answer without a version
    assert log.flush(30)
    versions = log.read_frame()["model_version"].tolist()
    assert versions[0] == predictor.metadata.model_version and pd.isna(versions[1])
    log.close()


def test_the_cli_records_reports_and_exits_with_what_happened(url, tmp_path, capsys):
    results = tmp_path / "results.csv"
    rows = [{"scenario_name": f"S{i}", "actual_purchases": 10 + i} for i in range(12)]
    results.write_text(plan_csv(*rows, {"actual_purchases": -1}).getvalue())
    assert main(["outcomes", "add", str(results), "--store", url]) == 1
    out = capsys.readouterr().out
    assert "Recorded 12 of 13 results." in out and "line 14: actual purchases is -1" in out
    assert main(["outcomes", "add", str(results), "--store", url]) == 1
    assert "record again with --replace" in capsys.readouterr().out
    svg, points = tmp_path / "chart.svg", tmp_path / "points.csv"
    args = ["outcomes", "report", "--store", url, "--svg", str(svg), "--points", str(points)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "All results (12 results):" in out and "fell inside the 90% range" in out
    assert svg.read_text().count('class="cpp-point ') == 12 and len(pd.read_csv(points)) == 12
    assert main(["outcomes", "add", str(tmp_path / "none.csv"), "--store", url]) == 2
    assert "no such file" in capsys.readouterr().err
