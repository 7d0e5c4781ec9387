"""Scoring a CSV of plans: every row back, bad rows with a reason, good rows in one call."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from predictor import CampaignPlan, PlanError
from predictor.__main__ import main
from predictor.contract.features import FEATURE_COLUMNS, end_month, end_months
from predictor.planning.batch_scoring import (
    PLAN_FIELDS,
    RESULT_COLUMNS,
    BatchError,
    parse_plans,
    plan_errors,
    read_plans,
    row_warnings,
    score_plans,
    write_scored,
)
from predictor.serving.extrapolation import TrainingBounds
from tests.support.common import MODEL_DIR, REPO

HEADER = "id,duration_days,total_budget,start_month,num_unique_interests,total_ads,facebook_ads,"
HEADER += "instagram_ads,note\n"
CSV = HEADER + (
    "007,30,20000,5,3,4,2,2,=HYPERLINK()\n"  # good; the note would run in a spreadsheet
    "008,60,lots,5,3,4,2,2,\n"  # text budget
    "009,60,1e12,5,3,4,2,2,-5\n"  # absurd budget
    "010,60,50000,13,3,4,2,2,\n"  # month 13
    "011,60,500000,5,3,4,6,2,\n"  # good, extrapolated and unreliable
    "012,,50000,5,3,4,,,\n"  # empty duration
    "013,30,20000,5,3,0,,,\n"  # good, no ads
)


@pytest.fixture(scope="module")
def scored(predictor) -> pd.DataFrame:
    before = predictor.call_counts.get("local", 0)
    result = score_plans(predictor, read_plans(io.StringIO(CSV)), level=0.8)
    result.attrs["model_calls"] = predictor.call_counts["local"] - before
    return result


def test_every_row_comes_back_in_order_with_its_columns(scored):
    assert list(scored["id"]) == ["007", "008", "009", "010", "011", "012", "013"]  # text kept
    assert list(scored.columns) == [*HEADER.strip().split(","), *RESULT_COLUMNS]
    assert scored.attrs["model_calls"] == 1


def test_bad_rows_get_a_reason(scored):
    errors = dict(zip(scored["id"], scored["error"], strict=True))
    assert errors["008"] == "total_budget must be a number, but it is text; enter a number"
    assert "1,000,000,000,000 is more than 100 times" in errors["009"]
    assert errors["010"] == "start_month is 13; enter a whole number of at most 12"
    assert errors["012"] == "duration_days must be a number, but it is empty; enter a number"
    assert errors["007"] == errors["011"] == errors["013"] == ""
    bad = scored[scored["error"] != ""]
    assert bad["prediction"].isna().all() and bad["level"].isna().all()


def test_good_rows_match_single_predictions(predictor, scored):
    fields = dict(duration_days=30, total_budget=20000, start_month=5, num_unique_interests=3)
    for row_id, plan in (
        ("007", CampaignPlan(**fields, total_ads=4, facebook_ads=2, instagram_ads=2)),
        (
            "011",
            CampaignPlan(
                **{**fields, "duration_days": 60, "total_budget": 500000},
                total_ads=4,
                facebook_ads=6,
                instagram_ads=2,
            ),
        ),
        ("013", CampaignPlan(**fields, total_ads=0)),
    ):
        row = scored.set_index("id").loc[row_id]
        answer = predictor.predict(plan, level=0.8)
        assert (row["prediction"], row["lower"], row["upper"]) == (
            answer.purchases,
            answer.lower,
            answer.upper,
        )
        assert row["level"] == 0.8
        assert (row["extrapolated"], row["unreliable"]) == (answer.extrapolated, answer.unreliable)
    warnings = scored.set_index("id")["warnings"]
    assert "Platform mix adds up to 8 ads, more than the 4 ads in total." in warnings["011"]
    assert "Outside the training data's range: total budget" in warnings["011"]
    assert warnings["013"] == ""


def test_written_csv_is_spreadsheet_safe_and_rescoring_replaces_results(predictor, scored):
    buffer = io.StringIO()
    write_scored(scored, buffer)
    text = buffer.getvalue()
    assert "'=HYPERLINK()" in text and ",-5," in text and "'-5" not in text
    again = score_plans(predictor, read_plans(io.StringIO(text)), level=0.8)
    assert list(again.columns).count("prediction") == 1
    assert list(again["prediction"]) == list(scored["prediction"])


def test_missing_mix_columns_count_as_zero(predictor):
    frame = read_plans(
        io.StringIO(
            "duration_days,total_budget,start_month,num_unique_interests,"
            "total_ads\n30,20000,5,3,4\n"
        )
    )
    row = score_plans(predictor, frame).iloc[0]
    plan = CampaignPlan(
        duration_days=30, total_budget=20000, start_month=5, num_unique_interests=3, total_ads=4
    )
    assert row["prediction"] == predictor.predict(plan).purchases and row["error"] == ""


def test_file_level_problems_are_one_clear_error():
    with pytest.raises(BatchError, match=r"lacks the column.*total_budget, start_month"):
        parse_plans(
            read_plans(io.StringIO("duration_days,num_unique_interests,total_ads\n1,2,3\n"))
        )
    with pytest.raises(BatchError, match="empty"):
        read_plans(io.StringIO(""))


CELLS = ["0", "1", "2", "3", "12", "13", "3650", "3651", "1000000", "1000001", "2.5", "-1", "",
         "x", "nan", "inf", "1e12", "1e13", " 4 ", "7.0"]  # fmt: skip
VALID = dict.fromkeys(PLAN_FIELDS, "1") | {"duration_days": "30", "total_budget": "2000.5"}


def _changed_rows() -> list[dict[str, str]]:
    """A valid plan with every single cell changed to every test value, then random pairs."""
    rows = [VALID | {field: cell} for field in PLAN_FIELDS for cell in CELLS]
    rng = np.random.default_rng(0)
    for _ in range(300):
        fields = rng.choice(PLAN_FIELDS, 2, replace=False)
        rows.append(VALID | {str(f): str(rng.choice(CELLS)) for f in fields})
    return rows


def _accepted(row: dict[str, str]) -> bool:
    values: dict[str, object] = {}
    for field in PLAN_FIELDS:
        cell = row[field].strip()
        if cell == "":
            values[field] = None if field in PLAN_FIELDS[:5] else 0
            continue
        try:
            values[field] = float(cell)
        except ValueError:
            values[field] = cell
    try:
        CampaignPlan(**values)
    except PlanError:
        return False
    return True


def test_vectorized_checks_agree_with_campaign_plan():
    rows = _changed_rows()
    lines = [",".join(f'"{row[f]}"' for f in PLAN_FIELDS) for row in rows]
    frame = read_plans(io.StringIO(",".join(PLAN_FIELDS) + "\n" + "\n".join(lines) + "\n"))
    plans, ok = parse_plans(frame)
    assert list(ok) == [_accepted(row) for row in rows]
    assert 0 < ok.sum() < len(rows)
    assert "the plan is invalid" not in plan_errors(frame, plans, np.flatnonzero(~ok))


def test_row_warnings_and_end_months_on_tiny_inputs():
    values = np.zeros((2, len(FEATURE_COLUMNS)))
    values[:, FEATURE_COLUMNS.index("num_ads")] = 2
    values[:, FEATURE_COLUMNS.index("ad_platform_Facebook")] = [2, 3]
    values[
        :,
        [
            FEATURE_COLUMNS.index(c)
            for c in ("ad_type_Image", "target_gender_All", "target_age_group_All")
        ],
    ] = 2
    bounds = TrainingBounds.from_metadata({"ad_platform_Facebook": [0, 2]})
    first, second = row_warnings(values, bounds)
    assert first == ""
    assert second == (
        "Platform mix adds up to 3 ads, more than the 2 ads in total. Outside the training "
        "data's range: Facebook ads; the prediction extrapolates."
    )
    starts, days = np.array([1, 2, 12, 5]), np.array([30, 28, 31, 365])
    assert list(end_months(starts, days)) == [
        end_month(s, d) for s, d in zip(starts, days, strict=True)
    ]


def test_command_line_end_to_end(tmp_path):
    plans, out = tmp_path / "plans.csv", tmp_path / "scored.csv"
    plans.write_text(CSV)
    command = [sys.executable, "-m", "predictor", "score", str(plans), "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Scored 3 of 7 plans (4 with an error")
    assert "scoring" in done.stderr  # the progress bar
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(result) == 7 and list(result.columns)[-len(RESULT_COLUMNS) :] == list(RESULT_COLUMNS)


def test_command_line_errors_are_one_line(tmp_path, capsys):
    plans = tmp_path / "plans.csv"
    plans.write_text(CSV)
    out = str(tmp_path / "o.csv")
    assert main(["score", str(tmp_path / "none.csv"), "--out", out, "--quiet"]) == 2
    assert capsys.readouterr().err.strip().endswith("none.csv: no such file")
    model = ["--model-dir", str(MODEL_DIR), "--quiet"]
    assert main(["score", str(plans), "--out", out, "--level", "0.5", *model]) == 2
    assert "choose one of 80%, 90%, 95%" in capsys.readouterr().err
    plans.write_text("a,b\n1,2\n")
    assert main(["score", str(plans), "--out", out, *model]) == 2
    assert "lacks the column" in capsys.readouterr().err


def test_command_line_never_writes_over_its_input(tmp_path, capsys):
    plans = tmp_path / "plans.csv"
    plans.write_text(CSV)
    (tmp_path / "link.csv").symlink_to(plans)
    model = ["--model-dir", str(MODEL_DIR), "--quiet"]
    for out in (plans, tmp_path / "sub" / ".." / "plans.csv", tmp_path / "link.csv"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert main(["score", str(plans), "--out", str(out), *model]) == 2
        assert "is the plans file itself" in capsys.readouterr().err
    assert plans.read_text() == CSV


def test_command_line_checks_the_output_before_scoring(tmp_path, capsys, monkeypatch):
    from predictor.serving.predictor import Predictor

    def never(*args, **kwargs):
        raise AssertionError("the predictor was built before --out was checked")

    monkeypatch.setattr(Predictor, "from_env", never)
    plans = tmp_path / "plans.csv"
    plans.write_text(CSV)
    assert main(["score", str(plans), "--out", str(tmp_path), "--quiet"]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err
    missing = tmp_path / "missing" / "scored.csv"
    assert main(["score", str(plans), "--out", str(missing), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    out = tmp_path / "scored.csv"
    out.write_text("the old answers\n")
    frame = pd.DataFrame({"a": range(120_000)})  # three chunks

    def disk_full(rows: int) -> None:
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_scored(frame, out, disk_full)
    assert out.read_text() == "the old answers\n"
    assert list(tmp_path.iterdir()) == [out]
    write_scored(frame, out)
    assert len(pd.read_csv(out)) == 120_000 and list(tmp_path.iterdir()) == [out]


def test_numbers_with_thousands_separators_read_as_spreadsheets_write_them(predictor):
    text = (
        "duration_days,total_budget,start_month,num_unique_interests,total_ads\n"
        '30,"50,000",5,3,4\n'
        '30,"1,234,567.5",5,3,4\n'
        "30,50000,5,3,4\n"
        '30,"1,5",5,3,4\n'
        '30,"50,00",5,3,4\n'
    )
    result = score_plans(predictor, read_plans(io.StringIO(text)), level=0.9)
    assert list(result["error"])[:3] == ["", "", ""]
    assert result.loc[0, "prediction"] == result.loc[2, "prediction"]
    # A comma that is not a thousands separator is not guessed at.
    assert all("must be a number" in e for e in result["error"][3:])
    assert set(result["model"][:3]) == {predictor.metadata.name}
