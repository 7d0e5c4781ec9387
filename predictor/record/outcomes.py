"""The outcome store: what plans actually brought, in the same SQLAlchemy store as the scenario log.

Recording is an explicit act (a button, an API call, a file), so it is written at once, in one
transaction, and the caller learns what was kept and what was refused, row by row. A saved
scenario has one outcome: a second one for the same scenario is refused unless ``replace`` is
asked for. See :mod:`predictor.record.outcome_rows` for what a row holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from predictor.record.log_rows import (
    TABLE,
    TABLE_NAME,
    ensure_sqlite_folder,
    make_engine,
    masked_url,
    reason,
    sqlite_file,
    store_url,
)
from predictor.record.outcome_rows import (
    OUTCOME_COLUMNS,
    OUTCOME_METADATA,
    OUTCOME_TABLE,
    OUTCOME_TABLE_NAME,
    empty_outcomes,
)


class OutcomeStoreError(RuntimeError):
    """The store cannot be read or written; the message names it (password masked) and why."""


@dataclass(frozen=True)
class Refusal:
    """A row that was not recorded: its line in the file (None for a single entry) and why.

    ``duplicate`` marks a result for a scenario that already has one (``replace`` would take it).
    """

    line: int | None
    reason: str
    duplicate: bool = False

    def __str__(self) -> str:
        return self.reason if self.line is None else f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Receipt:
    """What :meth:`OutcomeStore.add` did: rows added (replacements included), rows that replaced
    an earlier result, and the refused rows in line order."""

    added: int = 0
    replaced: int = 0
    refused: tuple[Refusal, ...] = field(default_factory=tuple)

    def merged(self, refused: Iterable[Refusal]) -> Receipt:
        """This receipt with more refusals (from checks made before storing), in line order."""
        rows = sorted([*self.refused, *refused], key=lambda r: (r.line is None, r.line or 0))
        return Receipt(self.added, self.replaced, tuple(rows))


Numbered = tuple[int | None, dict[str, Any]]


def _name(row: Mapping[str, Any]) -> str:
    name = row.get("scenario_name")
    return f"scenario {name!r}" if name else "the same plan"


def _dedupe(rows: Iterable[Numbered], replace: bool) -> tuple[list[Numbered], list[Refusal]]:
    """One row per scenario: the last when replacing, else the first (the others refused)."""
    kept: dict[Any, Numbered] = {}
    refused: list[Refusal] = []
    for line, row in rows:
        key = row["scenario_key"]
        if key in kept and not replace:
            earlier = kept[key][0]
            where = f" on line {earlier}" if earlier is not None else ""
            refused.append(
                Refusal(
                    line,
                    f"{_name(row)} already has a result{where}; replace it explicitly to change it",
                    duplicate=True,
                )
            )
            continue
        kept.pop(key, None)
        kept[key] = (line, row)
    return list(kept.values()), refused


class OutcomeStore:
    """Outcomes in the store at ``url`` (the scenario log's store), written synchronously."""

    def __init__(self, url: str | URL) -> None:
        self.url = make_url(url)
        self._lock = threading.Lock()
        self._engine_obj: Engine | None = None
        self._table_ready = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OutcomeStore | None:
        """The store the ``SCENARIO_LOG*`` settings name; None when the log is off.

        Raises :class:`predictor.ConfigError` for a value that cannot work.
        """
        url = store_url(environ)
        return None if url is None else cls(url)

    @classmethod
    def of_log(cls, log: Any) -> OutcomeStore | None:
        """The store of a scenario log (None for the null log: ``SCENARIO_LOG=off``)."""
        url = getattr(log, "url", None)
        return None if url is None or not getattr(log, "enabled", False) else cls(url)

    def __repr__(self) -> str:
        return f"OutcomeStore(url={masked_url(self.url)!r})"

    def _engine(self) -> Engine:
        with self._lock:
            if self._engine_obj is None:
                self._engine_obj = make_engine(self.url)
            return self._engine_obj

    def _error(self, what: str, exc: BaseException) -> OutcomeStoreError:
        return OutcomeStoreError(
            f"the outcome store at {masked_url(self.url)} cannot be {what} ({reason(exc, self.url)})"
        )

    def close(self) -> None:
        """Release the store's connections."""
        if self._engine_obj is not None:
            self._engine_obj.dispose()

    # -- writing --------------------------------------------------------------------------------

    def add(self, rows: Iterable[Numbered], replace: bool = False) -> Receipt:
        """Store ``(line, row)`` pairs (rows of :func:`outcome_row`) in one transaction.

        A result for a scenario that has one (in the store, or earlier in ``rows``) is refused,
        unless ``replace``: then it takes the earlier one's place. Raises
        :class:`OutcomeStoreError` if the store cannot be written (nothing is then stored).
        """
        kept, refused = _dedupe(rows, replace)
        try:
            ensure_sqlite_folder(self.url)
            engine = self._engine()
            if not self._table_ready:
                OUTCOME_METADATA.create_all(engine, checkfirst=True)
                self._table_ready = True
            with engine.begin() as conn:
                kept, more, replaced = self._against_stored(conn, kept, replace)
                if kept:
                    conn.execute(OUTCOME_TABLE.insert(), [row for _, row in kept])
        except sa.exc.IntegrityError:
            raise OutcomeStoreError(
                "another result for the same scenario was recorded at the same moment; "
                "nothing was stored, try again"
            ) from None
        except sa.exc.SQLAlchemyError as exc:
            raise self._error("written", exc) from None
        except OSError as exc:
            raise self._error("written", exc) from None
        return Receipt(len(kept), replaced).merged([*refused, *more])

    def _against_stored(
        self, conn: sa.Connection, kept: list[Numbered], replace: bool
    ) -> tuple[list[Numbered], list[Refusal], int]:
        """Drop (or, with ``replace``, delete the stored twin of) rows whose scenario has a result."""
        keys = [row["scenario_key"] for _, row in kept]
        if not keys:
            return kept, [], 0
        table = OUTCOME_TABLE
        stored = {
            r.scenario_key: r
            for chunk in _chunks(keys, 500)
            for r in conn.execute(
                sa.select(
                    table.c.scenario_key, table.c.actual_purchases, table.c.recorded_at
                ).where(table.c.scenario_key.in_(chunk))
            )
        }
        if not stored:
            return kept, [], 0
        if replace:
            for chunk in _chunks(list(stored), 500):
                conn.execute(table.delete().where(table.c.scenario_key.in_(chunk)))
            return kept, [], len(stored)
        out, refused = [], []
        for line, row in kept:
            old = stored.get(row["scenario_key"])
            if old is None:
                out.append((line, row))
                continue
            when = pd.Timestamp(old.recorded_at).strftime("%Y-%m-%d")
            refused.append(
                Refusal(
                    line,
                    f"{_name(row)} already has a result ({old.actual_purchases:,} "
                    f"purchases, recorded {when}); replace it explicitly to change it",
                    duplicate=True,
                )
            )
        return out, refused, 0

    # -- reading --------------------------------------------------------------------------------

    def read_frame(self) -> pd.DataFrame:
        """Every outcome, oldest first; times in UTC. Raises :class:`OutcomeStoreError`."""
        path = sqlite_file(self.url)
        if path is not None and not path.exists():
            return empty_outcomes()
        query = sa.select(OUTCOME_TABLE).order_by(OUTCOME_TABLE.c.recorded_at, OUTCOME_TABLE.c.id)
        try:
            with self._engine().connect() as conn:
                if not sa.inspect(conn).has_table(OUTCOME_TABLE_NAME):
                    return empty_outcomes()
                rows = conn.execute(query).mappings().all()
        except sa.exc.SQLAlchemyError as exc:
            raise self._error("read", exc) from None
        if not rows:
            return empty_outcomes()
        frame = pd.DataFrame([dict(r) for r in rows], columns=list(OUTCOME_COLUMNS))
        for column in ("recorded_at", "predicted_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame

    def saved_scenario(self, name: str) -> dict[str, Any] | None:
        """The newest scenario log row saved under ``name`` (the plan and the answer shown), or
        None. Raises :class:`OutcomeStoreError` if the log cannot be read."""
        path = sqlite_file(self.url)
        if path is not None and not path.exists():
            return None
        try:
            with self._engine().connect() as conn:
                inspector = sa.inspect(conn)
                if not inspector.has_table(TABLE_NAME):
                    return None
                stored = {c["name"] for c in inspector.get_columns(TABLE_NAME)}
                query = (
                    sa.select(*(c for c in TABLE.columns if c.name in stored))
                    .where(TABLE.c.scenario_name == name)
                    .order_by(TABLE.c.created_at.desc(), TABLE.c.id)
                    .limit(1)
                )
                row = conn.execute(query).mappings().first()
        except sa.exc.SQLAlchemyError as exc:
            raise self._error("read", exc) from None
        return None if row is None else dict(row)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stamp(value: datetime | None) -> str:
    """A UTC time as ``YYYY-MM-DD HH:MM``; empty for none."""
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")
