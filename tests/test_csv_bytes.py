"""The column-wise CSV writer writes exactly what pandas writes, for every exported CSV."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictor.contract import csv_bytes as csv_writer
from predictor.contract.csv_bytes import csv_chunks
from predictor.contract.csv_export import spreadsheet_safe, write_csv

TEXT = st.text(
    alphabet=st.sampled_from(list("ab ,\"\n\r'=+-@\t;é€0.1"))
    | st.characters(exclude_categories=("Cs",)),
    max_size=12,
)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1e16, 0.9])


def _written(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    write_csv(frame, buffer)
    return buffer.getvalue()


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 30))
    columns = {
        "int": st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n).map(np.array),
        "float": st.lists(FLOATS, min_size=n, max_size=n).map(lambda v: np.array(v, float)),
        "Int64": st.lists(st.none() | st.integers(-999, 999), min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype="Int64")
        ),
        "boolean": st.lists(st.none() | st.booleans(), min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype="boolean")
        ),
        "bool": st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: np.array(v, bool)),
        "str": st.lists(st.none() | TEXT, min_size=n, max_size=n).map(
            lambda v: pd.array(v, dtype="str")
        ),
        "object": st.lists(TEXT, min_size=n, max_size=n).map(lambda v: np.array(v, object)),
    }
    names = draw(st.lists(st.sampled_from(sorted(columns)), min_size=1, max_size=6))
    return pd.DataFrame(
        {
            f"{name} {i}," if i % 3 == 2 else f"{name}{i}": draw(columns[name])
            for i, name in enumerate(names)
        }
    )


@settings(max_examples=300, deadline=None)
@given(tables())
def test_the_text_is_what_pandas_writes(frame: pd.DataFrame) -> None:
    assert _written(frame) == spreadsheet_safe(frame).to_csv(index=False)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"only": ["", "a"]}),  # one column: pandas quotes an empty row
        pd.DataFrame({"a": ["x\x00y", "z"], "b": [1, 2]}),  # NUL characters
        pd.DataFrame({"a": pd.Series([1, True, "1"], dtype=object), "b": [1, 2, 3]}),
        pd.DataFrame({"a": pd.to_datetime(["2024-01-02", None]), "b": [1.5, 2.5]}),
    ],
    ids=["one column", "NUL", "mixed objects", "dates"],
)
def test_tables_it_does_not_cover_are_written_by_pandas(frame: pd.DataFrame) -> None:
    assert csv_chunks(frame) is None
    assert _written(frame) == spreadsheet_safe(frame).to_csv(index=False)


def test_large_tables_are_written_in_pieces_to_a_path(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(csv_writer, "CHUNK_BYTES", 64)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "n": rng.integers(0, 10**6, 1_000),
            "x": rng.random(1_000),
            "t": pd.array(rng.choice(['a,"b"', "c", "", None], 1_000), dtype="str"),
        }
    )
    assert len(csv_chunks(frame)) > 10
    seen: list[int] = []
    write_csv(frame, str(tmp_path / "out.csv"), seen.append)
    assert sum(seen) == len(frame)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == spreadsheet_safe(frame).to_csv(
        index=False
    )


def test_every_column_kind_of_a_scored_table_is_written_here() -> None:
    frame = pd.DataFrame(
        {
            "int": [1, -2, 3],
            "float": [0.9, -0.0, np.nan],
            "Int64": pd.array([1, None, 3], dtype="Int64"),
            "boolean": pd.array([True, None, False], dtype="boolean"),
            "bool": [True, False, True],
            "str": pd.array(['a "quoted", text', None, "line\nbreak"], dtype="str"),
            "object": np.array(["'=1+2", "", "é"], dtype=object),
        }
    )
    assert csv_chunks(frame) is not None
    assert _written(frame) == spreadsheet_safe(frame).to_csv(index=False)
