"""Configuration of the prediction layer: environment variables first, then a TOML secrets file.

Keys (the same in the environment and in the secrets file):

- The endpoint: ``DATABRICKS_ENDPOINT_URL``, the full ``.../serving-endpoints/NAME/invocations``
  URL; or ``DATABRICKS_HOST`` and ``DATABRICKS_SERVING_ENDPOINT`` (an endpoint name); or only
  ``DATABRICKS_SERVING_ENDPOINT`` when a profile names the host.
- The credentials, one of: ``DATABRICKS_TOKEN`` (a personal access token);
  ``DATABRICKS_CLIENT_ID`` and ``DATABRICKS_CLIENT_SECRET`` (OAuth machine-to-machine);
  ``DATABRICKS_CONFIG_PROFILE`` (a profile of ``~/.databrickscfg``, or of
  ``DATABRICKS_CONFIG_FILE``). databricks-sdk turns them into request headers.
- ``PREDICTOR_BACKEND``: ``auto`` (default), ``databricks`` or ``local``.
- ``PREDICTOR_TIMEOUT``: read timeout in seconds, or ``connect,read`` (default ``3,10``).
- ``PREDICTOR_COOLDOWN_SECONDS``: how long a failed endpoint is skipped (default 60).
- ``PREDICTOR_DEADLINE_SECONDS``: the total time one endpoint call may take, retries included
  (default 10); past it the call is cut and the local model answers.

The secrets file is ``PREDICTOR_SECRETS_FILE`` if set, else ``secrets.toml`` in the working
directory if it exists.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from predictor.serving.bundle import DEFAULT_MODEL

BACKENDS = ("auto", "databricks", "local")
DEFAULT_TIMEOUT = (3.0, 10.0)
DEFAULT_COOLDOWN_SECONDS = 60.0
DEFAULT_DEADLINE_SECONDS = 10.0
SECRETS_FILE_ENV = "PREDICTOR_SECRETS_FILE"
DEFAULT_SECRETS_FILE = "secrets.toml"

KEYS = (
    "DATABRICKS_TOKEN",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_CONFIG_PROFILE",
    "DATABRICKS_CONFIG_FILE",
    "DATABRICKS_ENDPOINT_URL",
    "DATABRICKS_HOST",
    "DATABRICKS_SERVING_ENDPOINT",
    "DATABRICKS_SERVING_ENDPOINTS",
    "PREDICTOR_BACKEND",
    "PREDICTOR_TIMEOUT",
    "PREDICTOR_COOLDOWN_SECONDS",
    "PREDICTOR_DEADLINE_SECONDS",
)


class ConfigError(ValueError):
    """The predictor's configuration is invalid; the message names the setting to fix."""


@dataclass(frozen=True)
class PredictorConfig:
    """Resolved settings. Secrets (token, OAuth client secret) never appear in ``repr``."""

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
        """An endpoint (a URL, or a name with a profile for the host) and credentials."""
        located = self.endpoint_url or (self.serving_endpoint and self.profile)
        return bool(located and self.credentials)

    def __repr__(self) -> str:
        return (
            f"PredictorConfig(backend={self.backend!r}, endpoint_url={self.endpoint_url!r}, "
            f"serving_endpoint={self.serving_endpoint!r}, credentials={self.credentials!r}, "
            f"profile={self.profile!r}, timeout={self.timeout!r}, "
            f"cooldown_seconds={self.cooldown_seconds!r}, "
            f"deadline_seconds={self.deadline_seconds!r}, source={self.source!r})"
        )


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


def read_secrets_file(path: Path) -> dict[str, str]:
    """The known keys of a TOML secrets file, as strings. Values never appear in errors."""
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
    for key in KEYS:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{key} in secrets file {path} must be a string")
        out[key] = str(value)
    return out


