"""The Databricks Model Serving client: one ``requests.Session``, typed errors, bounded retries.

The token lives only in the session's auth object; it never appears in a log line, an exception
message or a ``repr``. Error text taken from a response is sanitized and truncated first.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import requests
from requests.adapters import HTTPAdapter

from predictor.config import DEFAULT_TIMEOUT, check_endpoint_url

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 503)
MAX_RETRIES = 2
MAX_RETRY_WAIT = 3.0  # seconds spent waiting between retries, in all
MESSAGE_LIMIT = 200


class EndpointError(RuntimeError):
    """The serving endpoint did not give a usable answer. ``kind`` is a short user-facing word."""

    kind = "endpoint error"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(EndpointError):
    """401/403: the token is missing, wrong or lacks permission."""

    kind = "authentication"


class NotFoundError(EndpointError):
    """404: no such endpoint."""

    kind = "not found"


class RateLimitedError(EndpointError):
    """429 after the retries allowed."""

    kind = "rate limited"


class ServerError(EndpointError):
    """5xx after the retries allowed."""

    kind = "server error"


class RequestRejectedError(EndpointError):
    """Another 4xx: the endpoint refused the request (e.g. a schema mismatch)."""

    kind = "request rejected"


class EndpointTimeoutError(EndpointError):
    """No connection or no answer within the timeout."""

    kind = "timeout"


class EndpointConnectionError(EndpointError):
    """The connection failed (refused, DNS, TLS...)."""

    kind = "connection"


class BadResponseError(EndpointError):
    """The answer is not JSON, has the wrong shape or count, or holds a non-finite number."""

    kind = "bad response"


_BEARER = re.compile(r"(?i)\bbearer\s+\S+")
_DATABRICKS_TOKEN = re.compile(r"\bdapi[0-9a-zA-Z]{16,}(?:-\d+)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def sanitize(text: str, secrets: Iterable[str | None] = (), limit: int = MESSAGE_LIMIT) -> str:
    """``text`` without secrets, token-like strings or control characters, at most ``limit`` long."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _BEARER.sub("Bearer ***", text)
    text = _DATABRICKS_TOKEN.sub("***", text)
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def parse_predictions(payload: object, expected: int) -> np.ndarray | pd.DataFrame:
    """Predictions from ``{"predictions": [...]}``: numbers, or one-key objects holding one.

    Records with a ``prediction`` key (a model that sends its range too) come back as a DataFrame.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("predictions"), list):
        raise BadResponseError("the endpoint's answer has no 'predictions' list")
    items = payload["predictions"]
    if len(items) != expected:
        raise BadResponseError(
            f"the endpoint returned {len(items)} predictions for {expected} rows"
        )
    if items and all(isinstance(item, dict) and "prediction" in item for item in items):
        return pd.DataFrame.from_records(items)
    values = np.empty(expected, dtype=float)
    for i, item in enumerate(items):
        if isinstance(item, dict) and len(item) == 1:
            item = next(iter(item.values()))
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise BadResponseError(f"prediction {i} from the endpoint is not a number")
        try:
            value = float(item)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise BadResponseError(f"prediction {i} from the endpoint is not a finite number")
        values[i] = value
    return values


class _BearerAuth(requests.auth.AuthBase):
    """Adds the Bearer token to each request; its repr hides the token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(token='***')"


