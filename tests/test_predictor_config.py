"""Configuration: environment first, then the secrets file; safe URLs; nothing leaks the token."""

from __future__ import annotations

import pytest

from predictor import ConfigError
from predictor.serving.settings import (
    DEFAULT_COOLDOWN_SECONDS,
    DEFAULT_TIMEOUT,
    check_endpoint_url,
    endpoint_url_from_host,
    load_config,
    parse_timeout,
)
from tests.support.common import TOKEN
from tests.support.endpoint import CLIENT_ID, CLIENT_SECRET

URL = "https://adb-1.azuredatabricks.net/serving-endpoints/purchases/invocations"


@pytest.fixture(autouse=True)
def _no_secrets_file_in_cwd(tmp_path, monkeypatch):
    """Run each test in an empty folder so a developer's secrets.toml is never read."""
    monkeypatch.chdir(tmp_path)


def write_secrets(path, **values):
    path.write_text("".join(f'{k} = "{v}"\n' for k, v in values.items()))
    return path


def test_nothing_configured_means_local_defaults():
    config = load_config({})
    assert (config.backend, config.endpoint_url, config.token) == ("auto", None, None)
    assert not config.has_endpoint
    assert config.timeout == DEFAULT_TIMEOUT and config.cooldown_seconds == DEFAULT_COOLDOWN_SECONDS
    assert config.source == "defaults"


def test_environment_variables_configure_the_endpoint():
    config = load_config(
        {
            "DATABRICKS_TOKEN": f"  {TOKEN}\n",
            "DATABRICKS_ENDPOINT_URL": URL,
            "PREDICTOR_BACKEND": "Databricks",
            "PREDICTOR_TIMEOUT": "2,8",
            "PREDICTOR_COOLDOWN_SECONDS": "5",
        }
    )
    assert config.has_endpoint and config.token == TOKEN and config.endpoint_url == URL
    assert (config.backend, config.timeout, config.cooldown_seconds) == (
        "databricks",
        (2.0, 8.0),
        5.0,
    )


def test_host_and_endpoint_name_build_the_url():
    config = load_config(
        {
            "DATABRICKS_TOKEN": TOKEN,
            "DATABRICKS_HOST": "adb-1.azuredatabricks.net/",
            "DATABRICKS_SERVING_ENDPOINT": "purchases",
        }
    )
    assert config.endpoint_url == URL
    assert endpoint_url_from_host("https://h.example/", "a b") == (
        "https://h.example/serving-endpoints/a%20b/invocations"
    )


def test_secrets_toml_in_the_working_directory_is_read(tmp_path):
    write_secrets(tmp_path / "secrets.toml", DATABRICKS_TOKEN=TOKEN, DATABRICKS_ENDPOINT_URL=URL)
    config = load_config({})
    assert config.has_endpoint and config.token == TOKEN and config.source == "secrets file"


def test_environment_wins_over_the_secrets_file_key_by_key(tmp_path):
    path = write_secrets(
        tmp_path / "elsewhere.toml",
        DATABRICKS_TOKEN="file-token",
        DATABRICKS_ENDPOINT_URL="https://file.example/serving-endpoints/x/invocations",
        PREDICTOR_COOLDOWN_SECONDS="7",
    )
    config = load_config(
        {
            "PREDICTOR_SECRETS_FILE": str(path),
            "DATABRICKS_TOKEN": TOKEN,
            "DATABRICKS_ENDPOINT_URL": URL,
        }
    )
    assert (config.token, config.endpoint_url, config.cooldown_seconds) == (TOKEN, URL, 7.0)
    assert config.source == "environment + secrets file"
    # An endpoint URL in the environment also wins over host + name from the file, and vice versa.
    write_secrets(path, DATABRICKS_HOST="file.example", DATABRICKS_SERVING_ENDPOINT="x")
    assert (
        load_config(
            {"PREDICTOR_SECRETS_FILE": str(path), "DATABRICKS_ENDPOINT_URL": URL}
        ).endpoint_url
        == URL
    )


def test_predictor_secrets_file_replaces_the_working_directory_file(tmp_path):
    write_secrets(
        tmp_path / "secrets.toml", DATABRICKS_TOKEN="cwd-token", DATABRICKS_ENDPOINT_URL=URL
    )
    other = write_secrets(tmp_path / "other.toml", PREDICTOR_BACKEND="local")
    config = load_config({"PREDICTOR_SECRETS_FILE": str(other)})
    assert (config.backend, config.token) == ("local", None)


