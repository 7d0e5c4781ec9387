"""The scenario log on real stores: SQLite and a PostgreSQL server on loopback, under load and down."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from predictor.record.scenario_log import LOG_COLUMNS, ScenarioLog
from tests.support.common import free_port
from tests.support.scenario import PLAN, Answer, expected_names, hammer
from ui.common import Services
from ui.dashboard import dashboard_handler
from ui.scenarios import CsvFiles

CLIENTS, PER_CLIENT = 50, 20


def wait_until(condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


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
    assert log.stats() == {"written": 1000, "spooled": 0, "dropped": 0, "pending": 0}
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
    assert log.stats()["spooled"] == CLIENTS * PER_CLIENT  # kept, waiting for the store
    messages = _warnings(caplog)
    assert (
        len(messages) == 1 and "cannot write to postgresql+psycopg://postgres:***@" in messages[0]
    )
    assert password not in caplog.text
    log.close()


def test_a_stopped_server_keeps_its_rows_and_writes_them_when_back(postgres_server, caplog):
    log = ScenarioLog(postgres_server.create_database(), retry_seconds=0.2)
    log.record(PLAN, Answer(), model="ridge", scenario_name="before")
    assert log.flush(30)
    postgres_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
            for i in range(30):
                log.record(PLAN, Answer(), model="ridge", scenario_name=f"down-{i}")
            assert log.flush(60)
            assert log.stats()["spooled"] == 30 and log.stats()["written"] == 1
    finally:
        postgres_server.start()
    with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
        log.record(PLAN, Answer(), model="ridge", scenario_name="after")
        assert log.wait_written(60)
    messages = _warnings(caplog)
    assert len(messages) == 2
    assert messages[0].startswith("scenario log: cannot write to")
    assert messages[0].endswith("their rows are kept until the store is back")
    assert messages[1].startswith("scenario log: writing to") and messages[1].endswith("again")
    assert postgres_server.password not in caplog.text
    names = list(log.read_frame()["scenario_name"])
    assert names[0] == "before" and set(names) == {
        "before",
        "after",
        *(f"down-{i}" for i in range(30)),
    }
    assert len(names) == 32
    assert log.stats() == {"written": 32, "spooled": 0, "dropped": 0, "pending": 0}
    log.close()


def test_twenty_writers_lose_no_row_across_a_store_restart(postgres_server, tmp_path, capsys):
    """20 threads record rows without pause while PostgreSQL is stopped and started again."""
    spool = tmp_path / "spool.jsonl"
    log = ScenarioLog(postgres_server.create_database(), retry_seconds=1.0, spool_path=spool)
    services = Services({}, log)
    dashboard = dashboard_handler(services, CsvFiles("test-dashboard"))
    done = threading.Event()
    counts = [0] * 20

    def writer(c: int) -> None:
        while not done.is_set():
            log.record(
                PLAN,
                Answer(purchases=counts[c] % 50),
                model="ridge",
                scenario_name=f"w{c}-{counts[c]}",
            )
            counts[c] += 1
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(c,)) for c in range(20)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        postgres_server.stop()
        stopped = time.monotonic()
        assert wait_until(lambda: log.stats()["spooled"] > 0, 30)
        time.sleep(2.0)
        during = dashboard()[0]  # what the dashboard says while the store is down
        in_file = sum(1 for _ in spool.open())
        postgres_server.start()
        restarted = time.monotonic()
        time.sleep(1.0)
    finally:
        done.set()
        for thread in threads:
            thread.join()
        if not (postgres_server.data_dir / "postmaster.pid").exists():
            postgres_server.start()
    recorded = sum(counts)
    assert log.wait_written(120)
    caught_up = time.monotonic() - restarted
    frame = log.read_frame()
    expected = {f"w{c}-{i}" for c in range(20) for i in range(counts[c])}
    assert len(frame) == recorded and set(frame["scenario_name"]) == expected
    assert frame["id"].is_unique
    assert log.stats() == {"written": recorded, "spooled": 0, "dropped": 0, "pending": 0}
    assert "waiting** for the log's store" in during and "cannot be read right now" in during
    assert in_file > 0 and not spool.exists()  # the file held the rows; emptied, it is gone
    after = dashboard()[0]
    assert f"{recorded:,} predictions** logged" in after and "waiting" not in after
    log.close()
    with capsys.disabled():
        print(
            f"\n  20 writers, PostgreSQL stopped for {restarted - stopped:.1f} s: {recorded:,} rows "
            f"recorded, {recorded:,} in the store after the restart (all written "
            f"{caught_up:.1f} s after it); {in_file:,} rows were in the spool file at once"
        )


def test_rows_spooled_to_a_file_survive_a_restart_of_the_app(postgres_server, tmp_path):
    spool = tmp_path / "spool.jsonl"
    url = postgres_server.create_database()
    first = ScenarioLog(url, retry_seconds=0.2, spool_path=spool)
    postgres_server.stop()
    try:
        for i in range(50):
            first.record(PLAN, Answer(), model="ridge", scenario_name=f"kept-{i}")
        first.close(timeout=30)  # the app stops while the store is down
        assert first.stats()["spooled"] == 50
        assert len(spool.read_text().splitlines()) == 50
    finally:
        postgres_server.start()
    second = ScenarioLog(url, spool_path=spool)  # the next start writes them
    assert second.stats()["spooled"] == 50
    assert second.wait_written(60)
    assert set(second.read_frame()["scenario_name"]) == {f"kept-{i}" for i in range(50)}
    assert not spool.exists()
    second.close()


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
    assert log.stats()["spooled"] + log.stats()["dropped"] == 10
    messages = _warnings(caplog)
    assert sum("queue is full" in m for m in messages) == 1
    assert sum("cannot write" in m for m in messages) == 1
    log.close()
