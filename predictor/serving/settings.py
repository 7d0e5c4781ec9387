"""The app's runtime settings: one object, read once from the environment and a TOML secrets file.

:class:`Settings` lists every setting with its type, default and meaning; the README's
configuration table lists the same names (``tests/test_settings.py`` checks it). Each setting is
an environment variable of the field's name in capitals, or the same key in the secrets file:
``PREDICTOR_SECRETS_FILE`` if set, else ``secrets.toml`` in the working directory if it exists.
The environment wins key by key.

:func:`load_settings` reads them. Secrets are ``SecretStr``: they print as ``**********``. A
setting that cannot work is left at its default and named in :attr:`Settings.invalid` with a
message that says what to change, never its value; each part then decides: the prediction
layer's view (:func:`predictor_config`) refuses a bad endpoint setting, and answers locally with a
notice when a secret cannot be sent; the scenario log turns itself off and says why.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import quote, urlsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from predictor.contract.redaction import is_credential
from predictor.serving.bundle import DEFAULT_MODEL
from predictor.serving.bundle_trust import TRUST_SETTING

Backend = Literal["auto", "databricks", "local"]
BACKENDS: tuple[str, ...] = get_args(Backend)
DEFAULT_TIMEOUT = (3.0, 10.0)
DEFAULT_COOLDOWN_SECONDS = 60.0
DEFAULT_DEADLINE_SECONDS = 10.0
SECRETS_FILE_ENV = "PREDICTOR_SECRETS_FILE"
DEFAULT_SECRETS_FILE = "secrets.toml"
ENVIRONMENT = "environment"
SECRETS_FILE = "secrets file"
_OFF = {"off", "0", "false", "no"}
_ON = {"on", "1", "true", "yes"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Secrets sent as credentials in a request header.
CREDENTIAL_SECRETS = ("DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET")


class ConfigError(ValueError):
    """A setting is invalid; the message names the setting to fix, never a secret's value."""


# ------------------------------------------------------------------------------ field parsers


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint_url(url: str) -> str:
    """Return ``url`` if a token may be sent to it: ``https://``, or ``http://`` to loopback only."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        raise ConfigError(
            "DATABRICKS_ENDPOINT_URL is not a valid URL; use https://HOST/serving-endpoints/NAME/invocations"
        ) from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(
            "DATABRICKS_ENDPOINT_URL must start with https:// and name a host, like "
            "https://HOST/serving-endpoints/NAME/invocations"
        )
    if parts.username or parts.password:
        raise ConfigError(
            "DATABRICKS_ENDPOINT_URL must not contain a user name or password; "
            "put the token in DATABRICKS_TOKEN"
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"DATABRICKS_ENDPOINT_URL uses plain http:// to {host}, which would send the token "
            "unencrypted; use https:// (plain http:// is allowed only for localhost)"
        )
    return url


def endpoint_url_from_host(host: str, endpoint: str) -> str:
    """``https://HOST/serving-endpoints/NAME/invocations`` from a workspace host and endpoint name."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    return f"{host}/serving-endpoints/{quote(endpoint.strip(), safe='')}/invocations"


def parse_timeout(text: str) -> tuple[float, float]:
    """``"10"`` -> ``(min(3, 10), 10)``; ``"2,8"`` -> ``(2, 8)`` (connect, read seconds)."""
    pieces = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in pieces]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or not all(math.isfinite(v) and 0 < v <= 300 for v in values):
        raise ConfigError(
            "PREDICTOR_TIMEOUT must be seconds (e.g. 10) or connect,read seconds (e.g. 3,10), "
            "each above 0 and at most 300"
        )
    if len(values) == 1:
        return (min(DEFAULT_TIMEOUT[0], values[0]), values[0])
    return (values[0], values[1])


