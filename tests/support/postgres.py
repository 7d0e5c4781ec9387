"""A real PostgreSQL server on loopback for the tests, from Debian's binaries.

``postgres_server`` (session): ``initdb`` into a temporary folder, ``pg_ctl start`` on a free port
of 127.0.0.1 with password authentication, ``pg_ctl stop`` at the end. As root, the server runs as
the ``postgres`` user, which owns the folder. Without the binaries the fixture fails, saying how to
install them (``.ci/run`` does). ``postgres_url``: a fresh, empty database on that server per test.

A pytest plugin, registered in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.common import free_port

PG_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; install Debian's "
    "package (apt-get install -y postgresql), as .ci/run does"
)


def pg_bin_dir(root: Path = PG_ROOT) -> Path | None:
    """The ``bin`` folder of the newest PostgreSQL under ``root`` that has initdb and pg_ctl."""
    found = [
        p / "bin"
        for p in root.glob("*")
        if (p / "bin" / "initdb").is_file() and (p / "bin" / "pg_ctl").is_file()
    ]
    found.sort(key=lambda b: [int(x) if x.isdigit() else 0 for x in b.parent.name.split(".")])
    return found[-1] if found else None


@dataclass
class PostgresServer:
    """A server started by :func:`postgres_server`; ``stop``/``start`` keep its port and data."""

    bin_dir: Path
    folder: Path
    port: int
    password: str
    user: str | None  # the OS user that runs the server, when the tests run as root

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of ``database``."""
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        extra = {"user": self.user, "group": self.user, "extra_groups": []} if self.user else {}
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.folder,
            timeout=120,
            check=False,
            **extra,
        )

    def _check(self, done: subprocess.CompletedProcess, what: str) -> None:
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"{what} failed ({done.returncode}): {done.stderr[-2000:]}\n{tail}")

    def init(self) -> None:
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.user:
            os.chown(pwfile, pwd.getpwnam(self.user).pw_uid, -1)
        done = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "--username=postgres",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        self._check(done, "initdb")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
            "-c max_connections=200"
        )
        done = self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", "server.log", "-o", options, "-w", "start"
        )
        self._check(done, "pg_ctl start")

    def stop(self) -> None:
        self._check(
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"), "stop"
        )

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server on 127.0.0.1 for the whole session."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        pytest.fail(INSTALL_HINT)
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root needs the 'postgres' OS user (Debian's package makes it)")
        user = "postgres"
    # Not under pytest's own temp root: that is private to the current user.
    folder = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bin_dir, folder, free_port(), secrets.token_hex(12), user)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if (server.data_dir / "postmaster.pid").exists():
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of a fresh, empty database on the session's server."""
    return postgres_server.create_database()
