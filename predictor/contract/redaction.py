"""Secrets kept out of text, and what a credential may hold: the one scrubber of the project.

:func:`sanitize` cleans any text before it is logged or shown (endpoint errors, store errors,
publishing errors). :func:`is_credential` and :func:`header_safe` say what may be sent in an HTTP
header, so that a secret that could not be sent is refused when it is read, never echoed by the
HTTP library that would choke on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MESSAGE_LIMIT = 200
MASK = "***"

_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+\S+")
_DATABRICKS_TOKEN = re.compile(r"\bdapi[0-9a-zA-Z]{16,}(?:-\d+)?")
_DATABRICKS_SECRET = re.compile(r"\bdose[0-9a-zA-Z]{16,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Visible ASCII: what a bearer token, an OAuth client secret or a password may hold.
_CREDENTIAL = re.compile(r"[\x21-\x7e]+")
# An HTTP header value this client sends: printable ASCII (no line break or control character).
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")


def _forms(secret: str) -> list[str]:
    """``secret`` as it may appear in text: itself and escaped, as ``repr`` shows it."""
    escaped = repr(secret)[1:-1]
    as_bytes = repr(secret.encode("utf-8", "backslashreplace"))[2:-1]
    return sorted({secret, escaped, as_bytes}, key=len, reverse=True)


def sanitize(text: str, secrets: Iterable[str | None] = (), limit: int = MESSAGE_LIMIT) -> str:
    """``text`` without secrets, token-like strings or control characters, at most ``limit`` long.

    Each of ``secrets`` is masked as written and as ``repr`` would escape it.
    """
    for secret in secrets:
        if secret:
            for form in _forms(secret):
                text = text.replace(form, MASK)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _DATABRICKS_TOKEN.sub(MASK, text)
    text = _DATABRICKS_SECRET.sub(MASK, text)
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_credential(value: str) -> bool:
    """Whether ``value`` can be sent as a credential: visible ASCII only, no space, not empty."""
    return _CREDENTIAL.fullmatch(value) is not None


def header_safe(value: str) -> bool:
    """Whether ``value`` can go in an HTTP header: printable ASCII, no line break or control."""
    return _HEADER_VALUE.fullmatch(value) is not None