class DatabricksClient:
    """Scores DataFrames on a Databricks Model Serving endpoint (or anything speaking its protocol)."""

    def __init__(
        self,
        url: str,
        token: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        max_retry_wait: float = MAX_RETRY_WAIT,
        pool_size: int = 32,
    ) -> None:
        self.url = check_endpoint_url(url)
        self.host = urlsplit(url).netloc
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._token = token
        self._session = requests.Session()
        self._session.auth = _BearerAuth(token)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def __repr__(self) -> str:
        return f"DatabricksClient(url={self.url!r}, token='***', timeout={self.timeout!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def predict(self, frame: pd.DataFrame) -> np.ndarray | pd.DataFrame:
        """Predictions for the rows of ``frame`` (all numeric), in one request plus bounded retries."""
        body = json.dumps(
            {
                "dataframe_split": {
                    "columns": [str(c) for c in frame.columns],
                    "data": frame.to_numpy(dtype=float).tolist(),
                }
            },
            allow_nan=False,
        ).encode()
        waited = 0.0
        attempt = 0
        while True:
            response = self._post(body)
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                delay = parse_retry_after(response.headers.get("Retry-After"))
                if delay is None:
                    delay = 0.25 * 2**attempt
                if waited + delay <= self.max_retry_wait:
                    log.info(
                        "endpoint answered %s; retrying in %.2f s", response.status_code, delay
                    )
                    response.close()
                    time.sleep(delay)
                    waited += delay
                    attempt += 1
                    continue
            return self._read(response, len(frame))

    def _post(self, body: bytes) -> requests.Response:
        try:
            return self._session.post(
                self.url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            connect = isinstance(exc, requests.ConnectTimeout)
            limit = self.timeout[0] if connect else self.timeout[1]
            what = "could not connect" if connect else "did not answer"
            raise EndpointTimeoutError(
                f"the endpoint at {self.host} {what} within {limit:g} s"
            ) from None
        except requests.RequestException as exc:
            raise EndpointConnectionError(
                f"could not connect to the endpoint at {self.host} ({type(exc).__name__})"
            ) from None

    def _error_detail(self, response: requests.Response) -> str:
        """`` (CODE: message)`` from a Databricks error body, sanitized; empty if there is none."""
        try:
            payload = json.loads(response.content[:65536])
        except ValueError:
            return ""
        if not isinstance(payload, dict):
            return ""
        code = payload.get("error_code")
        message = payload.get("message")
        parts = [str(p) for p in (code, message) if isinstance(p, str) and p.strip()]
        if not parts:
            return ""
        return f" ({sanitize(': '.join(parts), [self._token])})"

    def _read(self, response: requests.Response, expected: int) -> np.ndarray | pd.DataFrame:
        status = response.status_code
        if 200 <= status < 300:
            try:
                payload = json.loads(response.content)
            except ValueError:
                content_type = response.headers.get("Content-Type", "").lower()
                if "html" in content_type or response.content.lstrip()[:1] == b"<":
                    raise BadResponseError(
                        "the endpoint answered with an HTML page instead of JSON", status
                    ) from None
                raise BadResponseError("the endpoint's answer is not JSON", status) from None
            return parse_predictions(payload, expected)
        detail = self._error_detail(response)
        if status in (401, 403):
            raise AuthError(
                f"the endpoint refused the token (HTTP {status}){detail}; check DATABRICKS_TOKEN",
                status,
            )
        if status == 404:
            raise NotFoundError(
                f"no endpoint at this URL (HTTP 404){detail}; check DATABRICKS_ENDPOINT_URL",
                status,
            )
        if status == 429:
            raise RateLimitedError(f"the endpoint is rate limiting (HTTP 429){detail}", status)
        if status >= 500:
            raise ServerError(f"the endpoint had a server error (HTTP {status}){detail}", status)
        if 300 <= status < 400:
            raise BadResponseError(
                f"the endpoint redirected (HTTP {status}); check DATABRICKS_ENDPOINT_URL", status
            )
        raise RequestRejectedError(
            f"the endpoint rejected the request (HTTP {status}){detail}", status
        )


class CircuitBreaker:
    """After a failure, keeps the endpoint closed for ``cooldown`` seconds. Thread-safe."""

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._last_kind: str | None = None

    def allow(self) -> bool:
        """Whether the endpoint may be called now."""
        with self._lock:
            return time.monotonic() >= self._open_until

    @property
    def last_failure(self) -> str | None:
        """The kind of the last failure, or None after a success."""
        return self._last_kind

    def record_failure(self, kind: str) -> None:
        """Open the breaker for the cool-down period."""
        with self._lock:
            self._open_until = time.monotonic() + self.cooldown
            self._last_kind = kind

    def record_success(self) -> None:
        """Close the breaker."""
        with self._lock:
            self._open_until = 0.0
            self._last_kind = None
