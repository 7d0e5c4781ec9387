"""Whole-file problems in the input tables: ragged rows and empty files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.data import CAMPAIGNS, write_files
from training.data import DataError, load_dataset


def test_ragged_row_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_dataset(write_files(tmp_path, campaigns=CAMPAIGNS + "3,Short,2025-01-01\n"))
    assert "campaigns.csv" in str(caught.value)


def test_empty_campaigns_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"campaigns\.csv.*no campaigns"):
        load_dataset(write_files(tmp_path, campaigns=CAMPAIGNS.splitlines()[0] + "\n"))
