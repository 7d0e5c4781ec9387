"""The remote path: a real MLflow scoring server as the endpoint, a fault server, the circuit breaker.

Each fault must give a local answer with the right notice (or, with PREDICTOR_BACKEND=databricks,
the typed error), and the token must appear in no log line, output, notice, exception or repr.
"""

from __future__ import annotations

import email.utils
import logging
import time

import numpy as np
import pandas as pd
import pytest

from predictor import (
    FEATURE_COLUMNS,
    AuthError,
    BadResponseError,
    CampaignPlan,
    ConfigError,
    EndpointConnectionError,
    EndpointError,
    NotFoundError,
    Predictor,
    RateLimitedError,
    ServerError,
)
from predictor.serving.endpoint_client import DatabricksClient, parse_retry_after, retry_policy
from predictor.serving.endpoint_errors import EndpointWarmingError, sanitize
from predictor.serving.predictor import WARMING_TEXT as NOTICE_WARMING
from predictor.serving.settings import PredictorConfig
from tests.support.common import MODEL_DIR, TOKEN, free_port
from tests.support.predictor import FAULTS, FaultServer, mlflow_server

PLAN = CampaignPlan(
    duration_days=45,
    total_budget=30000,
    start_month=9,
    num_unique_interests=4,
    total_ads=6,
    facebook_ads=3,
    instagram_ads=3,
)
KINDS = {
    "401": (AuthError, "authentication"),
    "403": (AuthError, "authentication"),
    "404": (NotFoundError, "not found"),
    "429": (RateLimitedError, "rate limited"),
    "500": (ServerError, "server error"),
    "503": (EndpointWarmingError, "warming up"),
    "not-json": (BadResponseError, "bad response"),
    "html": (BadResponseError, "bad response"),
    "empty": (BadResponseError, "bad response"),
    "wrong-count": (BadResponseError, "bad response"),
    "nan": (BadResponseError, "bad response"),
    "slow": (EndpointWarmingError, "warming up"),
    "refused": (EndpointConnectionError, "connection"),
}
assert set(KINDS) == {*FAULTS, "refused"}


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch):
    """No developer secrets.toml is read; env is passed to from_env explicitly."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def served_url():
    with mlflow_server(MODEL_DIR) as url:
        yield url


@pytest.fixture(scope="module")
def faults():
    with FaultServer(slow_seconds=1.5) as server:
        yield server


@pytest.fixture(scope="module")
def local() -> Predictor:
    return Predictor(PredictorConfig(), model_dir=MODEL_DIR)


def settings(url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABRICKS_TOKEN": TOKEN,
        "DATABRICKS_ENDPOINT_URL": url,
        "PREDICTOR_TIMEOUT": "0.5",
        **extra,
    }


def rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        rng.integers(0, 10, size=(n, len(FEATURE_COLUMNS))), columns=FEATURE_COLUMNS
    )
    frame["total_budget"] = rng.uniform(100, 50000, n)
    frame["start_month"] = rng.integers(1, 13, n)
    frame["end_month"] = rng.integers(1, 13, n)
    frame["num_ads"] = rng.integers(1, 20, n)
    return frame.astype(float)


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN[4:24] not in text  # not even a recognisable part of it


def fault_url(faults: FaultServer, mode: str) -> str:
    if mode == "refused":
        return f"http://127.0.0.1:{free_port()}/serving-endpoints/m/invocations"
    faults.mode = mode
    return faults.url


# -- the real remote path --------------------------------------------------------------------------


def test_remote_predictions_equal_the_local_bundle(served_url, local):
    remote = Predictor.from_env(
        MODEL_DIR,
        environ=settings(served_url, PREDICTOR_BACKEND="databricks", PREDICTOR_TIMEOUT="10"),
    )
    batch = rows(200)
    served = remote.predict_frame(batch)
    own = local.predict_frame(batch)
    assert served.attrs["backend"] == "databricks"
    assert not any(
        "Local model" in n or "Databricks endpoint" in n for n in served.attrs["notices"]
    )
    np.testing.assert_allclose(served["prediction"], own["prediction"], rtol=0, atol=1e-9)
    assert served[["lower", "upper"]].equals(own[["lower", "upper"]])
    for plan in (PLAN, PLAN.replace(total_budget=1000, total_ads=1)):
        answer, reference = remote.predict(plan), local.predict(plan)
        assert answer.backend == "databricks"
        assert abs(answer.raw - reference.raw) <= 1e-9
        assert (answer.purchases, answer.lower, answer.upper) == (
            reference.purchases,
            reference.lower,
            reference.upper,
        )
        assert not any("Local model" in n or "Databricks endpoint" in n for n in answer.notices)
    assert remote.call_counts == {"databricks": 3}


def test_auto_mode_uses_the_endpoint_first(served_url, local):
    remote = Predictor.from_env(MODEL_DIR, environ=settings(served_url, PREDICTOR_TIMEOUT="10"))
    answer = remote.predict(PLAN)
    assert answer.backend == "databricks" and abs(answer.raw - local.predict(PLAN).raw) <= 1e-9
    assert remote.call_counts == {"databricks": 1}


def test_what_if_over_the_endpoint_is_one_request(faults):
    before = faults.requests
    remote = Predictor.from_env(MODEL_DIR, environ=settings(fault_url(faults, "ok")))
    curve = remote.what_if(PLAN, "total_budget", np.linspace(1000, 60000, 100))
    assert faults.requests == before + 1
    assert curve.attrs["backend"] == "databricks" and (curve["prediction"] == 1.5).all()
    assert faults.authorizations[-1] == f"Bearer {TOKEN}"


# -- faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(KINDS))
def test_each_fault_falls_back_to_the_local_model_with_its_notice(
    mode, faults, local, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    predictor = Predictor.from_env(MODEL_DIR, environ=settings(fault_url(faults, mode)))
    answer = predictor.predict(PLAN)
    batch = predictor.predict_frame(rows(3))  # the breaker is open now: no second request

    kind = KINDS[mode][1]
    assert answer.backend == "local"
    assert answer.raw == local.predict(PLAN).raw
    assert batch.attrs["backend"] == "local"
    if kind == "warming up":
        assert answer.notices[-1] == batch.attrs["notices"][-1] == NOTICE_WARMING
        assert NOTICE_WARMING == "Databricks endpoint warming up; the local model answered."
    else:
        failed = f"Databricks endpoint failed ({kind}); the local model answered."
        assert answer.notices[-1] == failed
        assert "paused after a recent failure" in batch.attrs["notices"][-1]
        assert kind in batch.attrs["notices"][-1]
    assert any(r.levelno == logging.WARNING and kind in r.getMessage() for r in caplog.records)
    out = capsys.readouterr()
    assert_no_token(
        caplog.text,
        *(r.getMessage() for r in caplog.records),
        out.out,
        out.err,
        *answer.notices,
        *batch.attrs["notices"],
        repr(answer),
        repr(predictor),
        repr(predictor.config),
    )


@pytest.mark.parametrize("mode", list(KINDS))
def test_each_fault_is_a_typed_error_when_the_endpoint_is_required(mode, faults, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    before = faults.requests
    predictor = Predictor.from_env(
        MODEL_DIR, environ=settings(fault_url(faults, mode), PREDICTOR_BACKEND="databricks")
    )
    error_type, kind = KINDS[mode]
    with pytest.raises(error_type) as info:
        predictor.predict(PLAN)
    error = info.value
    assert isinstance(error, EndpointError) and error.kind == kind
    assert (error.__cause__ is None and error.__context__ is None) or TOKEN not in repr(
        error.__context__
    )
    assert len(str(error)) < 400
    if mode in {"401", "403", "404", "500", "503"}:
        assert "ERROR: failed for Bearer ***" in str(error)  # the body's message, scrubbed
        assert error.status == int(mode)
    if mode != "refused":
        assert faults.requests > before and faults.authorizations[-1] == f"Bearer {TOKEN}"
    assert predictor.call_counts == {"databricks": 1}
    out = capsys.readouterr()
    assert_no_token(
        caplog.text,
        out.out,
        out.err,
        str(error),
        repr(error),
        repr(predictor),
        repr(predictor.config),
    )


def test_retry_after_is_honoured_within_the_budget(faults):
    before = faults.requests
    predictor = Predictor.from_env(
        MODEL_DIR, environ=settings(fault_url(faults, ["retry-after-1", "ok"]))
    )
    start = time.monotonic()
    answer = predictor.predict(PLAN)
    elapsed = time.monotonic() - start
    assert answer.backend == "databricks" and answer.raw == 1.5
    assert faults.requests == before + 2
    assert 1.0 <= elapsed < 2.5


def test_a_retry_after_beyond_the_budget_gives_up_at_once(faults):
    before = faults.requests
    predictor = Predictor.from_env(
        MODEL_DIR, environ=settings(fault_url(faults, "429"), PREDICTOR_BACKEND="databricks")
    )
    predictor.load()
    start = time.monotonic()
    with pytest.raises(RateLimitedError, match="REQUEST_LIMIT_EXCEEDED: slow down"):
        predictor.predict(PLAN)
    assert time.monotonic() - start < 1.0
    assert faults.requests == before + 1


def test_503_without_retry_after_is_retried_a_bounded_number_of_times(faults):
    before = faults.requests
    predictor = Predictor.from_env(
        MODEL_DIR, environ=settings(fault_url(faults, "503"), PREDICTOR_BACKEND="databricks")
    )
    predictor.load()
    start = time.monotonic()
    with pytest.raises(EndpointWarmingError) as info:
        predictor.predict(PLAN)
    assert faults.requests == before + 3
    assert time.monotonic() - start < 3.5
    assert info.value.retry_after is None


def test_the_retries_are_urllib3s_on_the_session():
    client = DatabricksClient("https://h.example/serving-endpoints/x/invocations", TOKEN)
    policy = client._session.get_adapter(client.url).max_retries
    assert isinstance(policy, type(retry_policy())) and policy.total == 2
    assert policy.is_retry("POST", 429) and policy.is_retry("POST", 503)
    assert not policy.is_retry("POST", 500) and not policy.is_retry("POST", 401)
    assert policy.backoff_jitter > 0 and policy.retry_after_max == client.max_retry_wait
    assert policy.read is False and policy.connect == 0


def test_a_retry_after_beyond_the_budget_becomes_the_pause(faults):
    # 429 asks for 30 s: longer than the 0.2 s cool-down, so the endpoint stays paused.
    predictor = Predictor.from_env(
        MODEL_DIR, environ=settings(fault_url(faults, "429"), PREDICTOR_COOLDOWN_SECONDS="0.2")
    )
    assert predictor.predict(PLAN).backend == "local"
    time.sleep(0.4)
    faults.mode = "ok"
    before = faults.requests
    answer = predictor.predict(PLAN)
    assert answer.backend == "local" and faults.requests == before
    assert "paused after a recent failure (rate limited)" in answer.notices[-1]


def test_a_short_retry_after_shortens_the_pause(faults):
    # 503 asks for 4 s: beyond the 3 s retry budget (no wait), shorter than the 60 s cool-down.
    predictor = Predictor.from_env(
        MODEL_DIR,
        environ=settings(fault_url(faults, "retry-after-4"), PREDICTOR_COOLDOWN_SECONDS="60"),
    )
    start = time.monotonic()
    first = predictor.predict(PLAN)
    assert first.backend == "local" and first.notices[-1] == NOTICE_WARMING
    faults.mode = "ok"
    assert predictor.predict(PLAN).backend == "local"  # still paused
    time.sleep(max(0.0, 4.3 - (time.monotonic() - start)))
    before = faults.requests
    assert predictor.predict(PLAN).backend == "databricks"
    assert faults.requests == before + 1


# -- circuit breaker and backend choice ------------------------------------------------------------


def test_the_breaker_skips_the_endpoint_during_the_cool_down(faults):
    predictor = Predictor.from_env(
        MODEL_DIR, environ=settings(fault_url(faults, "500"), PREDICTOR_COOLDOWN_SECONDS="60")
    )
    predictor.load()
    first = predictor.predict(PLAN)
    after_first = faults.requests
    faults.mode = "ok"
    second = predictor.predict(PLAN)
    assert faults.requests == after_first  # not contacted
    assert first.backend == second.backend == "local"
    assert (
        second.notices[-1]
        == "Databricks endpoint paused after a recent failure (server error); the local model answered."
    )
    assert predictor.call_counts == {"databricks": 1, "local": 2}


def test_after_the_cool_down_the_endpoint_is_tried_again(faults):
    predictor = Predictor.from_env(
        MODEL_DIR, environ=settings(fault_url(faults, "500"), PREDICTOR_COOLDOWN_SECONDS="0.2")
    )
    assert predictor.predict(PLAN).backend == "local"
    time.sleep(0.3)
    faults.mode = "ok"
    before = faults.requests
    assert predictor.predict(PLAN).backend == "databricks"
    assert faults.requests == before + 1


def test_backend_local_never_contacts_the_endpoint(faults):
    before = faults.requests
    predictor = Predictor.from_env(
        MODEL_DIR, environ=settings(fault_url(faults, "ok"), PREDICTOR_BACKEND="local")
    )
    answer = predictor.predict(PLAN)
    assert (
        answer.backend == "local"
        and answer.notices[-1] == "Local model served (PREDICTOR_BACKEND=local)."
    )
    assert faults.requests == before


def test_a_token_without_an_endpoint_serves_locally_with_the_notice():
    predictor = Predictor.from_env(MODEL_DIR, environ={"DATABRICKS_TOKEN": TOKEN})
    answer = predictor.predict(PLAN)
    assert answer.backend == "local"
    assert answer.notices[-1] == "Local model served (no Databricks endpoint configured)."


# -- pure helpers ----------------------------------------------------------------------------------


def test_sanitize_scrubs_tokens_control_characters_and_length():
    text = f"bad token {TOKEN}\n\x1b[31mAuthorization: Bearer abc.def\r\n" + "x" * 500
    clean = sanitize(text, [TOKEN])
    assert_no_token(clean)
    assert "abc.def" not in clean and "\x1b" not in clean and "\n" not in clean
    assert len(clean) == 200 and clean.endswith("…")
    assert "dapi" not in sanitize("leaked dapiabcdef0123456789abcdef01")


def test_parse_retry_after_forms():
    assert parse_retry_after("2") == 2.0 and parse_retry_after(" 120 ") == 120.0
    assert parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT") == 0.0
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= parse_retry_after(soon) <= 31
    for unusable in ("soon", "inf", "-1", "", None):
        assert parse_retry_after(unusable) is None


def test_client_repr_and_refusal_of_plain_http():
    client = DatabricksClient("https://h.example/serving-endpoints/x/invocations", TOKEN)
    assert_no_token(repr(client), repr(client._session.auth))
    assert "h.example" in repr(client) and "'token'" in repr(client)
    with pytest.raises(ConfigError, match="plain http://"):
        DatabricksClient("http://h.example/serving-endpoints/x/invocations", TOKEN)
