"""Vectorized checks of raw columns, and the one way every engine reports a bad value.

The checks work on Arrow columns, either text read from CSV or typed columns from Parquet, of a
whole file or of one batch of it (``Rows.first_line`` tells where the batch starts). Each problem
is raised as a :class:`DataError` naming the file, the column, the line and the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from training.schema import INTEREST_SEPARATOR, INTERESTS, WHOLE_NUMBER_PATTERN

# The header is line 1, so the first row of a CSV file is line 2.
FIRST_DATA_LINE = 2


class DataError(ValueError):
    """A data file that cannot be used, with the place of the problem and how to fix it."""

    def __init__(
        self,
        file: str | object,
        problem: str,
        *,
        column: str | None = None,
        line: int | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file)
        self.column = column
        self.line = line
        self.value = value
        self.problem = problem
        self.hint = hint
        place = [self.file]
        if column is not None:
            place.append(f"column '{column}'")
        if line is not None:
            place.append(f"line {line}")
        message = f"{', '.join(place)}: {problem}"
        if hint:
            message += f". {hint}"
        super().__init__(message)


class Rule(NamedTuple):
    """What is wrong with a refused value, and how to fix it."""

    problem: str
    hint: str


WHOLE_NUMBER = Rule("not a whole number", "Write it as digits, like 42")
NUMBER = Rule("not a number", "Write it as a plain number, like 24021.32")


def datetime_rule(example: str) -> Rule:
    """The rule of a date (``example`` like 2025-05-25) or a timestamp column."""
    kind = "date" if len(example) == len("2025-05-25") else "timestamp"
    return Rule(f"not a valid {kind}", f"Write it like {example}")


def category_rule(allowed: Sequence[str]) -> Rule:
    """The rule of a column with a fixed set of values."""
    return Rule("unknown value", f"Allowed values: {', '.join(allowed)}")


@dataclass(frozen=True)
class Rows:
    """Columns of one file, or of one batch of it, and where they were read.

    ``first_line`` is the file line of the first row, or None where lines mean nothing
    (Parquet, Delta, a folder of files): errors then name the value but no line.
    """

    table: pa.Table | pa.RecordBatch
    file: str
    first_line: int | None = FIRST_DATA_LINE

    def __len__(self) -> int:
        return self.table.num_rows

    def column(self, column: str) -> pa.Array:
        """One column as a single array, as stored."""
        values = self.table.column(column)
        if isinstance(values, pa.ChunkedArray):
            values = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
        return values

    def values(self, column: str) -> pa.Array:
        """One column as a single array; text keeps "" for empty cells, dictionaries decoded."""
        values = self.column(column)
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        if _is_text(values.type) and values.null_count:
            values = pc.fill_null(values, "")
        return values

    def value(self, column: str, row: int) -> object:
        """The value of ``column`` at position ``row``, as Python ("" for an empty cell)."""
        value = self.values(column)[row].as_py()
        return "" if value is None else value

    def line(self, row: int) -> int | None:
        return None if self.first_line is None else self.first_line + row


def more(count: int, what: str = "this problem") -> str:
    """Suffix telling how many more rows share the problem."""
    if count <= 0:
        return ""
    return f" ({count} more row{'s' if count > 1 else ''} with {what})"


def describe(value: object) -> str:
    return "an empty value" if value == "" or value is None else repr(value)


def bad_value(
    file: str, column: str, rule: Rule, value: object, count: int, line: int | None
) -> DataError:
    """The error for ``count`` bad values of ``column``, the first being ``value`` on ``line``."""
    return DataError(
        file,
        f"{rule.problem}: {describe(value)}" + more(count - 1),
        column=column,
        line=line,
        value=value,
        hint=rule.hint,
    )


def first_bad(rows: Rows, column: str, bad: np.ndarray, rule: Rule) -> NoReturn:
    """Raise the error for the first True in ``bad``, counting the others."""
    positions = np.flatnonzero(bad)
    row = int(positions[0])
    raise bad_value(
        rows.file, column, rule, rows.value(column, row), positions.size, rows.line(row)
    )


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _first_cast_failure(values: pa.Array, target: pa.DataType) -> int:
    """Position of the first value that cannot be cast, found by bisection (all vectorized)."""
    low, high = 0, len(values)  # the first failure lies in values[low:high]
    while high - low > 1:
        middle = (low + high) // 2
        try:
            pc.cast(values.slice(low, middle - low), target)
        except pa.ArrowException:
            high = middle
        else:
            low = middle
    return low


def _cast(rows: Rows, column: str, target: pa.DataType, rule: Rule) -> pa.Array:
    """Cast a column with Arrow; on failure, name the first value that does not convert."""
    values = rows.values(column)
    try:
        cast = pc.cast(values, target)
    except (pa.ArrowException, NotImplementedError):
        bad = np.zeros(len(values), dtype=bool)
        bad[_first_cast_failure(values, target)] = True
        first_bad(rows, column, bad, rule)
    if cast.null_count:  # typed sources may hold nulls
        first_bad(rows, column, cast.is_null().to_numpy(zero_copy_only=False), rule)
    return cast


def to_int(rows: Rows, column: str, *, non_negative: bool = False) -> np.ndarray:
    """Parse a column of whole numbers (digits, optionally signed with -) into int64."""
    values = rows.values(column)
    if _is_text(values.type):
        # Arrow also reads 0x1F as a number; the schema's rule is plain digits.
        odd = pc.invert(pc.ascii_is_decimal(values)).to_numpy(zero_copy_only=False)
        if odd.any():
            ok = pc.match_substring_regex(values.filter(odd), WHOLE_NUMBER_PATTERN)
            bad = odd.copy()
            bad[odd] = ~ok.to_numpy(zero_copy_only=False)
            if bad.any():
                first_bad(rows, column, bad, WHOLE_NUMBER)
    numbers = _cast(rows, column, pa.int64(), WHOLE_NUMBER).to_numpy(zero_copy_only=False)
    if non_negative and (numbers < 0).any():
        first_bad(rows, column, numbers < 0, WHOLE_NUMBER._replace(problem="must not be negative"))
    return numbers.astype(np.int64, copy=False)


def to_float(rows: Rows, column: str, *, non_negative: bool = False) -> np.ndarray:
    """Parse a column of finite numbers into float64."""
    numbers = _cast(rows, column, pa.float64(), NUMBER).to_numpy(zero_copy_only=False)
    not_finite = ~np.isfinite(numbers)
    if not_finite.any():
        first_bad(rows, column, not_finite, NUMBER._replace(problem="not a finite number"))
    if non_negative and (numbers < 0).any():
        first_bad(rows, column, numbers < 0, NUMBER._replace(problem="must not be negative"))
    return numbers.astype(np.float64, copy=False)


def to_datetime(rows: Rows, column: str, example: str) -> np.ndarray:
    """Parse ISO 8601 dates or timestamps (impossible dates such as 2025-02-30 are refused)."""
    values = rows.values(column)
    if pa.types.is_timestamp(values.type) and values.type.tz is not None:
        values = values.cast(pa.timestamp(values.type.unit))  # wall-clock time in UTC
        rows = Rows(pa.table({column: values}), rows.file, rows.first_line)
    stamps = _cast(rows, column, pa.timestamp("us"), datetime_rule(example))
    return stamps.to_numpy(zero_copy_only=False)


def to_codes(rows: Rows, column: str, allowed: Sequence[str]) -> np.ndarray:
    """Positions in ``allowed`` of a column's values; an unknown value is refused."""
    values = rows.column(column)
    if pa.types.is_dictionary(values.type):  # check each distinct value once
        codes = _index_in(values.dictionary, allowed)
        codes = codes.take(values.indices) if not values.null_count else None
    else:
        codes = _index_in(values, allowed)
    if codes is None or codes.null_count:
        unknown = _index_in(rows.values(column), allowed).is_null()
        first_bad(rows, column, unknown.to_numpy(zero_copy_only=False), category_rule(allowed))
    return codes.to_numpy(zero_copy_only=False).astype(np.int8, copy=False)


