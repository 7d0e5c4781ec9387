"""Where each table of a data folder lives, and reading it as Arrow: whole, or in batches.

A table NAME is read from ``NAME.csv``, from ``NAME.parquet`` (a file or a folder of files), or
from a folder ``NAME/`` that holds a Delta table, Parquet files or CSV files.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as pads

from predictor.contract.csv_text import header_names, repeated_column, scan_file
from training.checks import FIRST_DATA_LINE, DataError, Rows
from training.schema import AD_CATEGORIES, EVENT_CATEGORIES

CSV, PARQUET, DELTA = "csv", "parquet", "delta"
# Columns of few distinct values are read dictionary-encoded: each value is then checked once.
CATEGORY_COLUMNS = frozenset({*AD_CATEGORIES, *EVENT_CATEGORIES})
_TEXT, _CATEGORY = pa.string(), pa.dictionary(pa.int32(), pa.string())
# Rows per batch when streaming follow the CSV block size: 16 MiB is about 270,000 events,
# large enough that per-batch overhead is small and small enough to keep memory flat.
BLOCK_SIZE = 16 << 20


@dataclass(frozen=True)
class Source:
    """One table of a data folder: its name, its path and its format."""

    name: str
    path: Path
    format: str

    @property
    def file(self) -> str:
        """How errors name the source."""
        return str(self.path)

    @property
    def first_line(self) -> int | None:
        """File line of the first row; None where lines mean nothing (Parquet, several files)."""
        return FIRST_DATA_LINE if self.format == CSV and self.path.is_file() else None


def data_folder(data_dir: str | Path) -> Path:
    """``data_dir`` as a Path; a DataError if it is not a folder."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DataError(
            folder,
            "data folder not found",
            hint="Pass a folder that holds campaigns.csv, ads.csv and ad_events.csv "
            "(or the same tables as Parquet)",
        )
    return folder


def find_source(
    folder: Path, name: str, columns: Sequence[str], *, required: bool = True
) -> Source | None:
    """The source of table ``name`` in ``folder``; None (or a DataError if required) when absent."""
    csv_file, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
    if csv_file.is_file():
        return Source(name, csv_file, CSV)
    if parquet.exists():
        return Source(name, parquet, PARQUET)
    table_dir = folder / name
    if table_dir.is_dir():
        if (table_dir / "_delta_log").is_dir():
            return Source(name, table_dir, DELTA)
        for pattern, form in (("*.parquet", PARQUET), ("*.csv", CSV)):
            if any(table_dir.glob(pattern)):
                return Source(name, table_dir, form)
    if not required:
        return None
    raise DataError(
        csv_file,
        "required file is missing",
        hint=f"Put {csv_file.name} (or {parquet.name}) with the columns {', '.join(columns)} "
        f"in {folder}",
    )


def missing_columns_error(
    file: str, columns: Sequence[str], found: Sequence[str], line: int | None
) -> DataError | None:
    """The error for required ``columns`` absent from ``found``, or None if all are there."""
    missing = [column for column in columns if column not in found]
    if not missing:
        return None
    return DataError(
        file,
        f"required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
        f"(found: {', '.join(found) or 'no header'})",
        column=missing[0],
        line=line,
        hint=f"The header line must contain {', '.join(columns)}",
    )


def csv_files(source: Source) -> list[Path]:
    """The CSV files of a CSV source: the file, or the folder's files in name order."""
    return [source.path] if source.path.is_file() else sorted(source.path.glob("*.csv"))


def check_csv_text(source: Source) -> None:
    """Refuse a CSV source whose bytes are not UTF-8 or whose quotes leave rows to merge,
    naming the file and the line (the whole file is scanned: for the small tables)."""
    if source.format != CSV:
        return
    for path in csv_files(source):
        problem = scan_file(path)
        if problem is not None:
            raise DataError(path, problem.problem, line=problem.line, hint=problem.hint)


def csv_error(source: Source, error: object) -> DataError:
    """The error for a table a reader refused: the line at fault when a scan of the file finds
    it (bytes that are not UTF-8, a quote left open), else the reader's own words."""
    try:
        check_csv_text(source)
    except DataError as found:
        return found
    return unreadable_error(source, error)


