"""Honesty beyond the training data: wider ranges, flags, refusal of absurd inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictor import FEATURE_COLUMNS, PlanError
from predictor.contract.plan import extrapolation_warnings
from predictor.serving.extrapolation import (
    TrainingBounds,
    absurd_rows,
    distance_beyond,
    mix_over_total,
    outside_rows,
    refuse_absurd,
    widen_bounds,
)
from tests.support.predictor import APP_PLAN

# The app's default plan, with which the issue saw a budget of 1e12 answered 805,425 ± 3%.
DEFAULT = APP_PLAN


def _row(**values: float) -> np.ndarray:
    row = np.zeros((1, len(FEATURE_COLUMNS)))
    for column, value in values.items():
        row[0, FEATURE_COLUMNS.index(column)] = value
    return row


def test_a_trillion_budget_was_answered_with_a_narrow_range_and_is_now_refused(predictor):
    plan = DEFAULT.replace(total_budget=1e12)
    frame = pd.DataFrame([plan.to_features()], columns=FEATURE_COLUMNS)
    # What the model alone says. Its range by size alone was the issue's ±3%; the plan-aware
    # range sees how far this plan is from every training campaign and is much wider.
    raw = predictor.local_estimator().predict(frame)
    low, high = predictor.ranges.bounds(raw, frame, 0.9)
    assert round(raw[0]) == 805_425
    assert (high[0] - low[0]) / 2 / raw[0] > 0.1
    with pytest.raises(PlanError) as info:
        predictor.predict(plan)
    message = str(info.value)
    assert info.value.field == "total_budget"
    assert "1,000,000,000,000" in message and "5,008 to 119,780" in message
    assert "enter at most 11,977,974" in message
    assert "e+" not in message and "." not in message.split(";")[0].replace("data (", "")


def test_no_ads_does_not_let_an_absurd_budget_through(predictor):
    empty = DEFAULT.replace(total_budget=1e12, total_ads=0)
    with pytest.raises(PlanError, match="more than 100 times"):
        predictor.predict(empty)


def test_beyond_the_range_the_range_widens_relative_to_the_edge(predictor):
    top = predictor.metadata.training_range["total_budget"][1]
    edge = predictor.predict(DEFAULT.replace(total_budget=top))
    far = predictor.predict(DEFAULT.replace(total_budget=10 * top))
    assert not edge.extrapolated and far.extrapolated
    edge_relative = (edge.upper - edge.lower) / (edge.raw + 1)
    far_relative = (far.upper - far.lower) / (far.raw + 1)
    # Whole-number bounds may each lose under 1 purchase.
    assert far_relative >= edge_relative - 2 / (far.raw + 1)
    far_frame = pd.DataFrame([far.features], columns=FEATURE_COLUMNS)
    plain_low, plain_high = predictor.ranges.bounds(np.array([far.raw]), far_frame, 0.9)
    # The plan-aware range already widens with the distance; the edge's never narrows it.
    assert far.upper - far.lower >= plain_high[0] - plain_low[0]
    assert far.lower <= far.purchases <= far.upper


def test_inside_the_range_nothing_changes(predictor):
    answer = predictor.predict(DEFAULT)
    frame = pd.DataFrame([answer.features], columns=FEATURE_COLUMNS)
    low, high = predictor.ranges.bounds(np.array([answer.raw]), frame, 0.9)
    assert (answer.lower, answer.upper) == (low[0], high[0])
    assert not answer.extrapolated and not answer.unreliable


def test_predict_frame_flags_rows_and_scores_edges_in_the_same_call(predictor):
    top = predictor.metadata.training_range["total_budget"][1]
    rows = pd.DataFrame(
        [DEFAULT.replace(total_budget=b).to_features() for b in (50_000, 5 * top, 50_000)],
        columns=FEATURE_COLUMNS,
    )
    rows.loc[2, "ad_platform_Facebook"] = 6  # platform mix 8 > 4 ads
    before = predictor.call_counts.get("local", 0)
    result = predictor.predict_frame(rows)
    assert predictor.call_counts["local"] == before + 1
    assert list(result["extrapolated"]) == [False, True, False]
    assert list(result["unreliable"]) == [False, False, True]
    single = predictor.predict(DEFAULT.replace(total_budget=5 * top))
    assert (result["lower"][1], result["upper"][1]) == (single.lower, single.upper)


def test_predict_frame_refuses_an_absurd_row_by_name(predictor):
    rows = pd.DataFrame([DEFAULT.to_features()] * 3, columns=FEATURE_COLUMNS)
    rows.index = ["a", "b", "c"]
    rows.loc["b", "num_ads"] = 5_000  # trained on at most 9 ads
    with pytest.raises(PlanError, match=r"Total ads 5,000 .* enter at most 900 \(row 'b'\)"):
        predictor.predict_frame(rows)


def test_what_if_skips_absurd_values(predictor):
    top = predictor.metadata.training_range["total_budget"][1]
    curve = predictor.what_if(DEFAULT, "total_budget", [top, 10 * top, 1000 * top])
    assert list(curve["total_budget"]) == [top, 10 * top]
    assert list(curve["extrapolated"]) == [False, True]


def test_mix_over_the_total_is_flagged_unreliable(predictor):
    over = DEFAULT.replace(facebook_ads=5, male_ads=4)
    assert over.oversized_mixes == ("Platform", "Target gender")
    assert DEFAULT.replace(facebook_ads=0).oversized_mixes == ()  # fewer is not over
    answer = predictor.predict(over)
    assert answer.unreliable and not answer.extrapolated
    assert predictor.predict(over.replace(total_ads=0)).unreliable


def test_bounds_from_metadata_leave_unknown_columns_open():
    bounds = TrainingBounds.from_metadata({"num_ads": [1, 9], "total_budget": "n/a"})
    i = FEATURE_COLUMNS.index("num_ads")
    assert (bounds.low[i], bounds.high[i]) == (1.0, 9.0)
    assert np.isinf(bounds.high[FEATURE_COLUMNS.index("total_budget")])
    values = np.vstack([_row(num_ads=3), _row(num_ads=10), _row(num_ads=901, total_budget=1e15)])
    assert list(outside_rows(values, bounds)) == [False, True, True]
    assert list(absurd_rows(values, bounds)) == [False, False, True]


def relative_width(prediction) -> float:
    """The range's width against the number, as a planner reads it."""
    return (prediction.upper - prediction.lower) / prediction.purchases


