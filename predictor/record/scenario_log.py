"""An anonymous log of the predictions made in the app, written in the background through SQLAlchemy.

Each row holds the plan, the answer (purchases and its range at a level), the model and backend
that answered, a UTC timestamp, and a scenario name only when the user saved one. Nothing else:
no IP address, no user agent, no other free text.

Settings (``SCENARIO_LOG``, ``SCENARIO_LOG_URL``, ``SCENARIO_LOG_PATH``): see
:class:`predictor.serving.settings.Settings`. The SQLite file is created on the first write.

- ``SCENARIO_LOG_SPOOL``: where rows wait while the store is down: a JSON-lines file (default
  ``scenario_log_spool_<store>.jsonl`` beside the default SQLite file), or ``memory``.

:meth:`ScenarioLog.record` never blocks and never raises: rows go through a bounded queue to one
writer thread that inserts them in batches. While the store is down, rows go to the spool (at
most 100,000; a file, so a restart keeps them), and are written, oldest first, when it answers
again (tried after 0.5 s, then at doubling intervals up to ``retry_seconds``). The outage is
reported once in the log (the URL's password and tokens masked), and once more when it ends.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
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
    ensure_sqlite_folder,
    make_engine,
    masked_url,
    reason,
    scenario_row,
    spool_file,
    sqlite_file,
    store_url,
)
from predictor.record.spool import DEFAULT_LIMIT, RowSpool
from predictor.serving.settings import Settings, settings_of

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
    """The log when ``SCENARIO_LOG=off``, or when its settings cannot work (``reason`` says why):
    records nothing, reads an empty frame."""

    enabled = False

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason

    def record(self, plan: CampaignPlan, answer: Answer, **_: Any) -> None:
        """Do nothing."""

    def flush(self, timeout: float = 10.0) -> bool:
        """Nothing to wait for."""
        return True

    def wait_written(self, timeout: float = 10.0) -> bool:
        """Nothing to wait for."""
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Nothing to close."""

    def read_frame(self, limit: int | None = None) -> pd.DataFrame:
        """An empty log frame."""
        return empty_frame()

    def stats(self) -> dict[str, int]:
        """All zero."""
        return dict.fromkeys(STAT_KEYS, 0)

    def __repr__(self) -> str:
        return "NullLog()" if self.reason is None else f"NullLog(reason={self.reason!r})"


STAT_KEYS = ("written", "spooled", "dropped", "pending")
# Failures of the rows rather than of the store.
REFUSED = (sa.exc.IntegrityError, sa.exc.DataError)
FIRST_RETRY = 0.5  # seconds before the first new try of a store that failed; doubled up to the cap