def _index_in(values: pa.Array, allowed: Sequence[str]) -> pa.Array:
    if not _is_text(values.type):
        values = values.cast(pa.string())
    return pc.index_in(values, value_set=pa.array(allowed, type=values.type))


def to_category(rows: Rows, column: str, allowed: Sequence[str]) -> pd.Categorical:
    """Check a column against its allowed values and return it as a categorical."""
    return pd.Categorical.from_codes(to_codes(rows, column, allowed), categories=list(allowed))


def check_unique(
    ids: np.ndarray | pd.Series, column: str, file: str, first_line: int | None
) -> None:
    """Raise on the first id that appears a second time, naming both lines."""
    series = pd.Series(ids)
    duplicated = series.duplicated().to_numpy()
    if not duplicated.any():
        return
    row = int(np.flatnonzero(duplicated)[0])
    value = series.iat[row]
    value = value if isinstance(value, str) else int(value)
    first = int(np.flatnonzero((series == value).to_numpy())[0])
    lines = (None, None) if first_line is None else (first + first_line, row + first_line)
    raise duplicate_error(file, column, value, *lines)


def duplicate_error(
    file: str, column: str, value: object, used_on: int | None, line: int | None
) -> DataError:
    """The error for ``value`` repeated on ``line``, first used on line ``used_on``."""
    where = "" if used_on is None else f" on line {used_on}"
    return DataError(
        file,
        f"duplicate {column} {value!r}: already used{where}",
        column=column,
        line=line,
        value=value,
        hint=f"Every {column} must be unique; renumber or remove one of the rows",
    )


def is_increasing(ids: np.ndarray, after: int | None) -> bool:
    """True when ``ids`` rise strictly, and all lie above ``after`` (then no id repeats)."""
    if ids.size == 0:
        return True
    above = after is None or ids[0] > after
    return bool(above and (ids.size == 1 or (ids[1:] > ids[:-1]).all()))


def split_interests(interests: pd.Series) -> pd.Series:
    """One row per interest of a comma-separated interests column (index kept, text stripped)."""
    return interests.str.split(INTEREST_SEPARATOR).explode().str.strip()


def check_interests(rows: Rows, column: str) -> pd.Series:
    """Every comma-separated interest must be known; no ad may have none. Returns the text."""
    text = pd.Series(rows.values(column).to_pylist(), dtype=str)
    parts = split_interests(text)
    bad = ~parts.isin(INTERESTS).to_numpy()
    if bad.any():
        positions = np.unique(parts.index.to_numpy()[bad])
        row = int(positions[0])
        interest = parts.to_numpy()[bad][0]
        problem = (
            "an empty interest"
            if interest == ""
            else f"unknown interest {interest!r} in {text.iat[row]!r}"
        )
        raise DataError(
            rows.file,
            problem + more(positions.size - 1, "bad interests"),
            column=column,
            line=rows.line(row),
            value=text.iat[row],
            hint=f"Use 1 or more comma-separated interests from: {', '.join(INTERESTS)}",
        )
    return text
