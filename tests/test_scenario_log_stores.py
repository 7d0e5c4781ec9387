"""The scenario log on real stores: SQLite and a PostgreSQL server on loopback, under load and down."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import sqlalchemy as sa

from predictor.record.scenario_log import LOG_COLUMNS, ScenarioLog
from tests.support.common import free_port
from tests.support.scenario import PLAN, Answer, expected_names, hammer

CLIENTS, PER_CLIENT = 50, 20


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "predictor.record.scenario_log"]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_fifty_concurrent_clients_lose_no_row(store, tmp_path, request):
    if store == "sqlite":
        url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    log = ScenarioLog(url)
    began = time.perf_counter()
    errors = hammer(log, CLIENTS, PER_CLIENT)
    recorded = time.perf_counter() - began
    assert errors == []
    assert log.flush(120)
    written = time.perf_counter() - began
    frame = log.read_frame()
    assert len(frame) == CLIENTS * PER_CLIENT
    assert set(frame["scenario_name"]) == expected_names(CLIENTS, PER_CLIENT)
    assert frame["id"].is_unique
    assert log.stats() == {"written": 1000, "failed": 0, "dropped": 0, "pending": 0}
    log.close()
    print(f"{store}: 1,000 records in {recorded * 1000:.0f} ms, all written after {written:.2f} s")


def test_postgres_round_trip_keeps_every_value(postgres_url):
    log = ScenarioLog(postgres_url)
    log.record(PLAN, Answer(), model="ridge", scenario_name="Saved")
    assert log.flush(30)
    frame = log.read_frame()
    assert list(frame.columns) == list(LOG_COLUMNS) and len(frame) == 1
    row = frame.iloc[0].to_dict()
    assert row["total_budget"] == 5000.5 and row["facebook_ads"] == 3
    assert (row["purchases"], row["lower"], row["upper"], row["level"]) == (12, 5, 21, 0.9)
    assert (row["model"], row["backend"], row["scenario_name"]) == ("ridge", "local", "Saved")
    assert str(frame["created_at"].dt.tz) == "UTC"
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("scenario_log")}
    engine.dispose()
    assert columns == set(LOG_COLUMNS)  # no IP, no user agent, nothing else
    log.close()


def test_a_closed_port_is_logged_once_without_the_password(postgres_server, caplog):
    password = "do-not-log-me-123"
    url = f"postgresql+psycopg://postgres:{password}@127.0.0.1:{free_port()}/postgres"
    log = ScenarioLog(url, batch_size=7, retry_seconds=0.01)
    with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
        errors = hammer(log, CLIENTS, PER_CLIENT)
        assert log.flush(60)
    assert errors == []
    assert log.stats()["failed"] == CLIENTS * PER_CLIENT
    messages = _warnings(caplog)
    assert (
        len(messages) == 1 and "cannot write to postgresql+psycopg://postgres:***@" in messages[0]
    )
    assert password not in caplog.text
    log.close()


def test_a_stopped_server_costs_its_rows_only_and_writing_resumes(postgres_server, caplog):
    log = ScenarioLog(postgres_server.create_database(), retry_seconds=0.01)
    log.record(PLAN, Answer(), model="ridge", scenario_name="before")
    assert log.flush(30)
    postgres_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
            for i in range(30):
                log.record(PLAN, Answer(), model="ridge", scenario_name=f"down-{i}")
            assert log.flush(60)
    finally:
        postgres_server.start()
    assert log.stats()["failed"] == 30
    with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
        log.record(PLAN, Answer(), model="ridge", scenario_name="after")
        assert log.flush(30)
    messages = _warnings(caplog)
    assert len(messages) == 2
    assert messages[0].startswith("scenario log: cannot write to")
    assert messages[1].startswith("scenario log: writing to") and messages[1].endswith("again")
    assert postgres_server.password not in caplog.text
    assert list(log.read_frame()["scenario_name"]) == ["before", "after"]
    log.close()


def test_a_store_that_hangs_does_not_hold_up_record(caplog):
    # Listens but never answers: the driver's connect waits while record() keeps returning.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        url = f"postgresql+psycopg://u:pw@127.0.0.1:{port}/db?connect_timeout=60"
        log = ScenarioLog(url, max_queue=2, batch_size=1, retry_seconds=0.01)
        with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
            for _ in range(10):
                log.record(PLAN, Answer(), model="ridge")
            assert not log.flush(0.5)  # rows wait for a write that has not finished
            stats = log.stats()
            assert stats["dropped"] >= 7 and stats["pending"] + stats["dropped"] == 10
    # Closing the socket resets the waiting connection: the writer fails and moves on.
    with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
        assert log.flush(60)
    assert log.stats()["failed"] + log.stats()["dropped"] == 10
    messages = _warnings(caplog)
    assert sum("queue is full" in m for m in messages) == 1
    assert sum("cannot write" in m for m in messages) == 1
    log.close()