def read_rows(source: Source, columns: Sequence[str]) -> Rows:
    """The required ``columns`` of a whole table, in that order (CSV cells as text)."""
    check_csv_text(source)
    dataset = _dataset(source, columns)
    try:
        table = dataset.to_table(columns=list(columns))
    except (pa.ArrowException, UnicodeDecodeError) as error:
        raise unreadable_error(source, error) from None
    return Rows(table.combine_chunks(), source.file, source.first_line)


def read_batches(source: Source, columns: Sequence[str]) -> Iterator[Rows]:
    """The required ``columns`` of a table in batches, in file order, each knowing its lines.

    The file is not scanned beforehand (it may be large): a batch the reader refuses, or one
    where a quote left open merged lines into a value, is explained by a scan then.
    """
    dataset = _dataset(source, columns)
    first_line = source.first_line
    batches = dataset.to_batches(columns=list(columns), batch_readahead=4, fragment_readahead=1)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, UnicodeDecodeError) as error:
            raise csv_error(source, error) from None
        if source.format == CSV and _has_merged_lines(batch):
            raise csv_error(source, "a value runs over more than one line")
        yield Rows(batch, source.file, first_line)
        if first_line is not None:
            first_line += batch.num_rows


def _has_merged_lines(batch: pa.RecordBatch) -> bool:
    """Whether any text value holds a line break: a quote left open merged lines into it."""
    for values in batch.columns:
        if pa.types.is_dictionary(values.type):
            values = values.dictionary
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            continue
        for line_break in ("\n", "\r"):
            if pc.any(pc.match_substring(values, line_break)).as_py():
                return True
    return False


def _dataset(source: Source, columns: Sequence[str]) -> pads.Dataset:
    """An Arrow dataset of ``source`` whose required columns exist (CSV ones read as text)."""
    if source.format == DELTA:
        raise DataError(
            source.file,
            "a Delta table is read by the Spark engine only",
            hint="Run with --engine spark, or write the table as Parquet",
        )
    if source.format == CSV:
        files = csv_files(source)
        header = csv_header(files[0])
        error = missing_columns_error(source.file, columns, header, 1)
        if error:
            raise error
        file_format = pads.CsvFileFormat(
            read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
        )
        # An explicit schema: no block is read to infer types, extra columns are skipped.
        schema = pa.schema([(c, _CATEGORY if c in CATEGORY_COLUMNS else _TEXT) for c in columns])
        return _open(source, [str(f) for f in files], file_format, schema)
    dataset = _open(source, str(source.path), "parquet", None)
    error = missing_columns_error(source.file, columns, dataset.schema.names, None)
    if error:
        raise error
    return dataset


def _open(
    source: Source, paths: str | list[str], file_format: object, schema: pa.Schema | None
) -> pads.Dataset:
    try:
        return pads.dataset(paths, format=file_format, schema=schema)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as error:
        raise unreadable_error(source, error) from None


def unreadable_error(source: Source, error: object) -> DataError:
    """The error for a table that cannot be read, with the reader's own words in brackets."""
    if source.format == CSV:
        return DataError(
            source.file,
            f"not a readable CSV file ({error})",
            hint="Save it as UTF-8 CSV with one value per column on every row",
        )
    kind = f"{source.format.capitalize()} table"
    return DataError(
        source.file, f"not a readable {kind} ({error})", hint=f"Write it again as {kind}"
    )


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header line; a DataError if it is not UTF-8 text or
    names a column twice (readers would rename or drop the second)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            first = handle.readline()
    except UnicodeDecodeError:
        raise DataError(
            path, "the header is not UTF-8 text", line=1, hint="Save the file as UTF-8"
        ) from None
    names = header_names(first) if first.strip() else []
    repeated = repeated_column(names)
    if repeated is not None:
        name, first_at, again_at = repeated
        raise DataError(
            path,
            f"the header names the column {name!r} twice (columns {first_at} and {again_at})",
            column=name,
            line=1,
            hint="Rename or remove one of them",
        )
    return names