def _settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Non-empty, stripped values of the known keys."""
    return {k: str(environ[k]).strip() for k in KEYS if str(environ.get(k) or "").strip()}


def _endpoint_url(settings: Mapping[str, str]) -> str | None:
    if "DATABRICKS_ENDPOINT_URL" in settings:
        return settings["DATABRICKS_ENDPOINT_URL"]
    if "DATABRICKS_HOST" in settings and "DATABRICKS_SERVING_ENDPOINT" in settings:
        return endpoint_url_from_host(
            settings["DATABRICKS_HOST"], settings["DATABRICKS_SERVING_ENDPOINT"]
        )
    return None


# The model that today's single-endpoint settings serve when no per-model endpoint names it.
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


def _model_endpoint(
    settings: Mapping[str, str], model: str | None, url: str | None
) -> tuple[str | None, str | None]:
    """The endpoint URL and name that serve ``model``: its own from DATABRICKS_SERVING_ENDPOINTS,
    else the single-endpoint settings for the default model, else none."""
    endpoints = parse_endpoint_map(settings.get("DATABRICKS_SERVING_ENDPOINTS", ""))
    single = settings.get("DATABRICKS_SERVING_ENDPOINT")
    model = model or DEFAULT_MODEL
    if model == DEFAULT_MODEL and model not in endpoints:
        return url, single
    name = endpoints.get(model)
    if name is None:
        return None, None
    host = settings.get("DATABRICKS_HOST")
    return (endpoint_url_from_host(host, name) if host else None), name


def _credentials(settings: Mapping[str, str]) -> None:
    """Refuse half an OAuth client or two kinds of credentials at once (names only, no values)."""
    pair = ("DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET")
    client = [k for k in pair if k in settings]
    if len(client) == 1:
        other = pair[1] if client[0] == pair[0] else pair[0]
        raise ConfigError(f"{client[0]} is set without {other}; set both for OAuth, or neither")
    if client and "DATABRICKS_TOKEN" in settings:
        raise ConfigError(
            "both DATABRICKS_TOKEN and DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET are set; "
            "keep one kind of credentials"
        )


def load_config(
    environ: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    model: str | None = None,
) -> PredictorConfig:
    """Resolve the configuration: each setting from the environment first, then the secrets file.

    With ``model``, the endpoint is that model's (see ``DATABRICKS_SERVING_ENDPOINTS``).
    """
    environ = os.environ if environ is None else environ
    env = _settings(environ)
    secrets_path: Path | None = None
    if str(environ.get(SECRETS_FILE_ENV) or "").strip():
        secrets_path = Path(str(environ[SECRETS_FILE_ENV]).strip()).expanduser()
    else:
        candidate = Path(cwd or Path.cwd()) / DEFAULT_SECRETS_FILE
        if candidate.is_file():
            secrets_path = candidate
    file = _settings(read_secrets_file(secrets_path)) if secrets_path else {}

    merged = {**file, **env}
    url = _endpoint_url(env) or _endpoint_url(file) or _endpoint_url(merged)
    url, serving_endpoint = _model_endpoint(merged, model, url)
    _credentials(merged)

    backend = merged.get("PREDICTOR_BACKEND", "auto").lower()
    if backend not in BACKENDS:
        raise ConfigError("PREDICTOR_BACKEND must be one of auto, databricks, local")
    timeout = parse_timeout(merged["PREDICTOR_TIMEOUT"]) if "PREDICTOR_TIMEOUT" in merged else None
    cooldown = (
        parse_cooldown(merged["PREDICTOR_COOLDOWN_SECONDS"])
        if "PREDICTOR_COOLDOWN_SECONDS" in merged
        else DEFAULT_COOLDOWN_SECONDS
    )
    deadline = parse_deadline(
        merged.get("PREDICTOR_DEADLINE_SECONDS", str(DEFAULT_DEADLINE_SECONDS))
    )
    if url is not None:
        check_endpoint_url(url)
    sources = [name for name, found in (("environment", env), ("secrets file", file)) if found]
    config = PredictorConfig(
        backend=backend,
        endpoint_url=url,
        token=merged.get("DATABRICKS_TOKEN"),
        timeout=timeout or DEFAULT_TIMEOUT,
        cooldown_seconds=cooldown,
        source=" + ".join(sources) or "defaults",
        host=merged.get("DATABRICKS_HOST"),
        serving_endpoint=serving_endpoint,
        client_id=merged.get("DATABRICKS_CLIENT_ID"),
        client_secret=merged.get("DATABRICKS_CLIENT_SECRET"),
        profile=merged.get("DATABRICKS_CONFIG_PROFILE"),
        config_file=merged.get("DATABRICKS_CONFIG_FILE"),
        deadline_seconds=deadline,
    )
    if backend == "databricks" and not config.has_endpoint:
        raise ConfigError(
            "PREDICTOR_BACKEND=databricks needs an endpoint (DATABRICKS_ENDPOINT_URL, or "
            "DATABRICKS_HOST and DATABRICKS_SERVING_ENDPOINT) and credentials (DATABRICKS_TOKEN, "
            "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET, or DATABRICKS_CONFIG_PROFILE)"
        )
    return config
