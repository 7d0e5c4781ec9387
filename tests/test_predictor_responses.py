"""What the client reads from an endpoint: prediction shapes, ranges, and error bodies.

Pure parsing first, then the same answers over HTTP from a loopback workspace, and a real
``mlflow models serve`` of a model whose ``predict`` returns a DataFrame with its ranges.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
import pytest

from predictor import BadResponseError, RequestRejectedError, ServerError
from predictor.contract.features import FEATURE_COLUMNS
from predictor.serving.endpoint_answers import parse_predictions
from predictor.serving.endpoint_client import DatabricksClient
from predictor.serving.endpoint_errors import EndpointWarmingError, error_detail
from tests.support.common import TOKEN
from tests.support.endpoint import FakeWorkspace
from tests.support.predictor import mlflow_server

RECORDS = [
    {"prediction": 3.2, "lower_80": 1, "upper_80": 5, "lower_90": 1, "upper_90": 6},
    {"prediction": 0.5, "lower_80": 0, "upper_80": 2, "lower_90": 0, "upper_90": 3},
]
COLUMNS = ["prediction", "lower_80", "upper_80", "lower_90", "upper_90"]


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(np.ones((n, len(FEATURE_COLUMNS))), columns=FEATURE_COLUMNS)


# -- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"predictions": [1, 2.5]},
        {"predictions": [{"0": 1}, {"purchases": 2.5}]},
        {"predictions": [[1], [2.5]]},
        {"predictions": {"purchases": [1, 2.5]}},
        {"predictions": [{"prediction": 1}, {"prediction": 2.5}]},
    ],
)
def test_every_numbers_only_shape_gives_a_float_array(payload):
    values = parse_predictions(payload, 2)
    assert isinstance(values, np.ndarray) and values.dtype == float and values.ndim == 1
    assert values.tolist() == [1.0, 2.5]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1.0], "no 'predictions' list"),
        ({"outputs": [1.0]}, "no 'predictions' list"),
        ({"predictions": 1.0}, "no 'predictions' list"),
        ({"predictions": [True]}, "not a number"),
        ({"predictions": ["1"]}, "not a number"),
        ({"predictions": [{"a": 1, "b": 2}]}, "object of 2 fields without 'prediction'"),
        ({"predictions": [float("inf")]}, "not a finite number"),
        ({"predictions": [10**400]}, "not a finite number"),
        ({"predictions": [[1.0, 2.0]]}, "list of 2 values; expected one"),
        ({"predictions": [[]]}, "list of 0 values"),
        ({"predictions": [1.0, 2.0]}, "2 predictions for 1 rows"),
        ({"predictions": {}}, "one list per column"),
        ({"predictions": {"a": 1.0}}, "one list per column"),
        ({"predictions": {"a": [1.0], "b": [2.0]}}, "without 'prediction'"),
    ],
)
def test_other_shapes_are_refused_with_a_typed_error(payload, message):
    with pytest.raises(BadResponseError, match=message):
        parse_predictions(payload, 1)


# -- ranges ----------------------------------------------------------------------------------------


def test_records_with_ranges_give_a_validated_frame():
    result = parse_predictions({"predictions": RECORDS}, 2)
    assert isinstance(result, pd.DataFrame)
    assert list(result.columns) == COLUMNS and (result.dtypes == np.float64).all()
    assert result.to_dict(orient="records") == [
        {k: float(v) for k, v in record.items()} for record in RECORDS
    ]


def test_columns_with_ranges_give_the_same_frame_and_unknown_fields_are_dropped():
    columns = {k: [r[k] for r in RECORDS] for k in reversed(COLUMNS)} | {"model": ["a", "b"]}
    result = parse_predictions({"predictions": columns}, 2)
    expected = parse_predictions({"predictions": RECORDS}, 2)
    pd.testing.assert_frame_equal(result, expected)


def test_levels_are_ordered_numerically():
    record = {"upper_95": 9, "prediction": 3, "lower_5": 2, "upper_5": 4, "lower_95": 0}
    assert list(parse_predictions({"predictions": [record]}, 1).columns) == [
        "prediction",
        "lower_5",
        "upper_5",
        "lower_95",
        "upper_95",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lower_80": 6}, "row 1 from the endpoint has lower_80 above upper_80"),
        ({"upper_90": math.nan}, "upper_90 of row 1 from the endpoint is not a finite number"),
        ({"prediction": None}, "prediction of row 1 from the endpoint is not a number"),
        ({"upper_80": "5"}, "upper_80 of row 1 from the endpoint is not a number"),
    ],
)
def test_bad_ranges_are_refused(change, message):
    records = [RECORDS[0], {**RECORDS[1], **change}]
    with pytest.raises(BadResponseError, match=message):
        parse_predictions({"predictions": records}, 2)


def test_unpaired_bounds_mixed_records_and_short_columns_are_refused():
    with pytest.raises(BadResponseError, match="80% range without its upper_80 bound"):
        parse_predictions({"predictions": [{"prediction": 1, "lower_80": 0}]}, 1)
    with pytest.raises(BadResponseError, match="do not all have the same fields"):
        parse_predictions({"predictions": [RECORDS[0], {"prediction": 1}]}, 2)
    with pytest.raises(BadResponseError, match="1 values of upper_80 for 2 rows"):
        parse_predictions(
            {"predictions": {"prediction": [1, 2], "lower_80": [0, 0], "upper_80": [3]}}, 2
        )


# -- error bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (
            b'{"error_code": "BAD_REQUEST", "message": "no"}',
            "application/json",
            " (BAD_REQUEST: no)",
        ),
        (b'{"error": "Model is loading"}', "application/json", " (Model is loading)"),
        (
            b'{"error": "invalid_client", "error_description": "bad client"}',
            "application/json",
            " (invalid_client: bad client)",
        ),
        (b'{"error": {"code": "429", "message": "busy"}}', "application/json", " (429: busy)"),
        (b'{"detail": "Not Found"}', "application/json", " (Not Found)"),
        (
            b"<html><head><title>502 Bad\n Gateway &amp; co</title></head><body>x</body></html>",
            "text/html",
            " (502 Bad Gateway & co)",
        ),
        (b"<!doctype html><h1>Upstream <b>down</b></h1>", "", " (Upstream down)"),
        (b"upstream connect error", "text/plain; charset=utf-8", " (upstream connect error)"),
        (b"\x00\xff binary", "application/octet-stream", ""),
        (b'["no", "detail"]', "application/json", ""),
    ],
)
def test_error_details_from_every_kind_of_body(body, content_type, detail):
    assert error_detail(body, content_type) == detail


def test_error_details_are_scrubbed():
    body = f'{{"error": "token {TOKEN} refused for Bearer abc.def"}}'.encode()
    assert error_detail(body, "application/json", [TOKEN]) == " (token *** refused for Bearer ***)"


# -- over HTTP -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace():
    with FakeWorkspace(token=TOKEN) as server:
        yield server


def client(workspace: FakeWorkspace) -> DatabricksClient:
    return DatabricksClient(workspace.url(), TOKEN, timeout=(2.0, 2.0))


def test_the_client_returns_a_frame_for_ranges_and_an_array_for_numbers(workspace):
    workspace.answer({"predictions": RECORDS})
    workspace.answer({"predictions": [[3.0], [4.0]]})
    workspace.answer({"predictions": {"0": [5.0, 6.0]}})
    endpoint = client(workspace)
    ranges = endpoint.predict(frame(2))
    assert isinstance(ranges, pd.DataFrame) and list(ranges.columns) == COLUMNS
    assert endpoint.predict(frame(2)).tolist() == [3.0, 4.0]
    assert endpoint.predict(frame(2)).tolist() == [5.0, 6.0]


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "text"),
    [
        (500, {"error": "model crashed"}, {}, ServerError, "HTTP 500) (model crashed)"),
        (
            502,
            "<html><title>502 Bad Gateway</title></html>",
            {"Content-Type": "text/html"},
            ServerError,
            "HTTP 502) (502 Bad Gateway)",
        ),
        (
            400,
            {"error": {"message": "column total_budget missing", "code": "BAD_REQUEST"}},
            {},
            RequestRejectedError,
            "(BAD_REQUEST: column total_budget missing)",
        ),
        (
            503,
            {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "scaling from zero"},
            {"Retry-After": "120"},
            EndpointWarmingError,
            "not ready (HTTP 503) (TEMPORARILY_UNAVAILABLE: scaling from zero)",
        ),
    ],
)
def test_error_bodies_over_http(workspace, status, body, headers, error, text):
    workspace.answer(body, status, headers)
    with pytest.raises(error) as info:
        client(workspace).predict(frame(1))
    assert text in str(info.value)
    assert info.value.retry_after == (120.0 if "Retry-After" in headers else None)


def test_a_real_scoring_server_returning_a_dataframe(tmp_path):
    import mlflow.pyfunc

    code = tmp_path / "ranged_model.py"
    code.write_text(
        textwrap.dedent(
            """
            import mlflow
            import pandas as pd

            class Ranged(mlflow.pyfunc.PythonModel):
                def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
                    point = model_input["num_ads"].astype(float) * 2
                    return pd.DataFrame({
                        "prediction": point,
                        "lower_80": point - 1, "upper_80": point + 1,
                        "lower_95": point - 3, "upper_95": point + 3,
                    })

            mlflow.models.set_model(Ranged())
            """
        )
    )
    model_dir = tmp_path / "ranged"
    mlflow.pyfunc.save_model(str(model_dir), python_model=str(code), pip_requirements=["pandas"])
    rows = frame(3).assign(num_ads=[1.0, 2.0, 5.0])
    with mlflow_server(model_dir) as url:
        result = DatabricksClient(url, TOKEN, timeout=(3.0, 30.0)).predict(rows)
    assert list(result.columns) == ["prediction", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert result["prediction"].tolist() == [2.0, 4.0, 10.0]
    assert result["lower_95"].tolist() == [-1.0, 1.0, 7.0]
    assert result["upper_80"].tolist() == [3.0, 5.0, 11.0]
