"""SQL for feedback rows, shared by the SQLite and PostgreSQL ledgers (``?`` placeholders)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from parity.errors import InvalidField
from parity.store.base import Feedback

__all__ = [
    "FEEDBACK_COLUMNS",
    "FEEDBACK_INSERT",
    "feedback_from_tuple",
    "feedback_query",
    "feedback_to_tuple",
    "group_feedback",
    "parse_feedback",
    "summary",
]

REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_LABEL = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")
_SOURCE = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")
_FIELDS = ("request_id", "score", "good", "label", "correction", "source")
MAX_CORRECTION = 200_000

FEEDBACK_COLUMNS = (
    "feedback_id",
    "request_id",
    "ts",
    "score",
    "good",
    "label",
    "correction",
    "source",
    "key_id",
)
FEEDBACK_INSERT = (
    f"INSERT INTO feedback ({', '.join(FEEDBACK_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in FEEDBACK_COLUMNS)})"
)


def feedback_to_tuple(fb: Feedback) -> tuple[Any, ...]:
    """The INSERT parameters for one piece of feedback."""
    good = None if fb.good is None else int(fb.good)
    return (
        fb.feedback_id,
        fb.request_id,
        fb.ts,
        fb.score,
        good,
        fb.label,
        fb.correction,
        fb.source,
        fb.key_id,
    )


def feedback_from_tuple(values: Sequence[Any]) -> Feedback:
    """A Feedback from a ``SELECT {FEEDBACK_COLUMNS}`` result row."""
    data = dict(zip(FEEDBACK_COLUMNS, values, strict=True))
    good = data.pop("good")
    return Feedback(**data, good=None if good is None else bool(good))


def feedback_query(request_ids: Sequence[str]) -> tuple[str, list[Any]]:
    """SELECT the feedback on some requests, newest first."""
    marks = ", ".join("?" for _ in request_ids)
    sql = (
        f"SELECT {', '.join(FEEDBACK_COLUMNS)} FROM feedback WHERE request_id IN ({marks})"
        " ORDER BY ts DESC, feedback_id DESC"
    )
    return sql, list(request_ids)


def group_feedback(values: Iterable[Sequence[Any]]) -> dict[str, list[Feedback]]:
    """Feedback rows grouped by request id, keeping the query's order (newest first)."""
    out: dict[str, list[Feedback]] = {}
    for value in values:
        fb = feedback_from_tuple(value)
        out.setdefault(fb.request_id, []).append(fb)
    return out


def _text(data: Mapping[str, Any], name: str, pattern: re.Pattern[str]) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidField(
            f"{name} must be a string of 1-{64 if name == 'label' else 128} printable characters",
            param=name,
        )
    return value


def _score(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidField("score must be a number from 0 to 1", param="score")
    return float(value)


def parse_feedback(data: Mapping[str, Any], *, ts: float, key_id: str | None) -> Feedback:
    """A Feedback from a JSON object (the POST /v1/feedback body, or the CLI's options)."""
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise InvalidField(f"unknown field {unknown[0]!r}; known: {', '.join(_FIELDS)}")
    request_id = data.get("request_id")
    if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
        raise InvalidField(
            "request_id must be the x-parity-request-id of a request", param="request_id"
        )
    good = data.get("good")
    if good is not None and not isinstance(good, bool):
        raise InvalidField("good must be true or false", param="good")
    correction = data.get("correction")
    if correction is not None and (
        not isinstance(correction, str) or not 0 < len(correction) <= MAX_CORRECTION
    ):
        raise InvalidField(
            f"correction must be a non-empty string of at most {MAX_CORRECTION} characters",
            param="correction",
        )
    feedback = Feedback(
        feedback_id="fb_" + secrets.token_hex(8),
        request_id=request_id,
        ts=ts,
        source=_text(data, "source", _SOURCE) or "user",
        score=_score(data.get("score")),
        good=good,
        label=_text(data, "label", _LABEL),
        correction=correction,
        key_id=key_id,
    )
    if feedback.score is None and good is None and feedback.label is None and correction is None:
        raise InvalidField("give at least one of score, good, label or correction")
    return feedback


def summary(items: Sequence[Feedback]) -> str:
    """A short text for tables: the newest feedback's verdict, e.g. 'bad, corrected' or '0.8'."""
    if not items:
        return ""
    fb = items[0]
    parts: list[str] = []
    if fb.good is not None:
        parts.append("good" if fb.good else "bad")
    if fb.score is not None:
        parts.append(f"{fb.score:g}")
    if fb.label:
        parts.append(fb.label)
    if fb.correction is not None:
        parts.append("corrected")
    more = f" (+{len(items) - 1})" if len(items) > 1 else ""
    return ", ".join(parts) + more
