"""An anonymous log of the predictions made in the app, written in the background through SQLAlchemy.

Each row holds the plan, the answer (purchases and its range at a level), the model and backend
that answered, a UTC timestamp, and a scenario name only when the user saved one. Nothing else:
no IP address, no user agent, no other free text.

Settings (environment):

- ``SCENARIO_LOG``: ``on`` (default) or ``off``.
- ``SCENARIO_LOG_URL``: any SQLAlchemy URL (PostgreSQL, Databricks SQL, ...); overrides the file.
- ``SCENARIO_LOG_PATH``: the SQLite file; default ``/data/scenario_log.sqlite`` when ``/data`` is a
  writable folder (a Hugging Face Space's persistent storage), else
  ``.scenario_log/scenario_log.sqlite`` under the working directory. Created on the first write.

:meth:`ScenarioLog.record` never blocks and never raises: rows go through a bounded queue to one
writer thread that inserts them in batches. A store that is down loses its rows, not the answer,
and is reported once in the log (the URL's password and tokens masked).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from predictor.contract.plan import CampaignPlan
from predictor.record.log_rows import (
    LOG_COLUMNS,
    METADATA,
    TABLE,
    TABLE_NAME,
    Answer,
    add_missing_columns,
    empty_frame,
    make_engine,
    masked_url,
    reason,
    scenario_row,
    sqlite_file,
    store_url,
)

__all__ = [
    "LOG_COLUMNS",
    "NullLog",
    "ScenarioLog",
    "ScenarioLogError",
    "masked_url",
    "scenario_row",
]

log = logging.getLogger(__name__)


class ScenarioLogError(RuntimeError):
    """The log cannot be read; the message names the store (password masked) and the cause."""


class NullLog:
    """The log when ``SCENARIO_LOG=off``: records nothing, reads an empty frame."""

    enabled = False

    def record(self, plan: CampaignPlan, answer: Answer, **_: Any) -> None:
        """Do nothing."""

    def flush(self, timeout: float = 10.0) -> bool:
        """Nothing to wait for."""
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Nothing to close."""

    def read_frame(self, limit: int | None = None) -> pd.DataFrame:
        """An empty log frame."""
        return empty_frame()

    def stats(self) -> dict[str, int]:
        """All zero."""
        return {"written": 0, "failed": 0, "dropped": 0, "pending": 0}

    def __repr__(self) -> str:
        return "NullLog()"


