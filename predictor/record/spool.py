"""Rows waiting for the scenario log's store while it is down: a bounded local spool.

The spool is a JSON-lines file (one row a line, appended as rows come), so rows survive a restart
of the app; without a file (``SCENARIO_LOG_SPOOL=memory``, or when the file cannot be written) it
is a list in memory. Either way it holds at most ``limit`` rows; rows beyond are refused and the
caller counts them as dropped. Rows leave the spool oldest first, once the store has them.

One process uses a spool file at a time (the app is one process). A row may be sent twice if the
process stops between a write and the spool's bookkeeping; the store's writer skips ids it has.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_LIMIT = 100_000
COMPACT_BYTES = 8 * 1024 * 1024  # rewrite the file once this much of it has been sent


def _encode(row: dict[str, Any]) -> str:
    return json.dumps(
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()},
        separators=(",", ":"),
    )


def _decode(line: str) -> dict[str, Any] | None:
    """A row from one line; None for a line cut short (the app stopped while writing it)."""
    try:
        row = json.loads(line)
        row["created_at"] = datetime.fromisoformat(row["created_at"])
    except (ValueError, KeyError, TypeError):
        return None
    return row if isinstance(row, dict) else None


class RowSpool:
    """At most ``limit`` rows, oldest first, in the file at ``path`` (or in memory if None)."""

    def __init__(self, path: str | Path | None, limit: int = DEFAULT_LIMIT) -> None:
        self.path = Path(path) if path is not None else None
        self.limit = limit
        self.file_error: str | None = None  # why the file is not used, once it failed
        self._lock = threading.Lock()
        self._memory: deque[dict[str, Any]] = deque()
        self._offset = 0  # bytes of the file already written to the store
        self._in_file = self._count_file()

    def _count_file(self) -> int:
        if self.path is None or not self.path.is_file():
            return 0
        with self.path.open("r", encoding="utf-8", errors="replace") as fh:
            return sum(1 for line in fh if _decode(line) is not None)

    def __len__(self) -> int:
        with self._lock:
            return self._in_file + len(self._memory)

    def add(self, rows: list[dict[str, Any]]) -> int:
        """Keep ``rows`` (as many as the limit allows, oldest first); the number kept."""
        with self._lock:
            room = max(0, self.limit - self._in_file - len(self._memory))
            kept = rows[:room]
            if not kept:
                return 0
            if self.path is not None and self.file_error is None and not self._memory:
                try:
                    self._append(kept)
                    self._in_file += len(kept)
                    return len(kept)
                except OSError as exc:
                    self.file_error = f"{type(exc).__name__}: {exc.strerror or exc}"
            self._memory.extend(kept)
            return len(kept)

    def _append(self, rows: list[dict[str, Any]]) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write("".join(_encode(row) + "\n" for row in rows))
            fh.flush()
            os.fsync(fh.fileno())

    def peek(self, n: int) -> list[dict[str, Any]]:
        """Up to ``n`` of the oldest rows (from the file first), without removing them."""
        with self._lock:
            if self._in_file:
                return self._read(n)[0]
            return list(self._memory)[:n] if n < len(self._memory) else list(self._memory)

    def _read(self, n: int) -> tuple[list[dict[str, Any]], int]:
        """Up to ``n`` rows from the file's unsent part, and the offset just after them."""
        assert self.path is not None
        rows: list[dict[str, Any]] = []
        offset = self._offset
        with self.path.open("rb") as fh:
            fh.seek(offset)
            while len(rows) < n:
                line = fh.readline()
                if not line:
                    break
                offset += len(line)
                row = _decode(line.decode("utf-8", errors="replace"))
                if row is not None:
                    rows.append(row)
        return rows, offset

    def remove(self, n: int) -> None:
        """Drop the ``n`` oldest rows (those :meth:`peek` gave), now that the store has them."""
        with self._lock:
            if self._in_file:
                rows, offset = self._read(n)
                self._in_file -= len(rows)
                self._offset = offset
                if self._in_file == 0:
                    self._clear_file()
                elif self._offset >= COMPACT_BYTES:
                    self._compact()
                return
            for _ in range(min(n, len(self._memory))):
                self._memory.popleft()

    def _compact(self) -> None:
        """Rewrite the file without its sent part (through a temporary file and a rename)."""
        assert self.path is not None
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            with self.path.open("rb") as source:
                source.seek(self._offset)
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as target:
                    while chunk := source.read(1 << 20):
                        target.write(chunk)
                    target.flush()
                    os.fsync(target.fileno())
            os.replace(temporary, self.path)
            self._offset = 0
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()  # keep the offset: the file as it is still works

    def _clear_file(self) -> None:
        """Every row of the file is in the store: remove the file."""
        assert self.path is not None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._offset = 0
