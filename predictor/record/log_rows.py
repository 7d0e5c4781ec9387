"""The scenario log's rows: the table, one row from a plan and its answer, and masked store URLs.

A row holds the plan, the answer (purchases and its range at a level), the model and backend that
answered, a UTC timestamp, and a scenario name only when the user saved one. Nothing else: no IP
address, no user agent, no other free text.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from predictor.contract.plan import FIELD_RULES, PLAN_FIELDS, CampaignPlan
from predictor.serving.settings import ConfigError

TABLE_NAME = "scenario_log"
ANSWER_FIELDS = ("purchases", "lower", "upper", "level")
LOG_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    *PLAN_FIELDS,
    *ANSWER_FIELDS,
    "model",
    "model_version",
    "backend",
    "scenario_name",
)
MAX_NAME = 200
DATA_DIR = Path("/data")
_OFF = {"off", "0", "false", "no"}
_ON = {"", "on", "1", "true", "yes"}
_SECRET_KEYS = ("password", "token", "secret", "key", "pwd")

METADATA = sa.MetaData()
TABLE = sa.Table(
    TABLE_NAME,
    METADATA,
    # A client-made id: no autoincrement, which not every SQL warehouse has.
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),  # UTC
    *(
        sa.Column(f, sa.Integer if rule.whole else sa.Float, nullable=False)
        for f, rule in FIELD_RULES.items()
    ),
    sa.Column("purchases", sa.Integer, nullable=False),
    sa.Column("lower", sa.Integer, nullable=False),
    sa.Column("upper", sa.Integer, nullable=False),
    sa.Column("level", sa.Float, nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    # Added after the first release: nullable, so that older rows and stores stay valid.
    sa.Column("model_version", sa.String(64), nullable=True),
    sa.Column("backend", sa.String(32), nullable=False),
    sa.Column("scenario_name", sa.String(MAX_NAME), nullable=True),
)


class Answer(Protocol):
    """What the log keeps of an answer (a :class:`predictor.Prediction` has it, and its
    ``model_version``, which is kept when present)."""

    purchases: int
    lower: int
    upper: int
    level: float
    backend: str


def add_missing_columns(conn: sa.Connection, table: sa.Table) -> list[str]:
    """Add to the stored ``table`` the nullable columns it lacks (a store made by an earlier
    version); return their names. Existing rows get NULL."""
    stored = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    added = []
    for column in table.columns:
        if column.name in stored or not column.nullable:
            continue
        kind = column.type.compile(dialect=conn.dialect)
        name = conn.dialect.identifier_preparer.quote(column.name)
        table_name = conn.dialect.identifier_preparer.quote(table.name)
        conn.execute(sa.text(f"ALTER TABLE {table_name} ADD COLUMN {name} {kind}"))
        added.append(column.name)
    return added


def _secrets(url: URL) -> list[str]:
    values = [url.password] if url.password else []
    for key, value in url.query.items():
        if any(s in key.lower() for s in _SECRET_KEYS):
            values.extend([value] if isinstance(value, str) else value)
    return [str(v) for v in values if v]


def masked_url(url: str | URL) -> str:
    """``url`` with its password and secret-looking query values replaced by ``***``."""
    try:
        parsed = make_url(url)
    except Exception:
        return "<unparseable URL>"
    query = {
        k: ("***" if any(s in k.lower() for s in _SECRET_KEYS) else v)
        for k, v in parsed.query.items()
    }
    return parsed.set(query=query).render_as_string(hide_password=True)


def _scrub(text: str, url: URL) -> str:
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text[:300]


def reason(exc: BaseException, url: URL) -> str:
    """A one-line cause without the SQL, its parameters, or secrets."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return _scrub(f"{type(cause).__name__}: {first}", url)


def default_sqlite_path(environ: Mapping[str, str], data_dir: Path = DATA_DIR) -> Path:
    """Where the SQLite log goes: ``SCENARIO_LOG_PATH``, else ``data_dir`` if writable, else cwd."""
    explicit = str(environ.get("SCENARIO_LOG_PATH") or "").strip()
    if explicit:
        return Path(explicit).expanduser().resolve()
    if data_dir.is_dir() and os.access(data_dir, os.W_OK | os.X_OK):
        return data_dir / "scenario_log.sqlite"
    return Path.cwd() / ".scenario_log" / "scenario_log.sqlite"


def store_url(environ: Mapping[str, str]) -> URL | None:
    """The store's URL from ``SCENARIO_LOG*`` settings; None when the log is off.

    Raises :class:`ConfigError` for a value that cannot work (it says what to change).
    """
    switch = str(environ.get("SCENARIO_LOG") or "").strip().lower()
    if switch in _OFF:
        return None
    if switch not in _ON:
        raise ConfigError("SCENARIO_LOG must be on or off")
    text = str(environ.get("SCENARIO_LOG_URL") or "").strip()
    if not text:
        return URL.create("sqlite", database=str(default_sqlite_path(environ)))
    try:
        url = make_url(text)
    except Exception:
        raise ConfigError(
            "SCENARIO_LOG_URL is not a SQLAlchemy URL (dialect+driver://user:password@host/db)"
        ) from None
    try:
        url.get_dialect()
    except Exception:
        raise ConfigError(
            f"SCENARIO_LOG_URL needs the SQLAlchemy dialect {url.drivername!r}, which is not "
            "installed; install its package (e.g. psycopg[binary], databricks-sqlalchemy)"
        ) from None
    return url


def make_engine(url: URL) -> sa.Engine:
    """An engine for the store at ``url``: connections checked before use, and a 10 s connect
    timeout for PostgreSQL unless the URL sets one."""
    args: dict[str, Any] = {}
    if url.get_driver_name() in ("psycopg", "psycopg2") and "connect_timeout" not in url.query:
        args = {"connect_timeout": 10}
    return sa.create_engine(url, pool_pre_ping=True, connect_args=args)


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite ``url``; None for other stores and in-memory SQLite."""
    db = url.database
    if url.get_backend_name() != "sqlite" or not db or db == ":memory:":
        return None
    return Path(db)


def _clean_name(name: str | None) -> str | None:
    if name is None:
        return None
    text = " ".join(str(name).split())[:MAX_NAME]
    return text or None


def scenario_row(
    plan: CampaignPlan,
    answer: Answer,
    *,
    model: str,
    scenario_name: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One log row: the plan's fields, the answer, ``model``, the backend, a UTC time, the name."""
    if not isinstance(plan, CampaignPlan):
        raise TypeError(f"plan must be a CampaignPlan, not {type(plan).__name__}")
    when = (at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    return {
        "id": uuid.uuid4().hex,
        "created_at": when,
        **{f: getattr(plan, f) for f in PLAN_FIELDS},
        "purchases": int(answer.purchases),
        "lower": int(answer.lower),
        "upper": int(answer.upper),
        "level": float(answer.level),
        "model": str(model)[:64],
        "model_version": str(getattr(answer, "model_version", "") or "")[:64] or None,
        "backend": str(answer.backend)[:32],
        "scenario_name": _clean_name(scenario_name),
    }


def empty_frame() -> pd.DataFrame:
    """A log frame with no rows and the log's columns."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})