def test_a_missing_or_broken_secrets_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config({"PREDICTOR_SECRETS_FILE": str(tmp_path / "absent.toml")})
    broken = tmp_path / "broken.toml"
    broken.write_text(f'DATABRICKS_TOKEN = "{TOKEN}\n')
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config({"PREDICTOR_SECRETS_FILE": str(broken)})
    assert TOKEN not in str(info.value)
    typed = tmp_path / "typed.toml"
    typed.write_text("DATABRICKS_TOKEN = [1, 2]\n")
    with pytest.raises(ConfigError, match=r"DATABRICKS_TOKEN in secrets file .* must be a string"):
        load_config({"PREDICTOR_SECRETS_FILE": str(typed)})


@pytest.mark.parametrize(
    "url",
    [
        "http://adb-1.azuredatabricks.net/serving-endpoints/x/invocations",
        "http://10.0.0.5:8080/invocations",
        "http://localhost.evil.example/invocations",
        "http://[2001:db8::1]/invocations",
    ],
)
def test_plain_http_to_a_non_loopback_host_is_refused(url):
    with pytest.raises(ConfigError, match="plain http://") as info:
        load_config({"DATABRICKS_TOKEN": TOKEN, "DATABRICKS_ENDPOINT_URL": url})
    assert TOKEN not in str(info.value) and "https://" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000/invocations",
        "http://127.8.9.10/invocations",
        "http://localhost:8080/invocations",
        "http://[::1]:8080/invocations",
        URL,
    ],
)
def test_https_and_loopback_http_are_allowed(url):
    assert check_endpoint_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://h.example/x",
        "adb-1.azuredatabricks.net/x",
        "https://",
        "https://u:p@h.example/x",
        "https://h:99999999/x",
    ],
)
def test_malformed_urls_are_refused(url):
    with pytest.raises(ConfigError, match="DATABRICKS_ENDPOINT_URL"):
        check_endpoint_url(url)


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"PREDICTOR_BACKEND": "cloud"}, "PREDICTOR_BACKEND"),
        ({"PREDICTOR_TIMEOUT": "soon"}, "PREDICTOR_TIMEOUT"),
        ({"PREDICTOR_TIMEOUT": "0"}, "PREDICTOR_TIMEOUT"),
        ({"PREDICTOR_TIMEOUT": "1,2,3"}, "PREDICTOR_TIMEOUT"),
        ({"PREDICTOR_TIMEOUT": "nan"}, "PREDICTOR_TIMEOUT"),
        ({"PREDICTOR_COOLDOWN_SECONDS": "-1"}, "PREDICTOR_COOLDOWN_SECONDS"),
        ({"PREDICTOR_COOLDOWN_SECONDS": "inf"}, "PREDICTOR_COOLDOWN_SECONDS"),
        ({"PREDICTOR_BACKEND": "databricks"}, "DATABRICKS_TOKEN"),
        ({"PREDICTOR_BACKEND": "databricks", "DATABRICKS_TOKEN": TOKEN}, "DATABRICKS_ENDPOINT_URL"),
    ],
)
def test_bad_settings_name_the_setting(settings, key):
    with pytest.raises(ConfigError, match=key) as info:
        load_config(settings)
    assert TOKEN not in str(info.value)


def test_timeout_forms():
    assert parse_timeout("10") == (3.0, 10.0)
    assert parse_timeout("0.5") == (0.5, 0.5)
    assert parse_timeout(" 2 , 8 ") == (2.0, 8.0)


def test_repr_hides_the_token():
    config = load_config({"DATABRICKS_TOKEN": TOKEN, "DATABRICKS_ENDPOINT_URL": URL})
    assert TOKEN not in repr(config) and TOKEN not in str(config)
    assert "credentials='token'" in repr(config)


def test_oauth_client_from_the_environment_or_the_secrets_file(tmp_path):
    settings = {
        "DATABRICKS_ENDPOINT_URL": URL,
        "DATABRICKS_CLIENT_ID": CLIENT_ID,
        "DATABRICKS_CLIENT_SECRET": CLIENT_SECRET,
    }
    from_env = load_config(settings)
    path = write_secrets(tmp_path / "s.toml", **settings)
    from_file = load_config({"PREDICTOR_SECRETS_FILE": str(path)})
    for config in (from_env, from_file):
        assert config.has_endpoint and config.credentials == "oauth-m2m" and config.token is None
        assert (config.client_id, config.client_secret) == (CLIENT_ID, CLIENT_SECRET)
        assert CLIENT_SECRET not in repr(config) and CLIENT_SECRET not in str(config)
        assert CLIENT_ID not in repr(config)


