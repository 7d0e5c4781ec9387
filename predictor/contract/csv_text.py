"""What a CSV file must be before its rows are read: UTF-8 text, quotes that close on their own
line, and a header without a repeated column. Each problem is named by its line or column.

A quote left open makes a CSV reader take every following line into one value until the next
quote, so rows merge without an error; and readers quietly rename or drop a repeated column.
The scan is vectorized (numpy over the bytes) and can be fed a file in chunks.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHUNK_BYTES = 16 << 20
_NEWLINE, _QUOTE = ord("\n"), ord('"')


@dataclass(frozen=True)
class TextProblem:
    """The first line of a CSV file that cannot be read as it is, and how to fix it."""

    line: int
    problem: str
    hint: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}. {self.hint}"


def _not_utf8(line: int, byte: int) -> TextProblem:
    return TextProblem(
        line, f"byte 0x{byte:02x} is not UTF-8 text", "Save the file as UTF-8 (CSV UTF-8)"
    )


def _open_quote(line: int) -> TextProblem:
    return TextProblem(
        line,
        "a quote opens a value that does not close on this line, so the lines below would "
        "merge into one row",
        'Close the quote on the same line (a quote inside a quoted value is written "")',
    )


class TextScan:
    """Feed a CSV file's bytes in order; the first problem found is kept (see :attr:`problem`)."""

    def __init__(self, first_line: int = 1) -> None:
        self.line = first_line  # the line the next byte belongs to
        self.problem: TextProblem | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._open = 0  # quotes seen so far on the current line, modulo 2

    def feed(self, block: bytes) -> TextProblem | None:
        """Scan the next ``block`` of bytes; the first problem so far, or None."""
        if self.problem is not None or not block:
            return self.problem
        found = [p for p in (self._utf8(block), self._quotes(block)) if p is not None]
        self.problem = min(found, key=lambda p: p.line) if found else None
        self.line += block.count(b"\n")
        return self.problem

    def close(self) -> TextProblem | None:
        """The first problem of the whole file, counting what its end leaves open."""
        if self.problem is None:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError as error:
                self.problem = _not_utf8(self.line, error.object[error.start])
        if self.problem is None and self._open:
            self.problem = _open_quote(self.line)
        return self.problem

    def _utf8(self, block: bytes) -> TextProblem | None:
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(block)
        except UnicodeDecodeError as error:
            offset = max(error.start - pending, 0)
            return _not_utf8(self.line + block.count(b"\n", 0, offset), error.object[error.start])
        return None

    def _quotes(self, block: bytes) -> TextProblem | None:
        data = np.frombuffer(block, dtype=np.uint8)
        quotes = np.flatnonzero(data == _QUOTE)
        if not quotes.size:
            # A quote left open before this block stays open up to the block's first newline.
            return _open_quote(self.line) if self._open and b"\n" in block else None
        newlines = np.flatnonzero(data == _NEWLINE)
        # Quotes on each line of the block (the last entry: the line that goes on after it).
        per_line = np.bincount(np.searchsorted(newlines, quotes), minlength=newlines.size + 1)
        per_line[0] += self._open
        odd = np.flatnonzero(per_line[:-1] & 1)
        self._open = int(per_line[-1] & 1)
        return _open_quote(self.line + int(odd[0])) if odd.size else None


def scan_bytes(data: bytes, first_line: int = 1) -> TextProblem | None:
    """The first problem of a whole CSV file held in memory, or None."""
    scan = TextScan(first_line)
    for start in range(0, len(data), CHUNK_BYTES):
        if scan.feed(data[start : start + CHUNK_BYTES]):
            break
    return scan.close()


def scan_file(path: str | Path) -> TextProblem | None:
    """The first problem of a CSV file, read in chunks (memory stays flat), or None."""
    scan = TextScan()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            if scan.feed(block):
                break
    return scan.close()


def header_names(first_line: str) -> list[str]:
    """The column names of a CSV header line, as written (quotes removed), trimmed."""
    return [name.strip() for name in next(csv.reader(io.StringIO(first_line)), [])]


def repeated_column(names: Sequence[str]) -> tuple[str, int, int] | None:
    """The first name that appears twice, with both 1-based positions, or None."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            return name, seen[name], position
        seen[name] = position
    return None
