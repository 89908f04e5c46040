"""What the fake vendor does, chosen by the requested model name; shared by both wire formats.

Ordinary names answer ``Echo: <last user message>``. Special names (see ``docs/providers.md``)
fail, stall, break the connection or shape the answer, so one fake serves many deployments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR_TYPE_STATUS",
    "REFUSAL",
    "TRACEBACK",
    "Behaviour",
    "FakeState",
    "Reply",
    "ReplyInput",
    "ToolSpec",
    "behaviour_for",
    "plan_reply",
    "sample_object",
    "word_count",
]

REFUSAL = "I'm sorry, but I can't help with that."
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/vendor/app/handlers.py", line 41, in complete\n'
    "    raise RuntimeError(reason)\n"
    "RuntimeError: the worker died"
)
"""What a Python upstream's unguarded 500 carries: its traceback and its server's paths."""

_ERROR_STATUS = {
    "error-500": 500,
    "error-503": 503,
    "overloaded-529": 529,
    "rate-limit": 429,
    "bad-request": 400,
    "auth-401": 401,
    "forbidden-403": 403,
    "not-found-404": 404,
    "too-large-413": 413,
}
_TIMED = ("slow-", "stall-")
ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""Anthropic's error types and their HTTP statuses (also used for in-stream errors)."""
_SHAPED = frozenset(
    {
        "broken-stream",
        "unfinished-stream",
        "broken-before-first",
        "invalid-json",
        "json-invalid",
        "json-valid",
        "tool-call",
        "refusal",
        "truncated",
        "empty",
        "no-usage",
        "context-length",
        "traceback-500",
    }
)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How to answer one request: ``kind`` plus its parameter (a status, seconds or a count).

    ``stream-error`` streams a little, then sends an in-stream error of ``error_type``; asked
    without streaming it answers with that error type's HTTP status instead.
    """

    kind: str
    status: int = 0
    seconds: float = 0.0
    count: int = 0
    error_type: str = ""


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value >= 0 else None


def behaviour_for(model: str) -> Behaviour:
    """Parse a model name into a behaviour; unknown names answer normally."""
    if model in _ERROR_STATUS:
        return Behaviour("error", status=_ERROR_STATUS[model])
    prefix, _, rest = model.partition("-")
    if model.startswith(_TIMED) and (seconds := _number(rest)) is not None:
        return Behaviour(prefix, seconds=seconds)
    if model.startswith("stream-error-"):
        kind = model.removeprefix("stream-error-")
        kind = kind if kind.endswith("_error") or kind in ERROR_TYPE_STATUS else kind + "_error"
        status = ERROR_TYPE_STATUS.get(kind, 500)
        return Behaviour("stream-error", status=status, error_type=kind)
    if prefix == "flaky" and rest.isdigit():
        return Behaviour("flaky", count=int(rest))
    if prefix == "status" and rest.isdigit() and 400 <= int(rest) <= 599:
        return Behaviour("error", status=int(rest))
    return Behaviour(model if model in _SHAPED else "normal")


@dataclass(slots=True)
class FakeState:
    """Everything the server remembers between requests; cleared by ``POST /_reset``."""

    received: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget recorded requests and flaky counters."""
        self.received.clear()
        self.calls.clear()

    def failure_status(self, behaviour: Behaviour, model: str, stream: bool) -> int | None:
        """The error status this call must answer with, or None to answer normally."""
        if behaviour.kind == "error" or (behaviour.kind == "stream-error" and not stream):
            return behaviour.status
        if behaviour.kind == "flaky":
            seen = self.calls.get(model, 0)
            self.calls[model] = seen + 1
            return 500 if seen < behaviour.count else None
        return None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """The first tool a request offered: its name and JSON-schema parameters."""

    name: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReplyInput:
    """The facts of a request that shape the answer, extracted by each wire format."""

    last_user: str
    prompt_words: int
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    tool: ToolSpec | None = None
    schema: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A planned answer; ``finish`` is ``stop``, ``length``, ``stop_sequence`` or ``tool``."""

    text: str
    finish: str
    prompt_tokens: int
    completion_tokens: int
    tool_name: str | None = None
    tool_arguments: dict[str, Any] | None = None
    stop_sequence: str | None = None

    def words(self) -> list[str]:
        """The text split into stream pieces (each keeps its leading space)."""
        pieces = self.text.split(" ")
        return [pieces[0], *(" " + p for p in pieces[1:])] if self.text else []


def word_count(text: str) -> int:
    """Tokens, approximated as whitespace-separated words."""
    return len(text.split())


def sample_value(schema: dict[str, Any]) -> Any:
    """A value of the type a JSON schema asks for."""
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    items = schema.get("items")
    samples: dict[str, Any] = {
        "integer": 1,
        "number": 1.5,
        "boolean": True,
        "null": None,
        "array": [sample_value(items)] if isinstance(items, dict) else [],
    }
    if kind == "object":
        return sample_object(schema, required_only=False)
    return samples.get(str(kind), "example")


def sample_object(schema: dict[str, Any], *, required_only: bool) -> dict[str, Any]:
    """An object with the schema's required keys (or all of its properties)."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    keys = list(properties)
    if required_only:
        keys = [k for k in required if k in properties] if isinstance(required, list) else []
    return {k: sample_value(properties[k] if isinstance(properties[k], dict) else {}) for k in keys}


def _shaped_text(kind: str, given: ReplyInput) -> str:
    echo = f"Echo: {given.last_user}"
    if kind == "refusal":
        return REFUSAL
    if kind == "empty":
        return ""
    if kind == "json-invalid":
        return '{"answer": ' + json.dumps(echo) + ","
    if kind == "json-valid":
        if given.schema is not None and isinstance(given.schema.get("properties"), dict):
            return json.dumps(sample_object(given.schema, required_only=False))
        return json.dumps({"answer": echo})
    return echo


def _cut(text: str, given: ReplyInput, finish: str) -> tuple[str, str, str | None]:
    """Apply stop sequences, then max_tokens, as a real model would."""
    hits = [(text.find(s), s) for s in given.stop if s and s in text]
    if hits:
        at, sequence = min(hits)
        return text[:at], "stop_sequence", sequence
    words = text.split(" ")
    if given.max_tokens is not None and word_count(text) > given.max_tokens:
        return " ".join(words[: given.max_tokens]), "length", None
    return text, finish, None


def plan_reply(kind: str, given: ReplyInput) -> Reply:
    """The answer for a request that does not fail."""
    prompt = max(1, given.prompt_words)
    if kind == "tool-call" and given.tool is not None:
        arguments = sample_object(given.tool.parameters, required_only=True)
        spent = 1 + word_count(json.dumps(arguments))
        return Reply("", "tool", prompt, spent, given.tool.name, arguments)
    text = _shaped_text(kind, given)
    finish = "stop"
    if kind == "truncated":
        text, finish = " ".join(text.split(" ")[:2]), "length"
    text, finish, sequence = _cut(text, given, finish)
    return Reply(text, finish, prompt, word_count(text), stop_sequence=sequence)
