"""CSV files that a spreadsheet opens safely, written whole or not at all.

Every CSV the project exports (scored plans from the page and the command line, saved scenarios,
the scenario log's download) goes through :func:`spreadsheet_safe`: a cell or header that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, so that a
spreadsheet shows it as text instead of running it as a formula. Numbers stay numbers: numeric
columns are never touched, and text that is a plain number (``-5``, ``+3.5``, ``1e6``) stays as
it is. :func:`write_csv` writes through a temporary file renamed into place, so a failure never
leaves a partial file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd

from predictor.contract.csv_bytes import csv_chunks

FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
# Text a spreadsheet reads as a number, never as a formula: it keeps its sign.
PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
# Rows per chunk when writing: progress is reported after each.
CHUNK_ROWS = 50_000


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column) or column.dtype == object


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and headers cannot run as spreadsheet formulas.

    Vectorized: one pass per text column, whatever the number of rows.
    """
    safe = frame.copy()
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if not _is_text(column):
            continue
        text = column.astype("string")
        risky = text.str.startswith(FORMULA_START).fillna(False)
        if not risky.any():
            continue
        risky &= ~text.str.fullmatch(PLAIN_NUMBER).fillna(False)
        if risky.any():
            changed = column.astype(object).mask(risky, "'" + text.astype(object))
            safe.isetitem(position, changed)
    headers = pd.Series([str(c) for c in safe.columns], dtype="string")
    risky = headers.str.startswith(FORMULA_START) & ~headers.str.fullmatch(PLAIN_NUMBER)
    if risky.any():
        safe.columns = [
            "'" + h if r else c for c, h, r in zip(safe.columns, headers, risky, strict=True)
        ]
    return safe


def csv_text(frame: pd.DataFrame, **to_csv: Any) -> str:
    """``frame`` as spreadsheet-safe CSV text (no index); ``to_csv`` goes to pandas."""
    return spreadsheet_safe(frame).to_csv(index=False, **to_csv)


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "w", **open_args: Any) -> Iterator[IO[Any]]:
    """A file to write ``path`` through: a temporary file beside it, renamed into place when the
    block ends without an error, removed when it fails. ``path`` is never left half written."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, mode, **open_args) as out:
            yield out
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_csv(
    frame: pd.DataFrame,
    target: str | Path | IO[str],
    progress: Callable[[int], None] | None = None,
    **to_csv: Any,
) -> None:
    """Write ``frame`` as spreadsheet-safe CSV, in chunks that report ``progress`` (rows).

    A path is written atomically (see :func:`atomic_file`); an open file is written as it is.
    Without ``to_csv`` options the bytes are built by columns (:mod:`csv_bytes`, the same bytes
    as pandas writes, about 3x faster); otherwise pandas writes them.
    """
    safe = spreadsheet_safe(frame)
    pieces = None if to_csv else csv_chunks(safe)
    if not isinstance(target, str | Path):
        _write(safe, pieces, target, progress, to_csv)
        return
    with atomic_file(target, newline="", encoding="utf-8") as out:
        _write(safe, pieces, out, progress, to_csv)


def _write(
    safe: pd.DataFrame,
    pieces: list[tuple[int, Callable[[], bytes]]] | None,
    out: IO[str],
    progress: Callable[[int], None] | None,
    to_csv: dict[str, Any],
) -> None:
    if pieces is None:
        _write_chunks(safe, out, progress, to_csv)
        return
    binary = getattr(out, "buffer", None)
    if binary is not None:
        out.flush()  # anything written as text goes first
    for rows, make in pieces:
        data = make()
        if binary is not None:
            binary.write(data)
        else:
            out.write(data.decode("utf-8"))
        if progress and rows:
            progress(rows)
    if binary is not None:
        binary.flush()


def _write_chunks(
    safe: pd.DataFrame,
    out: IO[str],
    progress: Callable[[int], None] | None,
    to_csv: dict[str, Any],
) -> None:
    for start in range(0, max(len(safe), 1), CHUNK_ROWS):
        part = safe.iloc[start : start + CHUNK_ROWS]
        part.to_csv(out, index=False, header=start == 0, **to_csv)
        if progress:
            progress(len(part))
