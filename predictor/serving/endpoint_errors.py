"""What goes wrong at a serving endpoint: typed errors and the error details it sends.

Pure functions on already-received bytes and JSON; the predictions are read in
``predictor.serving.endpoint_answers``; the HTTP client is in ``predictor.serving.endpoint_client``.
Every text taken from a response is sanitized (no secrets, no control characters, bounded length)
by :func:`predictor.contract.redaction.sanitize`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable

from predictor.contract.redaction import sanitize


class EndpointError(RuntimeError):
    """The serving endpoint did not give a usable answer. ``kind`` is a short user-facing word.

    ``retry_after`` is set when the endpoint asked to be left alone for longer than the client
    waits (its ``Retry-After``, in seconds): the caller pauses the endpoint for that long.
    """

    kind = "endpoint error"

    def __init_subclass__(cls, kind: str | None = None, **kwargs: object) -> None:
        """A subclass names its kind in its class statement: ``class X(EndpointError, kind=...)``."""
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class AuthError(EndpointError, kind="authentication"):
    """401/403, or no usable credentials: the token or OAuth client is missing, wrong or lacks rights."""


class InvalidCredentialsError(AuthError, kind="invalid credentials"):
    """The credentials cannot be sent at all: a secret holds a line break, a control character or
    another character an HTTP header cannot carry. The message names the setting, not its value."""


class NotFoundError(EndpointError, kind="not found"):
    """404: no such endpoint."""


class RateLimitedError(EndpointError, kind="rate limited"):
    """429 after the retries allowed."""


class ServerError(EndpointError, kind="server error"):
    """5xx (other than 503) after the retries allowed."""


class RequestRejectedError(EndpointError, kind="request rejected"):
    """Another 4xx: the endpoint refused the request (e.g. a schema mismatch)."""


class EndpointTimeoutError(EndpointError, kind="timeout"):
    """No connection within the connect timeout."""


class EndpointWarmingError(EndpointError, kind="warming up"):
    """503 after the retries, or no answer within the read timeout: typically an endpoint that
    scaled to zero and is starting again."""


class EndpointConnectionError(EndpointError, kind="connection"):
    """The connection failed (refused, DNS, TLS...)."""


class BadResponseError(EndpointError, kind="bad response"):
    """The answer is not JSON, has a shape this client does not read, the wrong count, or holds a
    non-finite number or a range whose lower bound is above its upper bound."""


class DeadlineExceededError(EndpointError, kind="too slow"):
    """The endpoint started answering but sent no complete answer within the call's total
    deadline (retries included), e.g. one byte at a time."""


class ImplausibleAnswerError(BadResponseError, kind="implausible answer"):
    """A well-formed answer outside the plausible band (see ``predictor.serving.plausibility``).

    ``detail`` says which value, in the page's number format, and the band it left.
    """

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


# --------------------------------------------------------------------------- error bodies

_TITLE = re.compile(r"<(title|h1)[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _json_detail(payload: object) -> str | None:
    """``CODE: message`` from the error bodies Databricks and model servers send."""
    if not isinstance(payload, dict):
        return None
    code = _text(payload.get("error_code")) or _text(payload.get("code"))
    message = _text(payload.get("message")) or _text(payload.get("detail"))
    error = payload.get("error")
    if isinstance(error, dict):  # {"error": {"code": ..., "message": ...}}
        code = code or _text(error.get("code")) or _text(error.get("type"))
        message = message or _text(error.get("message"))
    elif _text(error):  # {"error": "...", "error_description": "..."}
        code = code or (_text(error) if _text(payload.get("error_description")) else None)
        message = message or _text(payload.get("error_description")) or _text(error)
    parts = [p for p in (code, message) if p]
    return ": ".join(parts) if parts else None


def _html_detail(body: str) -> str | None:
    """The title (or first heading) of an HTML error page, as text."""
    match = _TITLE.search(body)
    return _text(html.unescape(_TAG.sub(" ", match.group(2)))) if match else None


def error_detail(content: bytes, content_type: str = "", secrets: Iterable[str | None] = ()) -> str:
    """`` (detail)`` from an error response body (JSON, HTML page or text), sanitized; or ``""``."""
    body = content[:65536].decode("utf-8", errors="replace")
    try:
        detail = _json_detail(json.loads(body))
    except ValueError:
        if "html" in content_type.lower() or body.lstrip()[:1] == "<":
            detail = _html_detail(body)
        else:
            detail = _text(body) if "text/plain" in content_type.lower() else None
    return f" ({sanitize(detail, secrets)})" if detail else ""