def test_a_profile_with_an_endpoint_name_is_an_endpoint():
    config = load_config(
        {
            "DATABRICKS_CONFIG_PROFILE": "prod",
            "DATABRICKS_CONFIG_FILE": "/etc/databrickscfg",
            "DATABRICKS_SERVING_ENDPOINT": "purchases",
        }
    )
    assert config.has_endpoint and config.credentials == "profile"
    assert (config.profile, config.config_file, config.endpoint_url) == (
        "prod",
        "/etc/databrickscfg",
        None,
    )
    assert not load_config({"DATABRICKS_CONFIG_PROFILE": "prod"}).has_endpoint  # no endpoint name
    assert not load_config({"DATABRICKS_SERVING_ENDPOINT": "purchases"}).has_endpoint  # no creds


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"DATABRICKS_CLIENT_ID": CLIENT_ID},
            "DATABRICKS_CLIENT_ID is set without DATABRICKS_CLIENT_SECRET",
        ),
        (
            {"DATABRICKS_CLIENT_SECRET": CLIENT_SECRET},
            "DATABRICKS_CLIENT_SECRET is set without DATABRICKS_CLIENT_ID",
        ),
        (
            {
                "DATABRICKS_TOKEN": TOKEN,
                "DATABRICKS_CLIENT_ID": CLIENT_ID,
                "DATABRICKS_CLIENT_SECRET": CLIENT_SECRET,
            },
            "keep one kind of credentials",
        ),
        (
            {"PREDICTOR_BACKEND": "databricks", "DATABRICKS_CONFIG_PROFILE": "p"},
            "DATABRICKS_SERVING_ENDPOINT",
        ),
    ],
)
def test_incomplete_or_mixed_credentials_are_refused_without_values(settings, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(
            {"DATABRICKS_ENDPOINT_URL": URL, **settings}
            if "PREDICTOR_BACKEND" not in settings
            else settings
        )
    for secret in (TOKEN, CLIENT_SECRET):
        assert secret not in str(info.value)


PER_MODEL = {
    "DATABRICKS_HOST": "https://adb-1.azuredatabricks.net",
    "DATABRICKS_TOKEN": "dapi-per-model-secret",
    "DATABRICKS_SERVING_ENDPOINTS": "ridge=purchases-ridge, boosting=purchases-boosting",
}


@pytest.mark.parametrize(
    ("model", "endpoint"),
    [
        (None, "purchases-ridge"),
        ("ridge", "purchases-ridge"),
        ("boosting", "purchases-boosting"),
        ("other", None),
    ],
)
def test_each_model_has_its_own_endpoint(tmp_path, model, endpoint) -> None:
    config = load_config(PER_MODEL, cwd=tmp_path, model=model)
    if endpoint is None:
        assert config.endpoint_url is None and not config.has_endpoint
    else:
        assert config.endpoint_url == (
            f"https://adb-1.azuredatabricks.net/serving-endpoints/{endpoint}/invocations"
        )
        assert config.serving_endpoint == endpoint and config.has_endpoint
    assert "dapi-per-model-secret" not in repr(config)


def test_single_endpoint_settings_keep_serving_the_default_model(tmp_path) -> None:
    env = {
        "DATABRICKS_ENDPOINT_URL": "https://adb-1.azuredatabricks.net/serving-endpoints/old/invocations",
        "DATABRICKS_TOKEN": "dapi-x",
        "DATABRICKS_SERVING_ENDPOINTS": "boosting=purchases-boosting",
    }
    assert load_config(env, cwd=tmp_path, model="ridge").endpoint_url.endswith("/old/invocations")
    assert load_config(env, cwd=tmp_path).endpoint_url.endswith("/old/invocations")
    boosting = load_config(
        {**env, "DATABRICKS_HOST": "https://h.net"}, cwd=tmp_path, model="boosting"
    )
    assert boosting.endpoint_url == "https://h.net/serving-endpoints/purchases-boosting/invocations"


@pytest.mark.parametrize("text", ["ridge", "ridge=", "=name", "ridge=a,ridge=b", "Ridge!=x"])
def test_a_malformed_endpoint_map_says_how_to_write_it(tmp_path, text) -> None:
    with pytest.raises(ConfigError, match="DATABRICKS_SERVING_ENDPOINTS"):
        load_config({**PER_MODEL, "DATABRICKS_SERVING_ENDPOINTS": text}, cwd=tmp_path)