def parse_cooldown(text: str) -> float:
    """Seconds a failed endpoint is skipped; a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError("PREDICTOR_COOLDOWN_SECONDS must be a number of seconds, 0 or more")
    return value


_MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
ENDPOINT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")


def parse_endpoint_map(text: str) -> dict[str, str]:
    """``"ridge=name1,boosting=name2"`` -> ``{"ridge": "name1", "boosting": "name2"}``."""
    endpoints: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        model, sep, name = (x.strip() for x in part.partition("="))
        if not sep or not _MODEL_NAME.fullmatch(model) or not ENDPOINT_NAME.fullmatch(name):
            raise ConfigError(
                f"DATABRICKS_SERVING_ENDPOINTS has {part!r}; write MODEL=ENDPOINT pairs separated "
                "by commas, like ridge=purchases-ridge,boosting=purchases-boosting"
            )
        if model in endpoints:
            raise ConfigError(f"DATABRICKS_SERVING_ENDPOINTS names model {model!r} twice")
        endpoints[model] = name
    return endpoints


def parse_switch(name: str, text: str) -> bool:
    """``on``/``1``/``true``/``yes`` -> True; ``off``/``0``/``false``/``no`` -> False."""
    word = text.strip().lower()
    if word not in _ON | _OFF:
        raise ConfigError(f"{name} must be on or off")
    return word in _ON


def parse_backend(text: str) -> str:
    """``auto``, ``databricks`` or ``local``, in any case."""
    if text.strip().lower() not in BACKENDS:
        raise ConfigError(f"PREDICTOR_BACKEND must be one of {', '.join(BACKENDS)}")
    return text.strip().lower()


def credential(name: str) -> Callable[[str], str]:
    """A check that the secret ``name`` can be sent in an HTTP header (its message shows no value)."""

    def check(text: str) -> str:
        if not is_credential(text):
            raise ConfigError(
                f"{name} holds a character that a credential cannot have (a line break, a control "
                "character, a space or a non-ASCII character), so it cannot be sent in an HTTP "
                "header; set it again without that character"
            )
        return text

    return check


def parse_deadline(text: str) -> float:
    """Seconds one endpoint call may take in all; a number above 0 and at most 300."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 300):
        raise ConfigError(
            "PREDICTOR_DEADLINE_SECONDS must be a number of seconds above 0 and at most 300"
        )
    return value


def parse_trust_bundle(text: str) -> bool:
    """``PREDICTOR_TRUST_BUNDLE``: 1/true/yes/on or 0/false/no/off (any case)."""
    word = text.strip().lower()
    if word not in _ON | _OFF:
        raise ConfigError(
            f"{TRUST_SETTING} must be 1 (serve a bundle that is not one of the shipped ones) "
            "or 0 (serve only the shipped, pinned bundles)"
        )
    return word in _ON


def check_store_address(text: str) -> str:
    """The log's store URL, if it is one line (a URL cannot hold a control character)."""
    if _CONTROL.search(text):
        raise ConfigError(
            "the store's address (SCENARIO_LOG_URL) is invalid: it holds a line break or another "
            "control character"
        )
    return text


# How each field's text is read; a field not named here takes the text as it is.
FIELD_PARSERS: dict[str, Callable[[str], Any]] = {
    "databricks_endpoint_url": check_endpoint_url,
    "databricks_serving_endpoints": parse_endpoint_map,
    "databricks_token": credential("DATABRICKS_TOKEN"),
    "databricks_client_secret": credential("DATABRICKS_CLIENT_SECRET"),
    "predictor_backend": parse_backend,
    "predictor_timeout": parse_timeout,
    "predictor_cooldown_seconds": parse_cooldown,
    "predictor_deadline_seconds": parse_deadline,
    "predictor_trust_bundle": parse_trust_bundle,
    "scenario_log": lambda text: parse_switch("SCENARIO_LOG", text),
    "scenario_log_url": check_store_address,
}


# ------------------------------------------------------------------------------ the settings


