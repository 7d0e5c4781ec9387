"""The one sentence under an ads curve that falls as ads are added."""

from __future__ import annotations

import pandas as pd

from predictor.contract.notices import NoticeCode, code_of
from predictor.planning.whatif import falling_ads_note, what_if_curves
from tests.support.predictor import APP_PLAN


def _curve(*predictions: float, x: str = "x") -> pd.DataFrame:
    return pd.DataFrame({x: range(len(predictions)), "prediction": predictions})


def test_a_rising_or_flat_curve_has_no_sentence():
    assert falling_ads_note(_curve(0, 5, 9, 12)) is None
    assert falling_ads_note(_curve(0, 10, 10.2, 10.1)) is None  # a dip under half a purchase
    assert falling_ads_note(_curve(0, 0, 0)) is None
    assert falling_ads_note(_curve(0, 4)) is None  # one point with ads


def test_a_falling_curve_says_the_budget_is_split():
    note = falling_ads_note(_curve(0, 12, 9, 7))
    assert note == (
        "Purchases fall as ads are added: the plan's budget is split over more ads, so each ad "
        "gets less of it."
    )
    assert "beyond 2 ads" in falling_ads_note(_curve(0, 5, 9, 6, 4, x="total_ads"), x="total_ads")


def test_the_0_ads_point_is_not_a_peak():
    assert falling_ads_note(_curve(20, 1, 2, 3)) is None


def test_curves_carry_the_sentence_as_a_coded_notice(predictor):
    plan = APP_PLAN
    curves = what_if_curves(predictor, plan, 0.9)
    expected = falling_ads_note(curves.ads)
    assert expected is not None  # the served model's ads curve for this plan falls past 6 ads
    coded = [n for n in curves.notices if code_of(n) == NoticeCode.ADS_SPLIT_BUDGET]
    assert coded == [expected]
