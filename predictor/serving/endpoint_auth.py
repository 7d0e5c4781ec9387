"""Credentials for the serving endpoint, resolved by databricks-sdk's ``Config``.

A personal access token, an OAuth machine-to-machine client (``DATABRICKS_CLIENT_ID`` and
``DATABRICKS_CLIENT_SECRET``) or a profile of ``~/.databrickscfg`` all work. The ``Config`` is built
on the first request (it may contact the workspace), and every request asks it for fresh headers,
so OAuth tokens are refreshed before they expire. Secrets never appear in a ``repr`` or an error.
"""

from __future__ import annotations

import math
import threading
from typing import Any
from urllib.parse import urlsplit

import requests

from predictor.contract.redaction import header_safe, sanitize
from predictor.serving.endpoint_errors import AuthError, InvalidCredentialsError
from predictor.serving.settings import (
    DEFAULT_TIMEOUT,
    ConfigError,
    PredictorConfig,
    check_endpoint_url,
)

# The settings that pass unchanged from a PredictorConfig to DatabricksAuth.
_CREDENTIAL_SETTINGS = ("token", "client_id", "client_secret", "profile", "config_file", "timeout")


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class DatabricksAuth(requests.auth.AuthBase):
    """Adds databricks-sdk's authentication headers to each request. Thread-safe."""

    def __init__(
        self,
        *,
        host: str | None = None,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        profile: str | None = None,
        config_file: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        given = {
            "host": host,
            "token": token,
            "client_id": client_id,
            "client_secret": client_secret,
            "profile": profile,
            "config_file": config_file,
        }
        self._settings = {key: value for key, value in given.items() if value}
        if token:
            self.method = "token"
            self._settings["auth_type"] = "pat"
        elif client_id and client_secret:
            self.method = "oauth-m2m"
            self._settings["auth_type"] = "oauth-m2m"
        else:
            self.method = f"profile {profile}" if profile else "default"
        self._secrets = tuple(s for s in (token, client_secret) if s)
        # Bounds the SDK's own calls to the workspace (host metadata, OIDC discovery).
        self._settings["http_timeout_seconds"] = float(timeout[1])
        self._settings["retry_timeout_seconds"] = max(1, math.ceil(timeout[0]))
        self._config: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: PredictorConfig) -> DatabricksAuth:
        """The credentials of ``config``; the host is the endpoint URL's unless set."""
        url = config.endpoint_url
        host = config.host or (origin(url) if url else None)
        return cls(host=host, **{name: getattr(config, name) for name in _CREDENTIAL_SETTINGS})

    def __repr__(self) -> str:
        return f"DatabricksAuth(method={self.method!r}, host={self.host!r}, secrets='***')"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The configured secret values, for scrubbing text before it is shown."""
        return self._secrets

    @property
    def host(self) -> str | None:
        """The workspace host, once known (a profile names it only when it is read)."""
        if self._config is not None:
            return self._config.host
        return self._settings.get("host")

    def config(self) -> Any:
        """The ``databricks.sdk.config.Config``, built once; raises :class:`AuthError` if it fails."""
        if self._config is None:
            with self._lock:
                if self._config is None:
                    self._config = self._build()
        return self._config

    def _build(self) -> Any:
        from databricks.sdk.config import Config

        try:
            config = Config(**self._settings)
        except Exception as exc:
            raise AuthError(
                f"Databricks credentials ({self.method}) could not be set up: "
                f"{sanitize(str(exc), self._secrets)}"
            ) from None
        try:
            check_endpoint_url(config.host or "")
        except ConfigError:
            raise AuthError(
                f"the Databricks host of {self.method} must be an https:// URL "
                "(plain http:// only to localhost)"
            ) from None
        return config

    def headers(self) -> dict[str, str]:
        """Fresh authentication headers (an OAuth token is refreshed when it is about to expire)."""
        config = self.config()
        try:
            headers = dict(config.authenticate())
        except Exception as exc:
            raise AuthError(
                f"no Databricks token for {self.method} ({type(exc).__name__}: "
                f"{sanitize(str(exc), self._secrets)})"
            ) from None
        # A profile's token is read by the SDK, not by the settings: check it here, so that the
        # HTTP library never quotes a header it refuses.
        unsafe = [name for name, value in headers.items() if not header_safe(str(value))]
        if unsafe:
            raise InvalidCredentialsError(
                f"the Databricks credentials of {self.method} hold a line break or another "
                f"character that cannot go in the {', '.join(unsafe)} header; set them again"
            )
        return headers

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(self.headers())
        return request