class Settings(BaseSettings):
    """Every runtime setting of the app: its type, its default and what it does.

    Read it with :func:`load_settings`. Secrets are ``SecretStr`` (``.get_secret_value()`` gives
    the text); ``repr``, ``str`` and logging show ``**********``.
    """

    model_config = SettingsConfigDict(frozen=True, hide_input_in_errors=True)

    databricks_endpoint_url: str | None = Field(
        None, description="The endpoint's full https://…/serving-endpoints/NAME/invocations URL."
    )
    databricks_host: str | None = Field(
        None, description="The workspace URL; with DATABRICKS_SERVING_ENDPOINT(S), the endpoint's."
    )
    databricks_serving_endpoint: str | None = Field(
        None, description="The endpoint's name, on DATABRICKS_HOST or the profile's host."
    )
    databricks_serving_endpoints: dict[str, str] = Field(
        default_factory=dict, description="One endpoint per model: ridge=NAME1,boosting=NAME2."
    )
    databricks_token: SecretStr | None = Field(
        None, description="Credentials: a personal access token or a service principal's token."
    )
    databricks_client_id: str | None = Field(
        None,
        repr=False,
        description="Or OAuth machine-to-machine: a service principal's client id.",
    )
    databricks_client_secret: SecretStr | None = Field(
        None, description="The OAuth client's secret, with DATABRICKS_CLIENT_ID."
    )
    databricks_config_profile: str | None = Field(
        None, description="Or a profile of the Databricks config file holding host and credentials."
    )
    databricks_config_file: str | None = Field(
        None, description="The Databricks config file, if not ~/.databrickscfg."
    )
    predictor_backend: Backend = Field(
        "auto", description="auto: endpoint, local on failure; databricks: endpoint only; local."
    )
    predictor_timeout: tuple[float, float] = Field(
        DEFAULT_TIMEOUT, description="Seconds to wait for the endpoint: read, or connect,read."
    )
    predictor_cooldown_seconds: float = Field(
        DEFAULT_COOLDOWN_SECONDS, description="Seconds a failed endpoint is left alone."
    )
    predictor_deadline_seconds: float = Field(
        DEFAULT_DEADLINE_SECONDS,
        description="Seconds one endpoint call may take in all, retries included.",
    )
    predictor_trust_bundle: bool = Field(
        False, description="1 to serve a local bundle that is not one of the shipped, pinned ones."
    )
    predictor_secrets_file: Path = Field(
        Path(DEFAULT_SECRETS_FILE),
        description="The TOML file of settings read after the environment (environment only).",
    )
    scenario_log: bool = Field(True, description="Log every prediction anonymously: on or off.")
    scenario_log_url: SecretStr | None = Field(
        None, description="The log's store: a SQLAlchemy URL (it may hold a password)."
    )
    scenario_log_path: Path | None = Field(
        None, description="The log's SQLite file when SCENARIO_LOG_URL is not set."
    )
    scenario_log_spool: str | None = Field(
        None,
        description="Where rows wait while the store is down: a file, or memory (default: a file "
        "beside the SQLite log).",
    )

    _invalid: dict[str, str] = PrivateAttr(default_factory=dict)
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the environment, then the secrets file, key by key."""
        reading = _READING.get() or Reading.of(os.environ)
        return (
            init_settings,
            TextSource(settings_cls, reading.environment),
            TextSource(settings_cls, reading.secrets_file),
        )

    @field_validator(*FIELD_PARSERS, mode="before")
    @classmethod
    def _parse(cls, value: Any, info: ValidationInfo) -> Any:
        """Text is read by the field's parser (its errors name the setting, never the value)."""
        return FIELD_PARSERS[info.field_name or ""](value) if isinstance(value, str) else value

    # -- what was read ---------------------------------------------------------------------------

    @property
    def invalid(self) -> Mapping[str, str]:
        """Settings that were given but cannot work: ``NAME -> message`` (no value in it)."""
        return dict(self._invalid)

    @property
    def origins(self) -> Mapping[str, str]:
        """Where each setting that was given came from: ``"environment"`` or ``"secrets file"``."""
        return dict(self._origins)

    @property
    def source(self) -> str:
        """``"environment"``, ``"secrets file"``, both joined by `` + ``, or ``"defaults"``."""
        found = [s for s in (ENVIRONMENT, SECRETS_FILE) if s in self._origins.values()]
        return " + ".join(found) or "defaults"


