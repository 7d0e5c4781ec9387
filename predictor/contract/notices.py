"""Notices attached to an answer: a code for programs, words for people.

A :class:`Notice` is a string (its text), so it prints, compares and serializes as one; its
``code`` lets callers such as the page choose how to show it without matching on wording.
"""

from __future__ import annotations

from enum import StrEnum


class NoticeCode(StrEnum):
    """What a notice is about."""

    MIX_MISMATCH = "mix_mismatch"
    EXTRAPOLATION = "extrapolation"
    NOT_CONFIGURED = "not_configured"
    LOCAL_CHOSEN = "local_chosen"
    GUARDRAIL = "guardrail"
    ENDPOINT_FAILED = "endpoint_failed"
    ENDPOINT_IMPLAUSIBLE = "endpoint_implausible"
    ENDPOINT_PAUSED = "endpoint_paused"
    ENDPOINT_WARMING = "endpoint_warming"
    CREDENTIALS_INVALID = "credentials_invalid"
    LOCAL_RANGE = "local_range"
    ADS_SPLIT_BUDGET = "ads_split_budget"


# Notices that only say which backend answered (the answer's ``backend`` says it too).
BACKEND_CODES: frozenset[NoticeCode] = frozenset(
    {NoticeCode.NOT_CONFIGURED, NoticeCode.LOCAL_CHOSEN}
)


class Notice(str):
    """A notice's text, carrying its :class:`NoticeCode` as ``code``."""

    code: NoticeCode

    def __new__(cls, code: NoticeCode, text: str) -> Notice:
        notice = super().__new__(cls, text)
        notice.code = NoticeCode(code)
        return notice

    def __getnewargs__(self) -> tuple[NoticeCode, str]:  # type: ignore[override]
        return self.code, str(self)

    def __repr__(self) -> str:
        return f"Notice({self.code.value}, {str(self)!r})"


def code_of(notice: str) -> NoticeCode | None:
    """The code of ``notice``, or ``None`` for a plain string."""
    return getattr(notice, "code", None)
