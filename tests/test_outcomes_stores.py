"""Outcomes on a real PostgreSQL server on loopback: round trip, replacing, a saved scenario from
the log, concurrent recorders, and an older log table that gains the version column."""

from __future__ import annotations

import threading

import pandas as pd
import sqlalchemy as sa

from predictor import Predictor
from predictor.contract.plan import PLAN_FIELDS
from predictor.record.log_rows import LOG_COLUMNS, TABLE_NAME
from predictor.record.outcome_rows import OUTCOME_COLUMNS, Shown, outcome_row
from predictor.record.outcomes import OutcomeStore, OutcomeStoreError
from predictor.record.outcomes_file import Models, record_file
from predictor.record.scenario_log import ScenarioLog
from tests.support.outcome import PLAN_ROW, VersionedAnswer, csv, save_scenario
from tests.support.scenario import PLAN

SHOWN = Shown(predicted=12, lower=5, upper=21, level=0.9, model="ridge", model_version="1.0.0")


def test_postgres_round_trip_replace_and_a_saved_scenario(postgres_url, predictor: Predictor):
    log = ScenarioLog(postgres_url)
    save_scenario(log, "Spring", VersionedAnswer(purchases=99, lower=70, upper=130))
    log.close()
    store = OutcomeStore(postgres_url)
    receipt = record_file(
        csv(["scenario_name", "actual_purchases", "spend"], ["Spring", 120, 5000.5]),
        store,
        Models({"ridge": predictor}),
    )
    assert (receipt.added, receipt.refused) == (1, ())
    again = record_file(
        csv(["scenario_name", "actual_purchases"], ["Spring", 125]),
        store,
        Models({"ridge": predictor}),
    )
    assert again.added == 0 and again.refused[0].duplicate
    replaced = record_file(
        csv(["scenario_name", "actual_purchases"], ["Spring", 125]),
        store,
        Models({"ridge": predictor}),
        replace=True,
    )
    assert (replaced.added, replaced.replaced) == (1, 1)
    frame = store.read_frame()
    assert list(frame.columns) == list(OUTCOME_COLUMNS) and len(frame) == 1
    row = frame.iloc[0]
    assert (row["actual_purchases"], row["predicted"], row["lower"], row["upper"]) == (
        125,
        99,
        70,
        130,
    )
    assert row["model_version"] == "0.9.0-earlier" and pd.isna(row["spend"])
    assert {f: row[f] for f in PLAN_FIELDS} == PLAN_ROW
    assert str(frame["recorded_at"].dt.tz) == "UTC"
    store.close()


def test_concurrent_recorders_of_one_scenario_keep_one_result(postgres_url):
    store = OutcomeStore(postgres_url)
    store.add([(None, outcome_row(PLAN, 1, SHOWN, scenario_name="warm-up"))])
    start = threading.Barrier(8)
    outcomes: list[object] = []

    def record(i: int) -> None:
        start.wait()
        try:
            outcomes.append(store.add([(None, outcome_row(PLAN, i, SHOWN, scenario_name="B"))]))
        except OutcomeStoreError as exc:  # lost the race: said in words, nothing stored
            outcomes.append(exc)

    threads = [threading.Thread(target=record, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    frame = store.read_frame()
    assert (frame["scenario_name"] == "B").sum() == 1
    added = [o for o in outcomes if not isinstance(o, Exception) and o.added]
    assert len(added) == 1
    for other in outcomes:
        if isinstance(other, Exception):
            assert "at the same moment" in str(other)
        elif not other.added:
            assert other.refused[0].duplicate
    store.close()


def test_an_older_postgres_log_gains_the_version_column(postgres_url):
    old = [c for c in LOG_COLUMNS if c != "model_version"]
    engine = sa.create_engine(postgres_url)
    table = sa.Table(
        TABLE_NAME,
        sa.MetaData(),
        *(
            sa.Column(
                c,
                sa.Text
                if c in ("id", "model", "backend", "scenario_name")
                else sa.DateTime
                if c == "created_at"
                else sa.Float,
            )
            for c in old
        ),
    )
    table.create(engine)
    engine.dispose()
    log = ScenarioLog(postgres_url)
    assert log.read_frame().empty
    log.record(PLAN, VersionedAnswer(), model="ridge", scenario_name="Now")
    assert log.flush(30) and log.stats()["written"] == 1
    frame = log.read_frame()
    assert list(frame.columns) == list(LOG_COLUMNS)
    assert frame["model_version"].tolist() == ["0.9.0-earlier"]
    log.close()