def setting_name(field_name: str | None) -> str:
    """The environment variable (and secrets-file key) of a :class:`Settings` field."""
    return (field_name or "").upper()


SETTING_NAMES: tuple[str, ...] = tuple(setting_name(f) for f in Settings.model_fields)
SECRET_FIELDS: tuple[str, ...] = tuple(
    name
    for name, info in Settings.model_fields.items()
    if SecretStr in getattr(info.annotation, "__args__", (info.annotation,))
)
SECRET_NAMES: tuple[str, ...] = tuple(setting_name(f) for f in SECRET_FIELDS)


# ------------------------------------------------------------------------------ reading


class TextSource(PydanticBaseSettingsSource):
    """Settings from a mapping of ``NAME -> text`` (the environment, or the secrets file)."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The text given for ``field_name``, or None."""
        return self._values.get(setting_name(field_name)), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {
            name: self._values[setting_name(name)]
            for name in self.settings_cls.model_fields
            if setting_name(name) in self._values
        }


def _known(values: Mapping[str, Any]) -> dict[str, str]:
    """Non-empty, stripped text of the settings' names."""
    return {k: str(values[k]).strip() for k in SETTING_NAMES if str(values.get(k) or "").strip()}


def read_secrets_file(path: Path) -> dict[str, str]:
    """The settings of a TOML secrets file, as text. Values never appear in errors."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"secrets file {path} does not exist; fix {SECRETS_FILE_ENV}") from None
    except OSError as exc:
        raise ConfigError(f"secrets file {path} cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        where = f" at line {exc.lineno}" if getattr(exc, "lineno", None) else ""
        raise ConfigError(f"secrets file {path} is not valid TOML{where}") from None
    out = {}
    for key in SETTING_NAMES:
        if key not in data or key == SECRETS_FILE_ENV:  # the file cannot name another file
            continue
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{key} in secrets file {path} must be a string")
        out[key] = str(value)
    return out


@dataclass(frozen=True)
class Reading:
    """The settings' text as found: in the environment and in the secrets file."""

    environment: Mapping[str, str]
    secrets_file: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, environ: Mapping[str, str], cwd: str | Path | None = None) -> Reading:
        """Read ``environ`` and the secrets file it names (or ``secrets.toml`` in ``cwd``)."""
        env = _known(environ)
        if SECRETS_FILE_ENV in env:
            path: Path | None = Path(env[SECRETS_FILE_ENV]).expanduser()
        else:
            candidate = Path(cwd or Path.cwd()) / DEFAULT_SECRETS_FILE
            path = candidate if candidate.is_file() else None
        return cls(env, _known(read_secrets_file(path)) if path else {})

    def origins(self) -> dict[str, str]:
        """``NAME -> "environment" | "secrets file"`` for every setting given."""
        return {
            **{k: SECRETS_FILE for k in self.secrets_file},
            **{k: ENVIRONMENT for k in self.environment},
        }

    def without(self, names: set[str]) -> Reading:
        """This reading with ``names`` left out of both places."""
        return Reading(
            {k: v for k, v in self.environment.items() if k not in names},
            {k: v for k, v in self.secrets_file.items() if k not in names},
        )


_READING: ContextVar[Reading | None] = ContextVar("settings_reading", default=None)


@contextmanager
def _reading(reading: Reading) -> Iterator[None]:
    token = _READING.set(reading)
    try:
        yield
    finally:
        _READING.reset(token)


def _messages(error: ValidationError) -> dict[str, str]:
    """``NAME -> message`` for each field of ``error`` (the messages never quote a value)."""
    out: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        if not item["loc"]:
            continue
        name = setting_name(str(item["loc"][0]))
        cause = (item.get("ctx") or {}).get("error")
        out.setdefault(name, str(cause) if cause else f"{name} is invalid ({item['msg']})")
    return out


