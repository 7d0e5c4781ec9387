"""The one settings object: every setting listed once, read once, secrets that never print.

The README's configuration table and ``secrets.toml.example`` are checked against the object; a
secret that cannot go in an HTTP header is refused by name, never shown, and the endpoint is then
not called; an invalid scenario-log setting does not stop the predictor, nor the other way round.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from predictor import ConfigError, Predictor
from predictor.contract.notices import NoticeCode
from predictor.contract.redaction import sanitize
from predictor.record.log_rows import reason, store_url
from predictor.record.scenario_log import NullLog
from predictor.serving.settings import (
    SECRET_NAMES,
    SETTING_NAMES,
    Settings,
    load_config,
    load_settings,
    setting_name,
)
from tests.support.common import MODEL_DIR, TOKEN
from tests.support.endpoint import CLIENT_ID, CLIENT_SECRET, FakeWorkspace
from tests.support.predictor import APP_PLAN as PLAN
from tests.support.predictor import assert_no_fragment
from ui.dashboard import log_off_summary

REPO = Path(__file__).resolve().parents[1]
URL = "https://adb-1.azuredatabricks.net/serving-endpoints/purchases/invocations"
# Characters a credential sent in an HTTP header cannot hold, inside a value (around it they are
# trimmed, as they always were).
UNSENDABLE = ["\n", "\r", "\r\n", "\x00", "\x7f", "\t", " ", "é", "\u2028"]
BAD_SECRET = "dapiQ7vX2kR9mW4tL8pZ{}N3bY6cH1jF5sD0gK"


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    """Each test runs in an empty folder, so a developer's secrets.toml is never read."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))


# ------------------------------------------------------------------------------ one list of settings


