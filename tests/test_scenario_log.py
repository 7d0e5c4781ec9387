"""The scenario log: its settings, its rows, masked URLs, and a real SQLite store."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from predictor import ConfigError
from predictor.record.log_rows import PLAN_FIELDS, default_sqlite_path, spool_file, store_url
from predictor.record.scenario_log import (
    LOG_COLUMNS,
    NullLog,
    ScenarioLog,
    masked_url,
    scenario_row,
)
from tests.support.common import REPO, TOKEN
from tests.support.scenario import PLAN, Answer


@pytest.mark.parametrize("value", ["off", "OFF", " 0 ", "false", "no"])
def test_off_gives_a_null_log(value):
    log = ScenarioLog.from_env({"SCENARIO_LOG": value, "SCENARIO_LOG_URL": "sqlite://"})
    assert isinstance(log, NullLog) and not log.enabled
    log.record(PLAN, Answer(), model="ridge")
    assert log.flush() and log.stats()["written"] == 0
    assert list(log.read_frame().columns) == list(LOG_COLUMNS)


def test_unknown_switch_and_bad_url_say_what_to_change():
    with pytest.raises(ConfigError, match="SCENARIO_LOG must be on or off"):
        store_url({"SCENARIO_LOG": "maybe"})
    with pytest.raises(ConfigError, match="not a SQLAlchemy URL") as caught:
        store_url({"SCENARIO_LOG_URL": f"::{TOKEN}::"})
    assert TOKEN not in str(caught.value)
    with pytest.raises(ConfigError, match="databricks-sqlalchemy") as caught:
        store_url({"SCENARIO_LOG_URL": f"nosuchdialect://token:{TOKEN}@host/db"})
    assert TOKEN not in str(caught.value)


def test_the_default_store_is_a_sqlite_file_in_a_writable_place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    assert default_sqlite_path({}, data) == tmp_path / ".scenario_log" / "scenario_log.sqlite"
    data.mkdir()
    assert default_sqlite_path({}, data) == data / "scenario_log.sqlite"
    explicit = {"SCENARIO_LOG_PATH": str(tmp_path / "x" / "log.sqlite")}
    assert default_sqlite_path(explicit, data) == tmp_path / "x" / "log.sqlite"
    url = store_url({**explicit, "SCENARIO_LOG": "on"})
    assert url is not None and url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "x" / "log.sqlite")
    given = store_url({**explicit, "SCENARIO_LOG_URL": "sqlite:///elsewhere.sqlite"})
    assert given is not None and given.database == "elsewhere.sqlite"


def test_masked_urls_hide_passwords_and_tokens():
    pg = masked_url("postgresql+psycopg://app:s3cr3t@db.example.com:5432/log")
    assert pg == "postgresql+psycopg://app:***@db.example.com:5432/log"
    databricks = masked_url(
        f"databricks://token:{TOKEN}@adb-1.azuredatabricks.net"
        "?http_path=/sql/1.0/warehouses/abc&catalog=main&schema=default"
    )
    assert TOKEN not in databricks and "token:***@adb-1.azuredatabricks.net" in databricks
    assert "http_path=%2Fsql%2F1.0%2Fwarehouses%2Fabc" in databricks  # kept, URL-quoted
    query = masked_url(f"postgresql://h/db?access_token={TOKEN}&sslmode=require")
    assert TOKEN not in query and "sslmode=require" in query
    assert masked_url("not a url") == "<unparseable URL>"
    assert TOKEN not in repr(ScenarioLog(f"postgresql+psycopg://u:{TOKEN}@h/db"))


def test_a_row_keeps_the_plan_the_answer_and_nothing_else():
    at = datetime(2026, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    row = scenario_row(PLAN, Answer(), model="ridge", at=at)
    assert set(row) == set(LOG_COLUMNS)
    assert {f: row[f] for f in PLAN_FIELDS} == {f: getattr(PLAN, f) for f in PLAN_FIELDS}
    assert (row["purchases"], row["lower"], row["upper"], row["level"]) == (12, 5, 21, 0.9)
    assert (row["model"], row["backend"], row["scenario_name"]) == ("ridge", "local", None)
    assert row["created_at"] == datetime(2026, 5, 1, 12, 30)  # UTC
    assert len(row["id"]) == 32 and row["id"] != scenario_row(PLAN, Answer(), model="r")["id"]


def test_scenario_names_are_trimmed_and_bounded():
    def name(text):
        return scenario_row(PLAN, Answer(), model="m", scenario_name=text)["scenario_name"]

    assert name("  Spring\n push  ") == "Spring push"
    assert name("   ") is None
    assert name("x" * 500) == "x" * 200


def test_record_never_raises_on_bad_input_and_says_so_once(caplog):
    log = ScenarioLog("sqlite://")
    with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
        log.record("not a plan", Answer(), model="ridge")  # type: ignore[arg-type]
        log.record(PLAN, object(), model="ridge")  # type: ignore[arg-type]
    assert log.stats()["dropped"] == 2
    assert len(caplog.records) == 1 and "not recorded" in caplog.records[0].getMessage()
    log.close()


def test_sqlite_round_trip_and_the_file_appears_on_the_first_write(tmp_path):
    path = tmp_path / "deep" / "log.sqlite"
    log = ScenarioLog.from_env({"SCENARIO_LOG_PATH": str(path)})
    assert isinstance(log, ScenarioLog)
    assert log.read_frame().empty and not path.parent.exists()
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    log.record(PLAN, Answer(), model="ridge", scenario_name="Saved one", at=at)
    log.record(PLAN, Answer(purchases=13, backend="databricks"), model="boosting")
    assert log.flush(30)
    assert path.is_file()
    frame = log.read_frame()
    assert list(frame.columns) == list(LOG_COLUMNS) and len(frame) == 2
    first = frame.iloc[0]
    assert first["created_at"] == at.replace(tzinfo=UTC)
    assert {f: first[f] for f in PLAN_FIELDS} == {f: getattr(PLAN, f) for f in PLAN_FIELDS}
    assert (first["model"], first["scenario_name"], first["purchases"]) == (
        "ridge",
        "Saved one",
        12,
    )
    assert frame.iloc[1]["backend"] == "databricks" and pd.isna(frame.iloc[1]["scenario_name"])
    assert (
        len(log.read_frame(limit=1)) == 1 and log.read_frame(limit=1).iloc[0]["model"] == "boosting"
    )
    assert log.stats() == {"written": 2, "spooled": 0, "dropped": 0, "pending": 0}
    log.close()
    log.record(PLAN, Answer(), model="ridge")  # after close: ignored, no error
    assert len(ScenarioLog.from_env({"SCENARIO_LOG_PATH": str(path)}).read_frame()) == 2


def test_a_sqlite_file_that_cannot_be_made_is_logged_once_and_rows_wait(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    log = ScenarioLog(f"sqlite:///{blocker}/log.sqlite", retry_seconds=0.01)
    with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
        for _ in range(50):
            log.record(PLAN, Answer(), model="ridge")
        assert log.flush(30)
    assert log.stats()["spooled"] == 50 and log.stats()["written"] == 0
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        f"scenario log: cannot write to sqlite:///{blocker}/log.sqlite"
    ]
    log.close()


def test_importing_and_configuring_creates_nothing(tmp_path):
    code = (
        "import predictor.record.scenario_log as s, predictor.record.dashboard\n"
        "log = s.ScenarioLog.from_env({})\n"
        "log.read_frame()\n"
        "print(log)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "scenario_log.sqlite" in done.stdout
    assert list(tmp_path.iterdir()) == []


# -- the spool: rows that wait for a store that is down --------------------------------------------


def test_the_spool_is_bounded_and_says_so_once(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    spool = tmp_path / "spool.jsonl"
    log = ScenarioLog(
        f"sqlite:///{blocker}/log.sqlite", retry_seconds=0.05, spool_path=spool, spool_limit=20
    )
    with caplog.at_level(logging.WARNING, logger="predictor.record.scenario_log"):
        for i in range(35):
            log.record(PLAN, Answer(), model="ridge", scenario_name=f"r{i}")
        assert log.flush(30)
    assert log.stats() == {"written": 0, "spooled": 20, "dropped": 15, "pending": 0}
    lines = spool.read_text().splitlines()
    assert len(lines) == 20 and '"scenario_name":"r0"' in lines[0]  # the oldest are kept
    assert spool.stat().st_mode & 0o777 == 0o600  # rows hold plans and names: the owner only
    full = [r.getMessage() for r in caplog.records if "newer rows are dropped" in r.getMessage()]
    assert full == [
        "scenario log: 20 rows wait for the store, the most kept; newer rows are dropped"
    ]
    log.close()


def test_a_spool_file_is_written_at_the_next_start_and_a_cut_line_is_skipped(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    spool = tmp_path / "spool.jsonl"
    down = ScenarioLog(f"sqlite:///{blocker}/log.sqlite", retry_seconds=0.05, spool_path=spool)
    for i in range(5):
        down.record(PLAN, Answer(), model="ridge", scenario_name=f"r{i}")
    down.close(timeout=10)
    with spool.open("a") as fh:
        fh.write('{"id": "cut sho')  # the app stopped in the middle of a line
    store = tmp_path / "log.sqlite"
    up = ScenarioLog(f"sqlite:///{store}", spool_path=spool)
    assert up.stats()["spooled"] == 5
    assert up.wait_written(30)
    frame = up.read_frame()
    assert sorted(frame["scenario_name"]) == [f"r{i}" for i in range(5)]
    assert frame.iloc[0]["created_at"].tzinfo is not None and not spool.exists()
    up.close()


def test_where_the_spool_lives(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pg = store_url({"SCENARIO_LOG_URL": "postgresql+psycopg://app:one@db.example.com/log"})
    rotated = store_url({"SCENARIO_LOG_URL": "postgresql+psycopg://app:two@db.example.com/log"})
    other = store_url({"SCENARIO_LOG_URL": "postgresql+psycopg://app:one@db2.example.com/log"})
    path = spool_file({}, pg)
    assert path.parent == tmp_path / ".scenario_log" and path.name.endswith(".jsonl")
    assert spool_file({}, rotated) == path and spool_file({}, other) != path
    assert "one" not in path.name
    assert spool_file({"SCENARIO_LOG_SPOOL": "memory"}, pg) is None
    assert spool_file({"SCENARIO_LOG_SPOOL": str(tmp_path / "s.jsonl")}, pg) == tmp_path / "s.jsonl"
    log = ScenarioLog.from_env({"SCENARIO_LOG_URL": "sqlite://", "SCENARIO_LOG_SPOOL": "memory"})
    assert isinstance(log, ScenarioLog) and log._spool.path is None
    assert not (tmp_path / ".scenario_log").exists()  # nothing is made before a row waits