def load_settings(
    environ: Mapping[str, str] | None = None, cwd: str | Path | None = None
) -> Settings:
    """Read every setting once: from ``environ`` (default ``os.environ``), then the secrets file.

    A setting that cannot work is left at its default and named in :attr:`Settings.invalid`.
    Raises :class:`ConfigError` only for a secrets file that is missing (when named), unreadable
    or not valid TOML.
    """
    reading = Reading.of(os.environ if environ is None else environ, cwd)
    invalid: dict[str, str] = {}
    try:
        with _reading(reading):
            settings = Settings()
    except ValidationError as exc:
        invalid = _messages(exc)
        if not invalid:  # pragma: no cover (every field error has a location)
            raise ConfigError("the settings are invalid") from None
        with _reading(reading.without(set(invalid))):
            settings = Settings()
    settings._invalid = invalid
    settings._origins = reading.origins()
    return settings


def settings_of(source: Settings | Mapping[str, str] | None) -> Settings:
    """``source`` if it is :class:`Settings`; else the settings read from that mapping."""
    return source if isinstance(source, Settings) else load_settings(source)


# ------------------------------------------------------------------------------ the prediction layer's view


@dataclass(frozen=True)
class PredictorConfig:
    """The prediction layer's settings, resolved for one model. Secrets never appear in ``repr``.

    ``invalid_credentials`` says (by name) which configured secret cannot be sent; the endpoint
    is then not called and the local model answers with a notice that says so.
    """

    backend: str = "auto"
    endpoint_url: str | None = None
    token: str | None = field(default=None, repr=False)
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS
    source: str = "defaults"
    host: str | None = None
    serving_endpoint: str | None = None
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    profile: str | None = None
    config_file: str | None = None
    invalid_credentials: str | None = None
    trust_bundle: bool = False
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS

    @property
    def credentials(self) -> str | None:
        """Which credentials are configured: "token", "oauth-m2m", "profile" or None."""
        if self.token:
            return "token"
        if self.client_id and self.client_secret:
            return "oauth-m2m"
        return "profile" if self.profile else None

    @property
    def has_endpoint(self) -> bool:
        """An endpoint (a URL, or a name with a profile for the host) and usable credentials."""
        located = self.endpoint_url or (self.serving_endpoint and self.profile)
        return bool(located and self.credentials and not self.invalid_credentials)

    def __repr__(self) -> str:
        return (
            f"PredictorConfig(backend={self.backend!r}, endpoint_url={self.endpoint_url!r}, "
            f"serving_endpoint={self.serving_endpoint!r}, credentials={self.credentials!r}, "
            f"profile={self.profile!r}, timeout={self.timeout!r}, "
            f"cooldown_seconds={self.cooldown_seconds!r}, source={self.source!r}, "
            f"invalid_credentials={self.invalid_credentials!r}, trust_bundle={self.trust_bundle!r}, "
            f"deadline_seconds={self.deadline_seconds!r})"
        )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _located(settings: Settings, names: set[str]) -> str | None:
    """The endpoint URL that the settings among ``names`` describe on their own, if any."""
    if "DATABRICKS_ENDPOINT_URL" in names and settings.databricks_endpoint_url:
        return settings.databricks_endpoint_url
    if {"DATABRICKS_HOST", "DATABRICKS_SERVING_ENDPOINT"} <= names:
        return endpoint_url_from_host(
            settings.databricks_host or "", settings.databricks_serving_endpoint or ""
        )
    return None


def _endpoint_url(settings: Settings) -> str | None:
    """The single endpoint's URL: described in the environment first, then in the file, then
    by both together (e.g. the host in one and the name in the other)."""
    origins = settings.origins
    for where in (ENVIRONMENT, SECRETS_FILE, None):
        url = _located(settings, {k for k, v in origins.items() if where in (None, v)})
        if url:
            return url
    return None