@pytest.mark.parametrize(
    ("column", "field"), [("total_budget", "total_budget"), ("num_ads", "total_ads")]
)
def test_the_range_grows_against_the_number_with_the_distance_from_the_data(
    predictor, column: str, field: str
):
    top = predictor.metadata.training_range[column][1]
    scale = float if field == "total_budget" else int
    edge = predictor.predict(DEFAULT.replace(**{field: scale(top)}))
    assert not edge.extrapolated
    widths = []
    for times in (2, 10, 50):
        far = predictor.predict(DEFAULT.replace(**{field: scale(times * top)}))
        assert far.extrapolated and far.purchases > 0
        widths.append(relative_width(far))
    assert relative_width(edge) < widths[0] < widths[1] < widths[2], (relative_width(edge), widths)


def test_distance_beyond_is_the_largest_log_ratio_past_the_range():
    bounds = TrainingBounds.from_metadata({"num_ads": [1, 9], "total_budget": [1000, 99_999]})
    values = np.vstack(
        [
            _row(num_ads=5, total_budget=5000),
            _row(num_ads=99, total_budget=5000),
            _row(num_ads=5, total_budget=999_999),
            _row(num_ads=0, total_budget=5000),
        ]
    )
    assert distance_beyond(values, bounds) == pytest.approx(
        [0.0, np.log(10), np.log(10), np.log(2)]
    )


def test_the_widening_grows_with_the_distance():
    pred, outside = np.array([100.0, 100.0]), np.array([True, True])
    lower, upper = np.array([90, 90]), np.array([110, 110])
    edge = (np.array([3.0, 3.0]), np.array([1, 1]), np.array([5, 5]))
    low, high = widen_bounds(pred, lower, upper, outside, edge, np.array([0.0, np.log(10)]))
    assert (low[0], high[0]) == (50, 150)
    assert high[1] - low[1] > 2.5 * (high[0] - low[0])


def test_a_column_always_zero_in_training_is_never_absurd():
    bounds = TrainingBounds.from_metadata({"ad_type_Video": [0, 0], "num_ads": [0, 2]})
    assert not absurd_rows(_row(ad_type_Video=5, num_ads=200), bounds).any()
    with pytest.raises(PlanError) as info:
        refuse_absurd(_row(num_ads=201), bounds)
    assert info.value.field == "total_ads"
    assert str(info.value) == (
        "Total ads 201 is more than 100 times the largest in the training data "
        "(which ranges from 0 to 2); enter at most 200"
    )


def test_bounds_grow_to_the_edges_relative_width():
    pred, outside = np.array([100.0, 100.0]), np.array([True, False])
    lower, upper = np.array([90, 90]), np.array([110, 110])
    # Edge: 3 purchases in 1-5, a half-width of 2 on 3 + 1 = 50%; row 0 gets 50% of 101 = 50.5.
    edge = (np.array([3.0]), np.array([1]), np.array([5]))
    low, high = widen_bounds(pred, lower, upper, outside, edge)
    assert (low[0], high[0]) == (50, 150)
    assert (low[1], high[1]) == (90, 110)  # inside the range: unchanged
    # An edge already relatively narrower never narrows the row.
    edge = (np.array([100.0]), np.array([95]), np.array([105]))
    low, high = widen_bounds(np.array([3.0]), np.array([1]), np.array([5]), np.array([True]), edge)
    assert (low[0], high[0]) == (1, 5)


def test_mix_over_total_per_row():
    values = np.vstack(
        [
            _row(num_ads=4, ad_platform_Facebook=4),
            _row(num_ads=4, ad_platform_Facebook=3, ad_platform_Instagram=2),
            _row(num_ads=2, target_age_group_All=3),
            _row(num_ads=0),
        ]
    )
    assert list(mix_over_total(values)) == [False, True, True, False]


def test_extrapolation_warnings_use_plain_numbers():
    (warning,) = extrapolation_warnings({"total_budget": 1e10}, {"total_budget": [5008.25, 1e5]})
    assert "10,000,000,000" in warning and "5,008–100,000" in warning and "e+" not in warning


def test_mix_columns_are_read_as_whole_mixes():
    from predictor.contract.plan import COLUMN_FIELDS, MIXES
    from predictor.serving.extrapolation import _MIX_SLICES

    for columns, fields in zip(_MIX_SLICES, MIXES.values(), strict=True):
        assert {COLUMN_FIELDS[c] for c in FEATURE_COLUMNS[columns]} == set(fields)
