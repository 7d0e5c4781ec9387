"""The Databricks Model Serving client: one ``requests.Session``, typed errors, library retries.

Retries are urllib3's ``Retry`` mounted on the session: 429 and 503 only, POST included, backoff
with jitter, and a ``Retry-After`` honoured up to the retry budget. A longer ``Retry-After`` is
not waited for: the error carries it, and the circuit breaker keeps the endpoint paused that long.
Credentials come from :class:`predictor.serving.endpoint_auth.DatabricksAuth`; no secret appears in a log line, an
exception message or a ``repr``.

Each call has one total deadline, retries included (``PREDICTOR_DEADLINE_SECONDS``, default 10 s):
the connection is cut when it passes (see :mod:`predictor.serving.endpoint_deadline`), and a retry
that could not finish in time is not started.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import requests
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from predictor.serving import endpoint_errors as errors
from predictor.serving.endpoint_answers import parse_predictions
from predictor.serving.endpoint_auth import DatabricksAuth, origin
from predictor.serving.endpoint_deadline import Deadline, DeadlineAdapter, current
from predictor.serving.settings import (
    DEFAULT_DEADLINE_SECONDS,
    DEFAULT_TIMEOUT,
    ConfigError,
    PredictorConfig,
    check_endpoint_url,
    endpoint_url_from_host,
)

log = logging.getLogger(__name__)

RETRY_STATUSES = (429, 503)
MAX_RETRIES = 2
MAX_RETRY_WAIT = 3.0  # the longest single wait before a retry, in seconds
BACKOFF_FACTOR = 0.25
BACKOFF_JITTER = 0.25
MAX_PAUSE = 3600.0  # the longest pause a Retry-After may impose on the endpoint

_UNCAPPED = Retry(0, retry_after_max=sys.maxsize)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    try:
        return float(_UNCAPPED.parse_retry_after(value))
    except (InvalidHeader, OverflowError, ValueError):
        return None


class BudgetRetry(Retry):
    """urllib3 ``Retry`` that gives up at once when ``Retry-After`` exceeds ``retry_after_max``.

    The stock class would wait the capped time and try again against an endpoint that asked for
    longer; this one hands the answer back so the caller can pause the endpoint instead.
    """

    def get_retry_after(self, response: Any) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None  # an unreadable header: fall back to the backoff

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        asked = None
        if response is not None and error is None:
            asked = parse_retry_after(response.headers.get("Retry-After"))
            if asked is not None and asked > self.retry_after_max:
                raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {asked:g} s"))
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        deadline = current()
        if deadline is not None and response is not None:
            wait = asked if asked is not None else retry.get_backoff_time()
            if wait >= deadline.remaining():  # the retry could not end in time: give up now
                raise MaxRetryError(_pool, url, ResponseError("no time left for a retry"))
        return retry


def retry_policy(max_retries: int = MAX_RETRIES, max_wait: float = MAX_RETRY_WAIT) -> BudgetRetry:
    """The session's retries: 429/503 on any method, no retry of connection or read failures."""
    return BudgetRetry(
        total=max_retries,
        status=max_retries,
        connect=0,
        read=False,
        other=0,
        redirect=0,
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_jitter=BACKOFF_JITTER,
        backoff_max=max_wait,
        retry_after_max=max_wait,
        raise_on_status=False,
        raise_on_redirect=False,
        respect_retry_after_header=True,
    )


def _bearer(request: requests.PreparedRequest | None) -> str | None:
    """The token the request carried (to scrub it from anything the server echoes)."""
    header = (request.headers.get("Authorization") if request is not None else None) or ""
    return header.partition(" ")[2] or None


