"""Credentials through databricks-sdk's Config, against a loopback workspace with a real OIDC flow.

OAuth machine-to-machine, a profile of a ``.databrickscfg`` file and a personal access token must
each reach the endpoint; OAuth tokens are fetched per request and refreshed when they expire; the
client secret, the token and the access tokens appear in no log line, output, notice, error or repr.
"""

from __future__ import annotations

import base64
import logging
import time

import pytest

from predictor import AuthError, CampaignPlan, Predictor
from predictor.serving.endpoint_auth import DatabricksAuth
from predictor.serving.endpoint_client import DatabricksClient
from predictor.serving.settings import load_config
from tests.support.common import MODEL_DIR, TOKEN
from tests.support.endpoint import ACCESS_PREFIX, CLIENT_ID, CLIENT_SECRET, FakeWorkspace

PLAN = CampaignPlan(
    duration_days=30, total_budget=5000, start_month=5, num_unique_interests=3, total_ads=4
)
BASIC = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


@pytest.fixture(autouse=True)
def _clean_environment(tmp_path, monkeypatch):
    """No developer credentials or secrets.toml take part; settings are passed explicitly."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in (
        "DATABRICKS_HOST",
        "DATABRICKS_TOKEN",
        "DATABRICKS_CLIENT_ID",
        "DATABRICKS_CLIENT_SECRET",
        "DATABRICKS_CONFIG_PROFILE",
        "DATABRICKS_CONFIG_FILE",
        "DATABRICKS_AUTH_TYPE",
    ):
        monkeypatch.delenv(name, raising=False)


def oauth_settings(workspace: FakeWorkspace, **extra: str) -> dict[str, str]:
    return {
        "DATABRICKS_ENDPOINT_URL": workspace.url(),
        "DATABRICKS_CLIENT_ID": CLIENT_ID,
        "DATABRICKS_CLIENT_SECRET": CLIENT_SECRET,
        "PREDICTOR_BACKEND": "databricks",
        **extra,
    }


def assert_no_secret(workspace: FakeWorkspace, *texts: str) -> None:
    secrets = [CLIENT_SECRET, CLIENT_SECRET[4:24], TOKEN, BASIC, *workspace.issued]
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert ACCESS_PREFIX not in text


def test_oauth_m2m_fetches_a_token_and_calls_the_endpoint_with_it():
    with FakeWorkspace() as workspace:
        predictor = Predictor.from_env(MODEL_DIR, environ=oauth_settings(workspace))
        first = predictor.predict(PLAN)
        second = predictor.predict(PLAN)
    assert first.backend == second.backend == "databricks" and first.raw == 1.5
    assert workspace.token_requests == 1  # a valid token is reused
    assert workspace.authorizations == [f"Bearer {workspace.issued[0]}"] * 2


def test_an_expired_oauth_token_is_refreshed_before_the_next_request():
    with FakeWorkspace(token_lifetime=1) as workspace:
        predictor = Predictor.from_env(MODEL_DIR, environ=oauth_settings(workspace))
        assert predictor.predict(PLAN).backend == "databricks"
        time.sleep(1.2)
        assert predictor.predict(PLAN).backend == "databricks"
    assert workspace.token_requests == 2
    assert workspace.authorizations == [f"Bearer {token}" for token in workspace.issued]


def test_a_profile_names_the_host_and_the_credentials(tmp_path):
    with FakeWorkspace() as workspace:
        cfg = tmp_path / "databrickscfg"
        cfg.write_text(
            f"[staging]\nhost = {workspace.base}\n"
            f"client_id = {CLIENT_ID}\nclient_secret = {CLIENT_SECRET}\n"
        )
        environ = {
            "DATABRICKS_CONFIG_PROFILE": "staging",
            "DATABRICKS_CONFIG_FILE": str(cfg),
            "DATABRICKS_SERVING_ENDPOINT": "campaign-purchases",
            "PREDICTOR_BACKEND": "databricks",
        }
        config = load_config(environ)
        assert config.has_endpoint and config.credentials == "profile"
        predictor = Predictor.from_env(MODEL_DIR, environ=environ)
        answer = predictor.predict(PLAN)
    assert answer.backend == "databricks"
    assert workspace.authorizations == [f"Bearer {workspace.issued[0]}"]
    assert "127.0.0.1" in repr(predictor)


def test_a_profile_holding_a_token(tmp_path):
    with FakeWorkspace(token=TOKEN) as workspace:
        cfg = tmp_path / ".databrickscfg"  # the default file under HOME
        cfg.write_text(f"[prod]\nhost = {workspace.base}\ntoken = {TOKEN}\n")
        environ = {
            "DATABRICKS_CONFIG_PROFILE": "prod",
            "DATABRICKS_SERVING_ENDPOINT": "m",
            "PREDICTOR_BACKEND": "databricks",
        }
        assert Predictor.from_env(MODEL_DIR, environ=environ).predict(PLAN).backend == "databricks"
    assert workspace.authorizations == [f"Bearer {TOKEN}"]


def test_a_personal_token_goes_through_the_sdk_config_too():
    with FakeWorkspace(token=TOKEN) as workspace:
        client = DatabricksClient(workspace.url(), TOKEN)
        auth = client._session.auth
        assert isinstance(auth, DatabricksAuth) and auth.method == "token"
        assert auth.headers() == {"Authorization": f"Bearer {TOKEN}"}
        assert type(auth.config()).__module__ == "databricks.sdk.config"


def test_a_profile_that_does_not_exist_is_an_authentication_failure(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(f"[other]\nhost = https://x.example\ntoken = {TOKEN}\n")
    predictor = Predictor.from_env(
        MODEL_DIR,
        environ={
            "DATABRICKS_CONFIG_PROFILE": "missing",
            "DATABRICKS_CONFIG_FILE": str(cfg),
            "DATABRICKS_SERVING_ENDPOINT": "m",
        },
    )
    answer = predictor.predict(PLAN)
    assert answer.backend == "local"
    assert answer.notices[-1] == (
        "Databricks endpoint failed (authentication); the local model answered."
    )
    assert TOKEN not in caplog.text


def test_a_wrong_client_secret_leaks_nothing(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    wrong = "dose" + "f" * 32
    with FakeWorkspace() as workspace:
        settings = oauth_settings(workspace, DATABRICKS_CLIENT_SECRET=wrong)
        strict = Predictor.from_env(MODEL_DIR, environ=settings)
        with pytest.raises(AuthError) as info:
            strict.predict(PLAN)
        fallback = Predictor.from_env(MODEL_DIR, environ={**settings, "PREDICTOR_BACKEND": "auto"})
        answer = fallback.predict(PLAN)
    assert workspace.token_requests == 2 and workspace.invocations == 0
    assert "invalid_client" in str(info.value)
    assert answer.backend == "local" and "authentication" in answer.notices[-1]
    out = capsys.readouterr()
    texts = (caplog.text, out.out, out.err, str(info.value), repr(info.value), *answer.notices)
    for text in texts:
        assert wrong not in text and wrong[4:24] not in text
    assert_no_secret(workspace, *texts, repr(strict), repr(strict.config), repr(fallback))


def test_an_endpoint_echoing_the_access_token_leaks_nothing(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    with FakeWorkspace() as workspace:
        predictor = Predictor.from_env(MODEL_DIR, environ=oauth_settings(workspace))
        client = predictor._client
        assert predictor.predict(PLAN).backend == "databricks"
        workspace.issued.append("rotated-away")  # the server no longer accepts the client's token
        with pytest.raises(AuthError) as info:
            predictor.predict(PLAN)
        workspace.issued.pop()
    assert info.value.status == 401 and "UNAUTHENTICATED: Invalid access token Bearer ***" in str(
        info.value
    )
    out = capsys.readouterr()
    assert_no_secret(
        workspace,
        caplog.text,
        out.out,
        out.err,
        str(info.value),
        repr(info.value),
        repr(predictor),
        repr(predictor.config),
        repr(client),
        repr(client._session.auth),
    )
