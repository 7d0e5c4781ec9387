"""What-if helpers and the form's live checks on tiny inline inputs."""

from __future__ import annotations

import pytest

from predictor.planning.whatif import ads_values, budget_values, scale_counts
from ui.plan_form import end_month_text, mix_status


@pytest.mark.parametrize(
    ("counts", "total", "new_total", "expected"),
    [
        ([2, 2], 4, 8, [4, 4]),
        ([1, 1, 1, 1], 4, 6, [2, 2, 1, 1]),
        ([3, 1], 4, 1, [1, 0]),
        ([1, 2, 1], 4, 4, [1, 2, 1]),
        ([0, 0], 4, 10, [0, 0]),
        ([2, 2], 0, 5, [0, 0]),
    ],
)
def test_scale_counts_keeps_shares_and_sums(
    counts: list[int], total: int, new_total: int, expected: list[int]
) -> None:
    scaled = scale_counts(counts, total, new_total)
    assert scaled == expected
    if total and sum(counts) == total:
        assert sum(scaled) == new_total


def test_mix_status_and_end_month() -> None:
    assert mix_status(4, 2, 2).endswith("✓")
    assert "1 more than the total" in mix_status(4, 3, 2)
    assert "2 fewer than the total" in mix_status(4, 1, 1)
    assert "enter whole numbers" in mix_status(None, 1, 1)
    assert end_month_text(5, 60) == "June"
    assert end_month_text(12, 31) == "January"
    assert end_month_text(5, -1).startswith("—")


def test_curve_values_include_the_plan() -> None:
    budgets = budget_values(30_000)
    assert budgets[0] == 0 and budgets[-1] == 60_000 and 30_000 in budgets
    assert 12_345 in budget_values(12_345)
    ads = ads_values(13)
    assert ads[0] == 0 and ads[-1] == 26 and 13 in ads
    assert len(ads_values(100_000)) <= 61