def _model_endpoint(
    settings: Settings, model: str | None, url: str | None
) -> tuple[str | None, str | None]:
    """The endpoint URL and name that serve ``model``: its own from DATABRICKS_SERVING_ENDPOINTS,
    else the single-endpoint settings for the default model, else none."""
    endpoints = settings.databricks_serving_endpoints
    model = model or DEFAULT_MODEL
    if model == DEFAULT_MODEL and model not in endpoints:
        return url, settings.databricks_serving_endpoint
    name = endpoints.get(model)
    if name is None:
        return None, None
    host = settings.databricks_host
    return (endpoint_url_from_host(host, name) if host else None), name


def _check_credentials(given: set[str]) -> None:
    """Refuse half an OAuth client or two kinds of credentials at once (names only, no values)."""
    pair = ("DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET")
    client = [k for k in pair if k in given]
    if len(client) == 1:
        other = pair[1] if client[0] == pair[0] else pair[0]
        raise ConfigError(f"{client[0]} is set without {other}; set both for OAuth, or neither")
    if client and "DATABRICKS_TOKEN" in given:
        raise ConfigError(
            "both DATABRICKS_TOKEN and DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET are set; "
            "keep one kind of credentials"
        )


def predictor_config(settings: Settings, model: str | None = None) -> PredictorConfig:
    """The prediction layer's view of ``settings`` for ``model`` (see DATABRICKS_SERVING_ENDPOINTS).

    Raises :class:`ConfigError` for an invalid endpoint or predictor setting; a secret that cannot
    be sent is refused (``invalid_credentials``), and raises only with ``PREDICTOR_BACKEND=databricks``.
    """
    invalid = {
        k: v for k, v in settings.invalid.items() if k.startswith(("DATABRICKS_", "PREDICTOR_"))
    }
    refused = [invalid.pop(name) for name in CREDENTIAL_SECRETS if name in invalid]
    if invalid:
        raise ConfigError(next(iter(invalid.values())))
    _check_credentials(set(settings.origins))
    url, serving_endpoint = _model_endpoint(settings, model, _endpoint_url(settings))
    if url is not None:
        check_endpoint_url(url)
    config = PredictorConfig(
        backend=settings.predictor_backend,
        endpoint_url=url,
        token=_secret(settings.databricks_token),
        timeout=settings.predictor_timeout,
        cooldown_seconds=settings.predictor_cooldown_seconds,
        source=settings.source,
        host=settings.databricks_host,
        serving_endpoint=serving_endpoint,
        client_id=settings.databricks_client_id,
        client_secret=_secret(settings.databricks_client_secret),
        trust_bundle=settings.predictor_trust_bundle,
        deadline_seconds=settings.predictor_deadline_seconds,
        profile=settings.databricks_config_profile,
        config_file=settings.databricks_config_file,
        invalid_credentials="; ".join(refused) or None,
    )
    if config.backend == "databricks" and refused:
        raise ConfigError(refused[0])
    if config.backend == "databricks" and not config.has_endpoint:
        raise ConfigError(
            "PREDICTOR_BACKEND=databricks needs an endpoint (DATABRICKS_ENDPOINT_URL, or "
            "DATABRICKS_HOST and DATABRICKS_SERVING_ENDPOINT) and credentials (DATABRICKS_TOKEN, "
            "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET, or DATABRICKS_CONFIG_PROFILE)"
        )
    return config


def load_config(
    environ: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    model: str | None = None,
) -> PredictorConfig:
    """The prediction layer's settings for ``model``, read now: :func:`load_settings` then
    :func:`predictor_config`."""
    return predictor_config(load_settings(environ, cwd), model)


def trust_bundle_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``PREDICTOR_TRUST_BUNDLE`` is on (for tools that build no predictor config)."""
    settings = load_settings(os.environ if environ is None else environ)
    if TRUST_SETTING in settings.invalid:
        raise ConfigError(settings.invalid[TRUST_SETTING])
    return settings.predictor_trust_bundle