def readme_table() -> dict[str, str]:
    """``NAME -> default text`` from the README's configuration table."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        name = cells[0].strip("`")
        assert name not in table, f"{name} is in the table twice"
        table[name] = cells[1].strip("`")
    return table


def test_the_readme_table_lists_exactly_the_settings_objects_fields() -> None:
    assert list(readme_table()) == list(SETTING_NAMES)


def test_the_readme_table_gives_the_settings_objects_defaults(tmp_path) -> None:
    (tmp_path / "secrets.toml").write_text("")  # so that naming the default file finds it
    for name, text in readme_table().items():
        field = name.lower()
        default = Settings.model_fields[field].get_default(call_default_factory=True)
        if text == "—":
            assert default in (None, {}), (
                f"{name} has a default ({default!r}); give it in the table"
            )
            continue
        read = load_settings({name: text}, cwd=tmp_path)
        assert not read.invalid, read.invalid
        assert getattr(read, field) == default, f"{name}: the README says {text}"


def test_every_setting_has_a_one_line_description() -> None:
    for name, info in Settings.model_fields.items():
        assert info.description and "\n" not in info.description, name


def test_secrets_toml_example_names_every_setting_and_reads_cleanly(tmp_path) -> None:
    example = (REPO / "secrets.toml.example").read_text()
    keys = re.findall(r"^#? ?([A-Z][A-Z_]+) = ", example, flags=re.MULTILINE)
    assert set(keys) == set(SETTING_NAMES) - {"PREDICTOR_SECRETS_FILE"}
    # Every commented line uncommented, one form of credentials and of endpoint kept.
    setting = re.compile(r"# ?[A-Z][A-Z_]+ = ")
    lines = [
        line.removeprefix("# ") if setting.match(line) else line for line in example.splitlines()
    ]
    keep = {"DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET", "DATABRICKS_CONFIG_PROFILE"}
    keep |= {"DATABRICKS_HOST", "DATABRICKS_SERVING_ENDPOINT", "DATABRICKS_SERVING_ENDPOINTS"}
    text = "\n".join(line for line in lines if line.split(" = ")[0] not in keep)
    path = tmp_path / "example.toml"
    path.write_text(text)
    settings = load_settings({"PREDICTOR_SECRETS_FILE": str(path)})
    assert not settings.invalid and settings.source == "environment + secrets file"
    assert settings.scenario_log_url is not None and settings.databricks_token is not None


# ------------------------------------------------------------------------------ secrets never print


def test_secrets_print_as_stars_everywhere(caplog) -> None:
    password = "Pa55-wordXYZ"
    settings = load_settings(
        {
            "DATABRICKS_ENDPOINT_URL": URL,
            "DATABRICKS_TOKEN": TOKEN,
            "SCENARIO_LOG_URL": f"postgresql+psycopg://app:{password}@db.example/log",
        }
    )
    other = load_settings(
        {"DATABRICKS_CLIENT_ID": CLIENT_ID, "DATABRICKS_CLIENT_SECRET": CLIENT_SECRET}
    )
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %s / %r / %s", settings, settings, other)
    texts = [
        repr(settings),
        str(settings),
        f"{settings}",
        settings.model_dump_json(),
        json.dumps(settings.model_dump(mode="json")),
        repr(other),
        str(other),
        caplog.text,
    ]
    for text in texts:
        assert "**********" in text
        for secret in (TOKEN, password, CLIENT_SECRET, CLIENT_ID):
            assert_no_fragment(secret, text)
    assert settings.databricks_token.get_secret_value() == TOKEN
    assert set(SECRET_NAMES) == {"DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET", "SCENARIO_LOG_URL"}


def test_sanitize_masks_a_secret_written_as_python_escapes_it() -> None:
    secret = BAD_SECRET.format("\r\n")
    for text in (f"header {secret!r}", f"header {secret.encode()!r}", f"raw {secret}"):
        assert_no_fragment(secret, sanitize(text, [secret], limit=1000))


def test_a_store_error_is_scrubbed_by_the_same_sanitizer() -> None:
    from sqlalchemy.engine import make_url

    password = "Pa55\nword-XYZ"
    url = make_url("postgresql+psycopg://app:pw@db/log").set(password=password)
    text = reason(RuntimeError(f"could not log in with {password!r} ({password})"), url)
    assert_no_fragment(password, text)
    assert "\n" not in text


# ------------------------------------------------------------------------------ unsendable secrets


@pytest.mark.parametrize("name", ["DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET"])
@pytest.mark.parametrize("char", UNSENDABLE, ids=repr)
@pytest.mark.parametrize("place", ["environment", "secrets file"])
def test_a_secret_that_cannot_go_in_a_header_is_refused_by_name(tmp_path, name, char, place):
    secret = BAD_SECRET.format(char)
    given = {name: secret}
    if name == "DATABRICKS_CLIENT_SECRET":
        given["DATABRICKS_CLIENT_ID"] = CLIENT_ID
    environ = {"DATABRICKS_ENDPOINT_URL": URL}
    if place == "environment":
        environ.update(given)
    else:
        path = tmp_path / "s.toml"
        path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in given.items()))
        environ["PREDICTOR_SECRETS_FILE"] = str(path)
    settings = load_settings(environ)
    assert getattr(settings, name.lower()) is None
    message = settings.invalid[name]
    assert message.startswith(name) and "HTTP header" in message
    config = load_config(environ)
    assert not config.has_endpoint and config.invalid_credentials == message
    with pytest.raises(ConfigError, match=name) as strict:
        load_config({**environ, "PREDICTOR_BACKEND": "databricks"})
    assert_no_fragment(
        secret, message, repr(settings), str(strict.value), repr(config), str(settings.invalid)
    )


def test_spaces_and_line_breaks_around_a_secret_are_trimmed() -> None:
    config = load_config({"DATABRICKS_TOKEN": f" {TOKEN}\r\n", "DATABRICKS_ENDPOINT_URL": URL})
    assert config.token == TOKEN and config.has_endpoint and config.invalid_credentials is None


def test_the_predictor_answers_locally_with_the_credentials_notice(caplog) -> None:
    secret = BAD_SECRET.format("\n")
    caplog.set_level(logging.DEBUG)
    predictor = Predictor.from_env(
        MODEL_DIR, environ={"DATABRICKS_TOKEN": secret, "DATABRICKS_ENDPOINT_URL": URL}
    )
    answer = predictor.predict(PLAN)
    assert answer.backend == "local" and predictor.call_counts == {"local": 1}
    notice = answer.notices[-1]
    assert notice.code is NoticeCode.CREDENTIALS_INVALID and "DATABRICKS_TOKEN" in notice
    assert "DATABRICKS_TOKEN" in caplog.text
    assert_no_fragment(secret, caplog.text, *answer.notices, repr(predictor))


def test_a_profile_token_with_a_line_break_is_never_sent_nor_shown(tmp_path, caplog, capsys):
    secret = BAD_SECRET.format("\n")
    head, tail = secret.split("\n")
    caplog.set_level(logging.DEBUG)
    with FakeWorkspace(token=secret) as workspace:
        cfg = tmp_path / "databrickscfg"
        # An indented line continues the value: the token holds a line break.
        cfg.write_text(f"[prod]\nhost = {workspace.base}\ntoken = {head}\n  {tail}\n")
        environ = {
            "DATABRICKS_CONFIG_PROFILE": "prod",
            "DATABRICKS_CONFIG_FILE": str(cfg),
            "DATABRICKS_SERVING_ENDPOINT": "m",
        }
        answer = Predictor.from_env(MODEL_DIR, environ=environ).predict(PLAN)
    assert answer.backend == "local" and workspace.invocations == 0
    assert answer.notices[-1].code is NoticeCode.CREDENTIALS_INVALID
    out = capsys.readouterr()
    assert_no_fragment(secret, caplog.text, out.out, out.err, *answer.notices)


# ------------------------------------------------------------------------------ each part on its own


def test_the_scenario_log_url_can_go_in_the_secrets_file(tmp_path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(f'SCENARIO_LOG_URL = "sqlite:///{tmp_path / "log.sqlite"}"\n')
    url = store_url(load_settings({}))
    assert url is not None and url.database == str(tmp_path / "log.sqlite")
    from_env = store_url({"SCENARIO_LOG_URL": "sqlite:///other.sqlite"})
    assert from_env is not None and from_env.database == "other.sqlite"


def test_a_bad_log_setting_leaves_the_predictor_working_and_the_reverse(tmp_path) -> None:
    environ = {
        "SCENARIO_LOG_URL": "postgresql+psycopg://app:Pa55wordXYZ@db.example:notaport/log",
        "DATABRICKS_TOKEN": TOKEN,
        "DATABRICKS_ENDPOINT_URL": URL,
    }
    settings = load_settings(environ)
    assert load_config(environ).has_endpoint
    with pytest.raises(
        ConfigError, match=r"store's address \(SCENARIO_LOG_URL\) is invalid"
    ) as bad:
        store_url(settings)
    assert_no_fragment("Pa55wordXYZ", str(bad.value))
    broken = load_settings({"PREDICTOR_TIMEOUT": "soon", "SCENARIO_LOG_PATH": str(tmp_path / "l")})
    assert set(broken.invalid) == {"PREDICTOR_TIMEOUT"}
    assert store_url(broken).database == str(tmp_path / "l")
    with pytest.raises(ConfigError, match="PREDICTOR_TIMEOUT"):
        load_config({"PREDICTOR_TIMEOUT": "soon"})


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://app:Pa55wordXYZ@db.example:notaport/log",
        "nosuchdialect://app:Pa55wordXYZ@db.example/log",
        "postgresql://app:Pa55wordXYZ@db.example/log\nsslmode=disable",
    ],
)
def test_the_dashboard_says_the_stores_address_is_invalid(url) -> None:
    import app

    log = app.scenario_log_from_env(load_settings({"SCENARIO_LOG_URL": url}))
    assert isinstance(log, NullLog) and not log.enabled
    summary = log_off_summary(log.reason)
    assert "store's address (SCENARIO\\_LOG\\_URL) is invalid" in summary
    assert "SCENARIO_LOG=off" not in summary
    assert_no_fragment("Pa55wordXYZ", summary, repr(log))
    assert "SCENARIO_LOG=off" in log_off_summary(NullLog().reason)


def test_an_endpoint_described_in_the_environment_wins_over_the_file(tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'DATABRICKS_ENDPOINT_URL = "{URL}"\nDATABRICKS_TOKEN = "{TOKEN}"\n')
    config = load_config(
        {
            "PREDICTOR_SECRETS_FILE": str(path),
            "DATABRICKS_HOST": "https://env.example",
            "DATABRICKS_SERVING_ENDPOINT": "from-env",
        }
    )
    assert config.endpoint_url == "https://env.example/serving-endpoints/from-env/invocations"


def test_the_secrets_file_cannot_name_another_file(tmp_path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('PREDICTOR_BACKEND = "local"\n')
    (tmp_path / "secrets.toml").write_text(f'PREDICTOR_SECRETS_FILE = "{other}"\n')
    settings = load_settings({})
    assert settings.predictor_backend == "auto" and settings.source == "defaults"


def test_setting_names_are_the_fields_in_capitals() -> None:
    assert [setting_name(f) for f in Settings.model_fields] == list(SETTING_NAMES)
    assert all(re.fullmatch(r"[A-Z][A-Z_]+", n) for n in SETTING_NAMES)
