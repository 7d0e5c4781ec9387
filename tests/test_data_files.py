"""Whole-file problems in the input tables: ragged rows, empty files, bytes that are not UTF-8,
quotes left open, repeated columns, durations that disagree with the dates, and --out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.data import CAMPAIGNS, EVENTS, write_files
from training.data import DataError, load_dataset


def test_ragged_row_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, campaigns=CAMPAIGNS + "3,Short,2025-01-01\n"))
    assert "campaigns.csv" in str(caught.value)


def test_empty_campaigns_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"campaigns\.csv.*no campaigns"):
        load_dataset(write_files(tmp_path, campaigns=CAMPAIGNS.splitlines()[0] + "\n"))


def test_a_byte_that_is_not_utf8_is_named_by_its_line(tmp_path: Path) -> None:
    folder = write_files(tmp_path)
    ads = (folder / "ads.csv").read_bytes().replace(b"Stories", b"Stor\xffies")
    (folder / "ads.csv").write_bytes(ads)
    with pytest.raises(DataError) as caught:
        load_dataset(folder)
    assert caught.value.line == 4
    assert str(caught.value).startswith(f"{folder / 'ads.csv'}, line 4: byte 0xff is not UTF-8")
    assert "position" not in str(caught.value)


def test_a_quote_left_open_is_refused_not_merged(tmp_path: Path) -> None:
    campaigns = CAMPAIGNS.replace("1,Spring,", '1,"Spring,').replace(",Summer,", ',Sum"mer,')
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, campaigns=campaigns))
    assert caught.value.line == 2
    assert "a quote opens a value that does not close on this line" in str(caught.value)


def test_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    lines = CAMPAIGNS.splitlines()
    campaigns = "\n".join([lines[0] + ",total_budget", *(line + ",1" for line in lines[1:])])
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, campaigns=campaigns + "\n"))
    error = caught.value
    assert (error.column, error.line) == ("total_budget", 1)
    assert "names the column 'total_budget' twice (columns 6 and 7)" in str(error)


def test_a_header_only_event_log_is_refused(tmp_path: Path) -> None:
    from training.aggregate import aggregate_dir

    folder = write_files(tmp_path, events=EVENTS.splitlines()[0] + "\n")
    for load in (load_dataset, aggregate_dir):
        with pytest.raises(DataError, match=r"ad_events\.csv: the file has no events"):
            load(folder)


def test_a_duration_that_disagrees_with_the_dates_is_refused(tmp_path: Path) -> None:
    campaigns = CAMPAIGNS.replace(",47,", ",999,")
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, campaigns=campaigns))
    error = caught.value
    assert (error.column, error.line, error.value) == ("duration_days", 3, 999)
    assert "duration_days 999 disagrees with the dates: 2025-06-15 to 2025-08-01 is 47 days" in (
        str(error)
    )
    # One day either way is how the last day is counted.
    load_dataset(write_files(tmp_path, campaigns=CAMPAIGNS.replace(",47,", ",48,")))


def test_aggregate_out_must_be_a_file_outside_the_data(tmp_path: Path, capsys) -> None:
    from training.__main__ import main

    (tmp_path / "data").mkdir()
    folder = write_files(tmp_path / "data")
    args = ["aggregate", "--data-dir", str(folder), "--out"]
    assert main([*args, str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --out {tmp_path} is a folder;")
    before = (folder / "ads.csv").read_text()
    assert main([*args, str(folder / "ads.csv")]) == 2
    assert "is one of the data files" in capsys.readouterr().err
    assert (folder / "ads.csv").read_text() == before
    assert main([*args, str(tmp_path / "table.csv")]) == 0
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["table.csv"]
