"""The scenario log's rows: the table, one row from a plan and its answer, and masked store URLs.

A row holds the plan, the answer (purchases and its range at a level), the model and backend that
answered, a UTC timestamp, and a scenario name only when the user saved one. Nothing else: no IP
address, no user agent, no other free text.
"""

from __future__ import annotations

import hashlib
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
from predictor.contract.redaction import sanitize
from predictor.serving.settings import ConfigError, Settings, settings_of

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
REASON_LIMIT = 300
DATA_DIR = Path("/data")
LOG_SETTINGS = ("SCENARIO_LOG", "SCENARIO_LOG_URL", "SCENARIO_LOG_PATH", "SCENARIO_LOG_SPOOL")
_SECRET_KEYS = ("password", "token", "secret", "key", "pwd")


def plan_columns() -> list[sa.Column]:
    """A table's columns for a plan's fields, typed by the plan's rules."""
    return [
        sa.Column(f, sa.Integer if rule.whole else sa.Float, nullable=False)
        for f, rule in FIELD_RULES.items()
    ]


def answer_columns() -> list[sa.Column]:
    """A table's columns for the range shown with a prediction, and what answered."""
    return [
        sa.Column("lower", sa.Integer, nullable=False),
        sa.Column("upper", sa.Integer, nullable=False),
        sa.Column("level", sa.Float, nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        # Added after the first release: nullable, so that older rows and stores stay valid.
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("backend", sa.String(32), nullable=False),
    ]


def ensure_sqlite_folder(url: URL) -> None:
    """Create the folder of a SQLite store's file (other stores need nothing)."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def record_table(name: str, metadata: sa.MetaData, stamp: str, *columns: sa.Column) -> sa.Table:
    """A table of records: a client-made ``id`` (no autoincrement, which not every SQL warehouse
    has), the UTC time ``stamp``, then ``columns``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(stamp, sa.DateTime(), nullable=False),
        *columns,
    )


METADATA = sa.MetaData()
TABLE = record_table(
    TABLE_NAME,
    METADATA,
    "created_at",
    *plan_columns(),
    sa.Column("purchases", sa.Integer, nullable=False),
    *answer_columns(),
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


def reason(exc: BaseException, url: URL) -> str:
    """A one-line cause without the SQL, its parameters, or secrets."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return sanitize(f"{type(cause).__name__}: {first}", _secrets(url), limit=REASON_LIMIT)


def default_sqlite_path(
    settings: Settings | Mapping[str, str] | None = None, data_dir: Path = DATA_DIR
) -> Path:
    """Where the SQLite log goes: ``SCENARIO_LOG_PATH``, else ``data_dir`` if writable, else cwd."""
    explicit = settings_of(settings).scenario_log_path
    if explicit:
        return explicit.expanduser().resolve()
    if data_dir.is_dir() and os.access(data_dir, os.W_OK | os.X_OK):
        return data_dir / "scenario_log.sqlite"
    return Path.cwd() / ".scenario_log" / "scenario_log.sqlite"


def store_url(settings: Settings | Mapping[str, str] | None = None) -> URL | None:
    """The store's URL from the ``SCENARIO_LOG*`` settings; None when the log is off.

    Raises :class:`ConfigError` for a value that cannot work (it says what to change, and never
    shows the URL, which may hold a password).
    """
    settings = settings_of(settings)
    invalid = [settings.invalid[k] for k in LOG_SETTINGS if k in settings.invalid]
    if invalid:
        raise ConfigError(invalid[0])
    if not settings.scenario_log:
        return None
    if settings.scenario_log_url is None:
        return URL.create("sqlite", database=str(default_sqlite_path(settings)))
    try:
        url = make_url(settings.scenario_log_url.get_secret_value())
    except Exception:
        raise ConfigError(
            "the store's address (SCENARIO_LOG_URL) is invalid: it is not a SQLAlchemy URL "
            "(dialect+driver://user:password@host/db)"
        ) from None
    try:
        url.get_dialect()
    except Exception:
        raise ConfigError(
            "the store's address (SCENARIO_LOG_URL) is invalid here: it needs the SQLAlchemy "
            f"dialect {url.drivername!r}, which is not installed; install its package (e.g. "
            "psycopg[binary], databricks-sqlalchemy)"
        ) from None
    return url


def spool_file(settings: Settings | Mapping[str, str] | None, url: URL) -> Path | None:
    """Where rows wait while the store at ``url`` is down: ``SCENARIO_LOG_SPOOL`` (a file, or
    ``memory`` for none), else a file named after the store beside the default SQLite file."""
    settings = settings_of(settings)
    explicit = (settings.scenario_log_spool or "").strip()
    if explicit.lower() == "memory":
        return None
    if explicit:
        return Path(explicit).expanduser().resolve()
    # Named by the store's address without its password, so rotating the password keeps it.
    name = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:12]
    folder = default_sqlite_path(settings.model_copy(update={"scenario_log_path": None}))
    return folder.parent / f"scenario_log_spool_{name}.jsonl"


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
