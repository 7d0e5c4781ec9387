"""The track record's arithmetic and words, and its chart, on tiny inline outcome frames."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from predictor.record import outcomes_report as rep
from predictor.record.outcome_rows import empty_outcomes
from predictor.record.outcomes_chart import nice_ticks, scatter_svg


def outcomes(rows: list[tuple[int, int, int, int]], **common: object) -> pd.DataFrame:
    """A frame of (predicted, lower, upper, actual) results at 90% from ridge 1.0.0."""
    base = {"level": 0.9, "model": "ridge", "model_version": "1.0.0", **common}
    return pd.DataFrame(
        [
            {"predicted": p, "lower": lo, "upper": hi, "actual_purchases": a, **base}
            for p, lo, hi, a in rows
        ]
    )


def with_inside(n: int, inside: int, level: float = 0.9) -> pd.DataFrame:
    """``n`` results predicted 100 (range 80–120), of which ``inside`` fell inside."""
    return outcomes([(100, 80, 120, 100 if i < inside else 200) for i in range(n)], level=level)


def test_the_exact_binomial_interval():
    low, high = rep.binomial_interval(31, 40)
    assert low == pytest.approx(0.6155, abs=1e-4) and high == pytest.approx(0.8916, abs=1e-4)
    assert rep.binomial_interval(0, 10)[0] == 0.0 and rep.binomial_interval(10, 10)[1] == 1.0
    assert rep.binomial_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="between 0 and n"):
        rep.binomial_interval(5, 4)


def test_the_issue_sentence_word_for_word():
    [coverage] = rep.coverage_by_level(with_inside(40, 31))
    assert (coverage.level, coverage.n, coverage.inside) == (0.9, 40, 31)
    assert rep.coverage_sentence(coverage) == (
        "31 of 40 results fell inside the 90% range (78%, plausible 62–89%): the ranges look "
        "too narrow for your campaigns."
    )


@pytest.mark.parametrize(
    ("n", "inside", "level", "verdict"),
    [
        (40, 36, 0.9, "as promised"),
        (40, 40, 0.8, "too wide"),
        (40, 20, 0.9, "too narrow"),
        (9, 0, 0.9, "too early"),
    ],
)
def test_the_verdict_follows_the_plausible_shares(n, inside, level, verdict):
    [coverage] = rep.coverage_by_level(with_inside(n, inside, level))
    assert coverage.verdict == verdict


def test_fewer_than_ten_results_say_too_early_and_show_no_percentage():
    frame = with_inside(9, 9)
    [coverage] = rep.coverage_by_level(frame)
    sentence = rep.coverage_sentence(coverage)
    assert "too early to judge" in sentence and "%" not in sentence.replace("90%", "")
    bias = rep.bias_sentence(rep.median_bias(frame), len(frame))
    assert bias.startswith("Too early") and "%" not in bias
    assert "too early" not in rep.coverage_sentence(rep.coverage_by_level(with_inside(10, 9))[0])


def test_bounds_count_as_inside():
    frame = outcomes([(10, 5, 15, 5), (10, 5, 15, 15), (10, 5, 15, 4), (10, 5, 15, 16)])
    assert list(rep.inside_range(frame)) == [True, True, False, False]


def test_the_median_bias_in_words():
    frame = outcomes([(100, 80, 120, 124)] * 6 + [(50, 40, 60, 62)] * 5)
    bias = rep.median_bias(frame)
    assert bias is not None and bias.median == pytest.approx(0.24)
    assert rep.bias_sentence(bias, len(frame)) == (
        "Your campaigns brought 24% more purchases than predicted, on the median."
    )
    fewer = outcomes([(100, 80, 120, 70)] * 12)
    assert "30% fewer purchases" in rep.bias_sentence(rep.median_bias(fewer), 12)
    same = outcomes([(100, 80, 120, 100)] * 12)
    assert "about as many purchases as predicted" in rep.bias_sentence(rep.median_bias(same), 12)


def test_results_predicted_at_zero_are_left_out_of_the_ratio():
    frame = outcomes([(0, 0, 0, 3)] * 2 + [(10, 5, 15, 20)] * 10)
    bias = rep.median_bias(frame)
    assert (bias.n, bias.skipped, bias.median) == (10, 2, 1.0)
    assert "(2 predicted at 0 left out)" in rep.bias_sentence(bias, 12)
    assert rep.median_bias(outcomes([(0, 0, 0, 3)])) is None


def test_one_section_per_model_version_only_when_several_answered():
    one = with_inside(12, 11)
    assert [s.title for s in rep.track_record(one)] == ["All results"]
    newer = with_inside(10, 5).assign(model_version="1.1.0")
    other = with_inside(3, 3).assign(model="boosting", model_version=None)
    sections = rep.track_record(
        pd.concat([one, newer, other], ignore_index=True), {"ridge": "Ridge"}
    )
    assert [(s.title, s.n) for s in sections] == [
        ("All results", 25),
        ("Ridge, version 1.0.0", 12),
        ("Ridge, version 1.1.0", 10),
        ("boosting, unknown version", 3),
    ]
    text = rep.report_text(sections)
    assert "19 of 25 results fell inside the 90% range" in text
    assert "5 of 10 results fell inside" in text and "3 results recorded" in text


def test_each_level_is_judged_against_its_own_promise():
    frame = pd.concat([with_inside(10, 8, 0.8), with_inside(12, 12, 0.95)], ignore_index=True)
    sentences = rep.track_record(frame)[0].sentences
    assert sentences[0].startswith("8 of 10 results fell inside the 80% range")
    assert sentences[1].startswith("12 of 12 results fell inside the 95% range")


def test_an_empty_record_says_so():
    assert rep.report_text(rep.track_record(empty_outcomes())).startswith("No results")
    assert list(rep.points(empty_outcomes()).columns) == rep.POINT_COLUMNS


def test_the_chart_has_a_point_and_a_bar_per_result_and_the_diagonal():
    frame = outcomes([(10, 5, 15, 12), (40, 30, 52, 70), (0, 0, 0, 0)])
    svg = scatter_svg(rep.points(frame))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="cpp-point ') == 3
    assert svg.count("cpp-point-outside") == 1 and "cpp-diagonal" in svg
    assert "predicted 40 (90% range 30–52), actual 70: outside" in svg
    # The axes reach past the largest value: 70 -> ticks to 80.
    assert re.search(r">80</text>", svg)
    assert scatter_svg(rep.points(empty_outcomes())).count("cpp-point ") == 0


def test_ticks_are_round_and_reach_the_top():
    assert nice_ticks(70) == [0, 20, 40, 60, 80]
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(12_345)[-1] >= 12_345
