"""What a serving endpoint answers: typed errors, error details, and the predictions it returns.

Pure functions on already-received bytes and JSON; the HTTP client is in ``predictor.serving.endpoint_client``.
Every text taken from a response is sanitized (no secrets, no control characters, bounded length).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

MESSAGE_LIMIT = 200
POINT_COLUMN = "prediction"
_BOUND = re.compile(r"(lower|upper)_([1-9][0-9]?)")


class EndpointError(RuntimeError):
    """The serving endpoint did not give a usable answer. ``kind`` is a short user-facing word.

    ``retry_after`` is set when the endpoint asked to be left alone for longer than the client
    waits (its ``Retry-After``, in seconds): the caller pauses the endpoint for that long.
    """

    kind = "endpoint error"

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class AuthError(EndpointError):
    """401/403, or no usable credentials: the token or OAuth client is missing, wrong or lacks rights."""

    kind = "authentication"


class NotFoundError(EndpointError):
    """404: no such endpoint."""

    kind = "not found"


class RateLimitedError(EndpointError):
    """429 after the retries allowed."""

    kind = "rate limited"


class ServerError(EndpointError):
    """5xx (other than 503) after the retries allowed."""

    kind = "server error"


class RequestRejectedError(EndpointError):
    """Another 4xx: the endpoint refused the request (e.g. a schema mismatch)."""

    kind = "request rejected"


class EndpointTimeoutError(EndpointError):
    """No connection within the connect timeout."""

    kind = "timeout"


class EndpointWarmingError(EndpointError):
    """503 after the retries, or no answer within the read timeout: typically an endpoint that
    scaled to zero and is starting again."""

    kind = "warming up"


class EndpointConnectionError(EndpointError):
    """The connection failed (refused, DNS, TLS...)."""

    kind = "connection"


class BadResponseError(EndpointError):
    """The answer is not JSON, has a shape this client does not read, the wrong count, or holds a
    non-finite number or a range whose lower bound is above its upper bound."""

    kind = "bad response"


_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+\S+")
_DATABRICKS_TOKEN = re.compile(r"\bdapi[0-9a-zA-Z]{16,}(?:-\d+)?")
_DATABRICKS_SECRET = re.compile(r"\bdose[0-9a-zA-Z]{16,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def sanitize(text: str, secrets: Iterable[str | None] = (), limit: int = MESSAGE_LIMIT) -> str:
    """``text`` without secrets, token-like strings or control characters, at most ``limit`` long."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _BEARER.sub(lambda m: f"{m.group(1)} ***", text)
    text = _DATABRICKS_TOKEN.sub("***", text)
    text = _DATABRICKS_SECRET.sub("***", text)
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


# --------------------------------------------------------------------------- predictions


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadResponseError(f"{where} from the endpoint is not a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise BadResponseError(f"{where} from the endpoint is not a finite number")
    return number


def _scalar(item: object, i: int) -> float:
    """One prediction: a number, a one-key object ``{"name": x}`` or a one-item list ``[x]``."""
    if isinstance(item, dict):
        if len(item) != 1:
            raise BadResponseError(
                f"prediction {i} from the endpoint is an object of {len(item)} fields "
                f"without '{POINT_COLUMN}'"
            )
        item = next(iter(item.values()))
    elif isinstance(item, list):
        if len(item) != 1:
            raise BadResponseError(
                f"prediction {i} from the endpoint is a list of {len(item)} values; expected one"
            )
        item = item[0]
    return _number(item, f"prediction {i}")


def _column_names(keys: Iterable[str]) -> list[str]:
    """``prediction`` then ``lower_XX``/``upper_XX`` pairs by level; refuses unpaired bounds."""
    bounds: dict[str, set[str]] = {}
    for key in keys:
        match = _BOUND.fullmatch(key)
        if match:
            bounds.setdefault(match.group(2), set()).add(match.group(1))
    for level, sides in bounds.items():
        if sides != {"lower", "upper"}:
            missing = ({"lower", "upper"} - sides).pop()
            raise BadResponseError(
                f"the endpoint returned a {level}% range without its {missing}_{level} bound"
            )
    names = [POINT_COLUMN]
    for level in sorted(bounds, key=int):
        names += [f"lower_{level}", f"upper_{level}"]
    return names


def _frame(columns: Mapping[str, list[object]], expected: int) -> pd.DataFrame:
    """A validated frame of ``prediction`` and range columns, one row per requested row."""
    names = _column_names(columns)
    data = {}
    for name in names:
        values = columns[name]
        if len(values) != expected:
            raise BadResponseError(
                f"the endpoint returned {len(values)} values of {name} for {expected} rows"
            )
        data[name] = [_number(v, f"{name} of row {i}") for i, v in enumerate(values)]
    frame = pd.DataFrame(data, columns=names, dtype=float)
    for lower, upper in zip(names[1::2], names[2::2], strict=True):
        bad = frame[lower] > frame[upper]
        if bad.any():
            raise BadResponseError(
                f"row {int(np.argmax(bad.to_numpy()))} from the endpoint has {lower} above {upper}"
            )
    return frame


def _records(items: list[object], expected: int) -> pd.DataFrame:
    keys = items[0].keys() if isinstance(items[0], dict) else ()
    if not all(isinstance(item, dict) and item.keys() == keys for item in items):
        raise BadResponseError("the endpoint's prediction records do not all have the same fields")
    return _frame({key: [item[key] for item in items] for key in keys}, expected)


def parse_predictions(payload: object, expected: int) -> np.ndarray | pd.DataFrame:
    """Predictions from a scoring server's answer.

    Numbers come back as a 1-D float array; the accepted shapes are ``{"predictions": [x, ...]}``,
    ``[{"name": x}, ...]``, ``[[x], ...]`` and ``{"predictions": {"name": [x, ...]}}``. Records
    (or columns) holding ``prediction`` with ``lower_XX``/``upper_XX`` ranges come back as a
    DataFrame of those columns (other fields are dropped), checked to be finite and ordered.
    Anything else raises :class:`BadResponseError`.
    """
    items = payload.get("predictions") if isinstance(payload, dict) else None
    if isinstance(items, dict):  # columns: {"predictions": {"prediction": [...], ...}}
        if not items or not all(isinstance(v, list) for v in items.values()):
            raise BadResponseError(
                "the endpoint's 'predictions' object does not hold one list per column"
            )
        if len(items) == 1:
            items = next(iter(items.values()))
        elif POINT_COLUMN in items:
            return _frame(items, expected)
        else:
            raise BadResponseError(
                f"the endpoint returned columns {', '.join(sorted(items))[:100]} without "
                f"'{POINT_COLUMN}'"
            )
    if not isinstance(items, list):
        raise BadResponseError("the endpoint's answer has no 'predictions' list")
    if len(items) != expected:
        raise BadResponseError(
            f"the endpoint returned {len(items)} predictions for {expected} rows"
        )
    if items and isinstance(items[0], dict) and POINT_COLUMN in items[0] and len(items[0]) > 1:
        return _records(items, expected)
    values = np.empty(expected, dtype=float)
    for i, item in enumerate(items):
        values[i] = _scalar(item, i)
    return values
