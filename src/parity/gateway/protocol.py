"""The wire: parsing client requests and framing responses. No routing or I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from parity.errors import InvalidField, InvalidJSON
from parity.gateway.chat_fields import INT64_MAX, check_fields, check_message_fields

__all__ = [
    "CHAT_ROLES",
    "SSE_DONE",
    "ChatCall",
    "check_counts",
    "flag",
    "load_object",
    "model_of",
    "parse_chat",
    "sse_data",
]

CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
"""The roles a chat-completions message may have (the one list; the OpenAPI document uses it)."""
SSE_DONE = b"data: [DONE]\n\n"


@dataclass(slots=True)
class ChatCall:
    """A parsed chat-completions request. ``body`` keeps every field, known or not."""

    body: dict[str, Any]
    model: str
    stream: bool
    include_usage: bool


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidField("'messages' must be a non-empty array", param="messages")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise InvalidField(f"{where} must be an object", param=where)
        role = message.get("role")
        if not isinstance(role, str) or role not in CHAT_ROLES:  # a list or dict is unhashable
            raise InvalidField(
                f"{where}.role must be one of {sorted(CHAT_ROLES)}, got {role!r}",
                param=f"{where}.role",
            )
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise InvalidField(
                f"{where}.content must be a string or an array of parts",
                param=f"{where}.content",
            )
        check_message_fields(message, where)


def load_object(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object; InvalidJSON when it is empty, not JSON or not an object."""
    if not raw:
        raise InvalidJSON("the request body is empty; send a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidJSON("the request body must be a JSON object")
    return body


def model_of(body: dict[str, Any]) -> str:
    """The request's ``model``: a non-empty string, or InvalidField naming it."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidField("'model' is required and must be a string", param="model")
    return model


def flag(body: dict[str, Any], name: str, default: bool) -> bool:
    """A boolean field (``default`` when absent or null), or InvalidField naming it."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidField(f"'{name}' must be a boolean", param=name)
    return value


def check_counts(body: dict[str, Any], names: tuple[str, ...]) -> None:
    """InvalidField unless each of ``names`` present is a positive 64-bit integer (or null)."""
    for name in names:
        value = body.get(name)
        if value is not None and (type(value) is not int or not 1 <= value <= INT64_MAX):
            raise InvalidField(f"'{name}' must be a positive integer", param=name)


def parse_chat(raw: bytes) -> ChatCall:
    """Validate a /v1/chat/completions body; unknown fields are kept for the upstream."""
    body = load_object(raw)
    model = model_of(body)
    _check_messages(body.get("messages"))
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidField("'stream' must be a boolean", param="stream")
    check_counts(body, ("max_tokens", "max_completion_tokens", "n"))
    check_fields(body)
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return ChatCall(body=body, model=model, stream=stream, include_usage=include_usage)


def sse_data(obj: Any) -> bytes:
    """One server-sent event carrying ``obj`` as JSON."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"