class ScenarioLog:
    """The log of predictions in the store at ``url``, written by one background thread."""

    enabled = True

    def __init__(
        self,
        url: str | URL,
        *,
        max_queue: int = 10_000,
        batch_size: int = 500,
        retry_seconds: float = 30.0,
    ) -> None:
        self.url = make_url(url)
        self.batch_size = batch_size
        self.retry_seconds = retry_seconds
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_queue)
        self._cond = threading.Condition()
        self._counts = {"written": 0, "failed": 0, "dropped": 0, "pending": 0}
        self._warned: set[str] = set()
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._engine_lock = threading.Lock()
        self._engine_obj: Engine | None = None
        self._table_ready = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ScenarioLog | NullLog:
        """The log that ``SCENARIO_LOG``, ``SCENARIO_LOG_URL`` and ``SCENARIO_LOG_PATH`` describe.

        Raises :class:`predictor.ConfigError` for a value that cannot work (it says what to change).
        """
        url = store_url(os.environ if environ is None else environ)
        return NullLog() if url is None else cls(url)

    def __repr__(self) -> str:
        return f"ScenarioLog(url={masked_url(self.url)!r})"

    # -- writing --------------------------------------------------------------------------------

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        with self._cond:
            if key in self._warned:
                return
            self._warned.add(key)
        log.warning(message, *args)

    def _count(self, **deltas: int) -> None:
        with self._cond:
            for key, delta in deltas.items():
                self._counts[key] += delta
            self._cond.notify_all()

    def record(
        self,
        plan: CampaignPlan,
        answer: Answer,
        *,
        model: str,
        scenario_name: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Queue one row (see :func:`scenario_row`) and return at once; never raises."""
        try:
            row = scenario_row(plan, answer, model=model, scenario_name=scenario_name, at=at)
        except Exception as exc:
            self._count(dropped=1)
            self._warn_once("input", "scenario log: a row was not recorded (%s)", exc)
            return
        with self._cond:
            if self._closed:
                return
            self._counts["pending"] += 1
        self._start()
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self._count(pending=-1, dropped=1)
            self._warn_once("full", "scenario log: the queue is full; rows are being dropped")

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._engine_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="scenario-log", daemon=True)
                thread.start()
                atexit.register(self.close)
                self._thread = thread

    def _run(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            try:
                rows = [self._queue.get(timeout=0.2)]
            except queue.Empty:
                continue
            while len(rows) < self.batch_size:
                try:
                    rows.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if self._write(rows):
                self._count(pending=-len(rows), written=len(rows))
            else:
                self._count(pending=-len(rows), failed=len(rows))
                self._stop.wait(self.retry_seconds)

    def _engine(self) -> Engine:
        with self._engine_lock:
            if self._engine_obj is None:
                self._engine_obj = make_engine(self.url)
            return self._engine_obj

    def _write(self, rows: list[dict[str, Any]]) -> bool:
        try:
            path = sqlite_file(self.url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            engine = self._engine()
            if not self._table_ready:
                METADATA.create_all(engine, checkfirst=True)
                with engine.begin() as conn:
                    add_missing_columns(conn, TABLE)
                self._table_ready = True
            with engine.begin() as conn:
                conn.execute(TABLE.insert(), rows)
        except Exception as exc:
            self._warn_once(
                "write",
                "scenario log: cannot write to %s (%s); predictions go on, their rows are lost "
                "until the store is back",
                masked_url(self.url),
                reason(exc, self.url),
            )
            return False
        with self._cond:
            recovered = "write" in self._warned
            self._warned.discard("write")
        if recovered:
            log.warning("scenario log: writing to %s again", masked_url(self.url))
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every recorded row is written or given up; False if ``timeout`` ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: self._counts["pending"] == 0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (up to ``timeout``), stop the writer; later records are ignored."""
        with self._cond:
            self._closed = True
        self.flush(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            atexit.unregister(self.close)
        if self._engine_obj is not None:
            self._engine_obj.dispose()

    def stats(self) -> dict[str, int]:
        """Rows ``written``, ``failed`` (store down), ``dropped`` (queue full, bad input), ``pending``."""
        with self._cond:
            return dict(self._counts)

    # -- reading --------------------------------------------------------------------------------

    def read_frame(self, limit: int | None = None) -> pd.DataFrame:
        """The log's rows (the newest ``limit`` if given), oldest first, ``created_at`` in UTC.

        Raises :class:`ScenarioLogError` if the store cannot be read.
        """
        path = sqlite_file(self.url)
        if path is not None and not path.exists():
            return empty_frame()
        try:
            with self._engine().connect() as conn:
                inspector = sa.inspect(conn)
                if not inspector.has_table(TABLE_NAME):
                    return empty_frame()
                # A store written by an earlier version lacks the newer columns: read what it has.
                stored = {c["name"] for c in inspector.get_columns(TABLE_NAME)}
                query = sa.select(*(c for c in TABLE.columns if c.name in stored))
                query = query.order_by(TABLE.c.created_at.desc(), TABLE.c.id)
                if limit is not None:
                    query = query.limit(limit)
                rows = conn.execute(query).mappings().all()
        except Exception as exc:
            raise ScenarioLogError(
                f"the scenario log at {masked_url(self.url)} cannot be read "
                f"({reason(exc, self.url)})"
            ) from None
        if not rows:
            return empty_frame()
        frame = pd.DataFrame([dict(r) for r in rows], columns=list(LOG_COLUMNS))
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        return frame.iloc[::-1].reset_index(drop=True)