class ScenarioLog:
    """The log of predictions in the store at ``url``, written by one background thread.

    Rows that cannot be written go to a :class:`RowSpool` (a file at ``spool_path``, else memory;
    at most ``spool_limit`` rows) and are written, oldest first, once the store answers again.
    """

    enabled = True

    def __init__(
        self,
        url: str | URL,
        *,
        max_queue: int = 10_000,
        batch_size: int = 500,
        retry_seconds: float = 30.0,
        spool_path: str | Path | None = None,
        spool_limit: int = DEFAULT_LIMIT,
    ) -> None:
        self.url = make_url(url)
        self.batch_size = batch_size
        self.retry_seconds = retry_seconds
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_queue)
        self._cond = threading.Condition()
        self._spool = RowSpool(spool_path, spool_limit)
        self._counts = {**dict.fromkeys(STAT_KEYS, 0), "spooled": len(self._spool)}
        self._warned: set[str] = set()
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._engine_lock = threading.Lock()
        self._engine_obj: Engine | None = None
        self._table_ready = False
        self._error: Exception | None = None  # the last write's failure
        if self._counts["spooled"]:
            self._start()  # rows an earlier run could not write: write them now

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ScenarioLog | NullLog:
        """The log that ``SCENARIO_LOG``, ``SCENARIO_LOG_URL``, ``SCENARIO_LOG_PATH`` and
        ``SCENARIO_LOG_SPOOL`` describe, read now from ``environ`` (default ``os.environ``) and
        the secrets file.

        Raises :class:`predictor.ConfigError` for a value that cannot work (it says what to change).
        """
        return cls.from_settings(environ)

    @classmethod
    def from_settings(cls, settings: Settings | Mapping[str, str] | None) -> ScenarioLog | NullLog:
        """The log that ``settings`` describe; :class:`predictor.ConfigError` if they cannot work."""
        settings = settings_of(settings)
        url = store_url(settings)
        return NullLog() if url is None else cls(url, spool_path=spool_file(settings, url))

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

    def _take(self) -> list[dict[str, Any]]:
        """Up to ``batch_size`` queued rows; waits a moment for the first."""
        try:
            rows = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(rows) < self.batch_size:
            try:
                rows.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return rows

    def _run(self) -> None:
        first = min(FIRST_RETRY, self.retry_seconds)
        wait = first
        next_try = 0.0
        while not (self._stop.is_set() and self._queue.empty()):
            rows = self._take()
            if self._counts["spooled"]:
                # The store was down: new rows queue up behind the spooled ones.
                self._to_spool(rows)
                if self._stop.is_set() or time.monotonic() < next_try:
                    continue
                if self._drain():
                    wait = first
                    continue
            elif not rows or self._write(rows):
                if rows:
                    self._count(pending=-len(rows), written=len(rows))
                continue
            else:
                self._to_spool(rows)
            next_try = time.monotonic() + wait
            wait = min(2 * wait, self.retry_seconds)

    def _to_spool(self, rows: list[dict[str, Any]]) -> None:
        """Keep ``rows`` until the store answers; those beyond the spool's limit are dropped."""
        if not rows:
            return
        kept = self._spool.add(rows)
        if self._spool.file_error:
            self._warn_once(
                "spool-file",
                "scenario log: the spool file %s cannot be written (%s); pending rows are kept "
                "in memory",
                self._spool.path,
                self._spool.file_error,
            )
        if kept < len(rows):
            self._warn_once(
                "spool-full",
                "scenario log: %d rows wait for the store, the most kept; newer rows are dropped",
                self._spool.limit,
            )
        # Counted last: flush() returns once nothing is pending, so the warnings come first.
        self._count(pending=-len(rows), spooled=kept, dropped=len(rows) - kept)

    def _drain(self) -> bool:
        """Write the spooled rows, oldest first; True once none are left.

        A batch the store answers but refuses (a constraint, a value it cannot take) is retried
        row by row from the oldest, and a row refused on its own is dropped, so one bad row
        cannot hold the others back.
        """
        while True:
            rows = self._spool.peek(self.batch_size)
            if not rows:
                return True
            if not self._write(rows, resent=True):
                if not isinstance(self._error, REFUSED):
                    return False
                rows = rows[:1]
                if not self._write(rows, resent=True):
                    if not isinstance(self._error, REFUSED):
                        return False
                    self._spool.remove(1)
                    self._count(spooled=-1, dropped=1)
                    self._warn_once(
                        "refused", "scenario log: the store refused a row; it was dropped"
                    )
                    continue
            self._spool.remove(len(rows))
            self._count(spooled=-len(rows), written=len(rows))

    def _engine(self) -> Engine:
        with self._engine_lock:
            if self._engine_obj is None:
                self._engine_obj = make_engine(self.url)
            return self._engine_obj

    def _write(self, rows: list[dict[str, Any]], resent: bool = False) -> bool:
        """Insert ``rows``; with ``resent``, only those whose id the store does not have yet
        (a write that failed may have been committed all the same)."""
        try:
            ensure_sqlite_folder(self.url)
            engine = self._engine()
            if not self._table_ready:
                METADATA.create_all(engine, checkfirst=True)
                with engine.begin() as conn:
                    add_missing_columns(conn, TABLE)
                self._table_ready = True
            with engine.begin() as conn:
                if resent:
                    ids = [row["id"] for row in rows]
                    have = set(
                        conn.execute(sa.select(TABLE.c.id).where(TABLE.c.id.in_(ids))).scalars()
                    )
                    rows = [row for row in rows if row["id"] not in have]
                if rows:
                    conn.execute(TABLE.insert(), rows)
        except Exception as exc:
            self._error = exc
            self._warn_once(
                "write",
                "scenario log: cannot write to %s (%s); predictions go on, and their rows are "
                "kept until the store is back",
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
        """Wait until every recorded row is written or spooled; False if ``timeout`` ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: self._counts["pending"] == 0, timeout)

    def wait_written(self, timeout: float = 10.0) -> bool:
        """Wait until every recorded row is in the store (none queued, none spooled)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._counts["pending"] == 0 and self._counts["spooled"] == 0, timeout
            )

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (up to ``timeout``), stop the writer; later records are ignored.

        Rows still queued then go to the spool (with a spool file, the next start writes them).
        """
        with self._cond:
            self._closed = True
        self.flush(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            atexit.unregister(self.close)
        left = []
        while True:
            try:
                left.append(self._queue.get_nowait())
            except queue.Empty:
                break
        self._to_spool(left)
        if self._engine_obj is not None:
            self._engine_obj.dispose()

    def stats(self) -> dict[str, int]:
        """Rows ``written``; ``spooled`` (waiting for the store to come back); ``dropped`` (bad
        input, a full queue or spool); ``pending`` (queued, not yet written or spooled)."""
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