class DatabricksClient:
    """Scores DataFrames on a Databricks Model Serving endpoint (or anything speaking its protocol).

    ``url`` is the invocations URL; it may be None with ``serving_endpoint`` when a profile names
    the workspace host. ``token`` is a personal access token; pass ``auth`` for other credentials.
    """

    def __init__(
        self,
        url: str | None,
        token: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        max_retry_wait: float = MAX_RETRY_WAIT,
        pool_size: int = 32,
        *,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        auth: DatabricksAuth | None = None,
        serving_endpoint: str | None = None,
    ) -> None:
        if url is None and not serving_endpoint:
            raise ValueError("DatabricksClient needs an invocations URL or a serving endpoint name")
        self._url = check_endpoint_url(url) if url is not None else None
        self._serving_endpoint = serving_endpoint
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait
        self.deadline = deadline
        self._auth = auth or DatabricksAuth(
            host=origin(url) if url else None, token=token, timeout=timeout
        )
        self._session = requests.Session()
        self._session.auth = self._auth
        adapter = DeadlineAdapter(
            pool_connections=1,
            pool_maxsize=pool_size,
            max_retries=retry_policy(max_retries, max_retry_wait),
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    @classmethod
    def from_config(cls, config: PredictorConfig) -> DatabricksClient:
        """A client for the endpoint and credentials of ``config`` (which must have an endpoint)."""
        return cls(
            config.endpoint_url,
            timeout=config.timeout,
            auth=DatabricksAuth.from_config(config),
            serving_endpoint=config.serving_endpoint,
            deadline=config.deadline_seconds,
        )

    @property
    def host(self) -> str:
        """The endpoint's host, or the profile it comes from while that is not read yet."""
        if self._url is not None:
            return urlsplit(self._url).netloc
        host = self._auth.host
        return urlsplit(host).netloc if host else f"({self._auth.method})"

    @property
    def url(self) -> str:
        """The invocations URL (built from the profile's host on first use if not given)."""
        if self._url is None:
            self._auth.config()  # reads the profile, or raises errors.AuthError
            self._url = check_endpoint_url(
                endpoint_url_from_host(self._auth.host or "", self._serving_endpoint or "")
            )
        return self._url

    def __repr__(self) -> str:
        return (
            f"DatabricksClient(host={self.host!r}, credentials={self._auth.method!r}, "
            f"timeout={self.timeout!r}, deadline={self.deadline!r})"
        )

    def prepare(self) -> None:
        """Set up the credentials now rather than in the first call (imports databricks-sdk and
        reads the workspace's configuration); a failure is reported by the first call instead."""
        with contextlib.suppress(errors.EndpointError, ConfigError):
            self._auth.config()
            self.url  # noqa: B018 (builds the URL from a profile's host)

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def predict(self, frame: pd.DataFrame) -> np.ndarray | pd.DataFrame:
        """Predictions for the rows of ``frame`` (all numeric), in one request plus retries, all
        within ``deadline`` seconds.

        A 1-D float array when the endpoint returns numbers; a DataFrame of ``prediction`` and
        ``lower_XX``/``upper_XX`` columns when it returns ranges too (see ``parse_predictions``).
        """
        body = json.dumps(
            {
                "dataframe_split": {
                    "columns": [str(c) for c in frame.columns],
                    "data": frame.to_numpy(dtype=float).tolist(),
                }
            },
            allow_nan=False,
        ).encode()
        url = self.url
        # Set up once, outside the deadline: importing databricks-sdk and reading the workspace's
        # configuration (its own calls have their own timeouts).
        self._auth.config()
        with Deadline(self.deadline) as call:
            response = self._post(url, body, call)
        try:
            return self._read(response, len(frame))
        finally:
            response.close()

    def _post(self, url: str, body: bytes, call: Deadline) -> requests.Response:
        left = call.remaining()
        timeout = (min(self.timeout[0], left), min(self.timeout[1], left))
        try:
            return self._session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise self._failure(exc, call, timeout) from None

    def _failure(
        self, exc: requests.RequestException, call: Deadline, timeout: tuple[float, float]
    ) -> errors.EndpointError:
        """The typed error for a request that raised ``exc`` under ``call``."""
        if call.expired and call.answered:
            return errors.DeadlineExceededError(
                f"the endpoint at {self.host} started answering but sent no complete answer "
                f"within the {self.deadline:g} s deadline"
            )
        if isinstance(exc, requests.ConnectTimeout) and not call.expired:
            return errors.EndpointTimeoutError(
                f"could not connect to the endpoint at {self.host} within {timeout[0]:g} s"
            )
        if call.expired or isinstance(exc, requests.Timeout):
            waited = self.deadline if call.expired else timeout[1]
            return errors.EndpointWarmingError(
                f"the endpoint at {self.host} did not answer within {waited:g} s "
                "(an endpoint that scaled to zero takes minutes to start)"
            )
        return errors.EndpointConnectionError(
            f"could not connect to the endpoint at {self.host} ({type(exc).__name__})"
        )

    def _read(self, response: requests.Response, expected: int) -> np.ndarray | pd.DataFrame:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if 200 <= status < 300:
            try:
                payload = json.loads(response.content)
            except ValueError:
                if "html" in content_type.lower() or response.content.lstrip()[:1] == b"<":
                    raise errors.BadResponseError(
                        "the endpoint answered with an HTML page instead of JSON", status
                    ) from None
                raise errors.BadResponseError("the endpoint's answer is not JSON", status) from None
            return parse_predictions(payload, expected)
        secrets = (*self._auth.secrets, _bearer(response.request))
        detail = errors.error_detail(response.content, content_type, secrets)
        asked = parse_retry_after(response.headers.get("Retry-After"))
        pause = min(asked, MAX_PAUSE) if asked is not None and asked > self.max_retry_wait else None
        if status in (401, 403):
            raise errors.AuthError(
                f"the endpoint refused the credentials ({self._auth.method}, HTTP {status}){detail}",
                status,
            )
        if status == 404:
            raise errors.NotFoundError(
                f"no endpoint at this URL (HTTP 404){detail}; check DATABRICKS_ENDPOINT_URL",
                status,
            )
        if status == 429:
            raise errors.RateLimitedError(
                f"the endpoint is rate limiting (HTTP 429){detail}", status, pause
            )
        if status == 503:
            raise errors.EndpointWarmingError(
                f"the endpoint is not ready (HTTP 503){detail}", status, pause
            )
        if status >= 500:
            raise errors.ServerError(
                f"the endpoint had a server error (HTTP {status}){detail}", status
            )
        if 300 <= status < 400:
            raise errors.BadResponseError(
                f"the endpoint redirected (HTTP {status}); check DATABRICKS_ENDPOINT_URL", status
            )
        raise errors.RequestRejectedError(
            f"the endpoint rejected the request (HTTP {status}){detail}", status
        )


class CircuitBreaker:
    """Closed, open, half-open. After a failure the endpoint is left alone for ``cooldown``
    seconds (or the pause it asked for); then one call alone probes it: a success closes the
    breaker, a failure opens it again. Calls that are not let through go to the local model.
    Thread-safe.
    """

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._open = False
        self._open_until = 0.0
        self._prober: int | None = None  # the thread making the trial call
        self._last_kind: str | None = None

    def allow(self) -> bool:
        """Whether this call may go to the endpoint; after the cool-down, only the first one."""
        with self._lock:
            if not self._open:
                return True
            if self._prober is not None or time.monotonic() < self._open_until:
                return False
            self._prober = threading.get_ident()
            return True

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (a trial call is out)."""
        with self._lock:
            if not self._open:
                return "closed"
            return "half-open" if self._prober is not None else "open"

    @property
    def last_failure(self) -> str | None:
        """The kind of the last failure, or None after a success."""
        return self._last_kind

    def record_failure(self, kind: str, pause: float | None = None) -> None:
        """Open the breaker for ``pause`` seconds if given, else for the cool-down period."""
        with self._lock:
            self._open = True
            self._open_until = time.monotonic() + (self.cooldown if pause is None else pause)
            self._prober = None
            self._last_kind = kind

    def record_success(self) -> None:
        """Close the breaker."""
        with self._lock:
            self._open = False
            self._open_until = 0.0
            self._prober = None
            self._last_kind = None

    def release(self) -> None:
        """End this thread's trial call without a verdict (it failed for another reason)."""
        with self._lock:
            if self._prober == threading.get_ident():
                self._prober = None
