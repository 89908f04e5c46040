"""Type checks of the chat request's optional fields, before anything is sent upstream.

A field of the wrong type would be refused by the upstream anyway, after a paid round trip and
with the upstream's wording; here it is a 400 naming the field. Only types are checked (a few
isinstance calls per request); values are the upstream's business. The OpenAPI document's
ChatCompletionRequest (gateway/openapi_schemas.py) describes exactly these rules.
"""

from __future__ import annotations

from typing import Any

from parity.errors import InvalidField

__all__ = ["INT64_MAX", "check_fields", "check_message_fields"]

INT64_MAX = 2**63 - 1
"""Integers past 64 bits are refused: JSON parsers upstream store them in 64 bits."""

_NUMBER = (int, float)
# field -> (accepted types, what to call them); null is accepted for every one of these
_TOP: dict[str, tuple[type | tuple[type, ...], str]] = {
    "temperature": (_NUMBER, "a number"),
    "top_p": (_NUMBER, "a number"),
    "presence_penalty": (_NUMBER, "a number"),
    "frequency_penalty": (_NUMBER, "a number"),
    "seed": (int, "an integer"),
    "user": (str, "a string"),
    "stop": ((str, list), "a string or an array of strings"),
    "tools": (list, "an array of tools"),
    "tool_choice": ((str, dict), "a string or an object"),
    "response_format": (dict, "an object"),
    "stream_options": (dict, "an object"),
}
_FORMATS = frozenset({"text", "json_object", "json_schema"})
# a content part's type -> the object field it must carry (OpenAI's ChatCompletionRequest
# message content parts; "refusal" only in assistant turns, which is the upstream's to check)
_PARTS: dict[str, tuple[str, type]] = {
    "text": ("text", str),
    "image_url": ("image_url", dict),
    "input_audio": ("input_audio", dict),
    "file": ("file", dict),
    "refusal": ("refusal", str),
}
_MESSAGE: dict[str, tuple[type, str]] = {
    "name": (str, "a string"),
    "tool_call_id": (str, "a string"),
    "tool_calls": (list, "an array"),
}


def _wrong(param: str, expected: str) -> InvalidField:
    return InvalidField(f"'{param}' must be {expected}", param=param)


def _typed(value: Any, kinds: type | tuple[type, ...]) -> bool:
    return isinstance(value, kinds) and not isinstance(value, bool)


def check_fields(body: dict[str, Any]) -> None:
    """InvalidField unless every optional top-level field present has its OpenAI type."""
    for name, (kinds, expected) in _TOP.items():
        value = body.get(name)
        if value is not None and not _typed(value, kinds):
            raise _wrong(name, expected)
    seed = body.get("seed")
    if seed is not None and not -INT64_MAX - 1 <= seed <= INT64_MAX:
        raise _wrong("seed", "a 64-bit integer")
    stop = body.get("stop")
    if isinstance(stop, list) and not all(isinstance(s, str) for s in stop):
        raise _wrong("stop", "a string or an array of strings")
    for index, tool in enumerate(body.get("tools") or ()):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _wrong(f"tools[{index}]", "an object with function.name")
    _check_format(body.get("response_format"))
    options = body.get("stream_options")
    if options is not None and not isinstance(options.get("include_usage", False), bool):
        raise _wrong("stream_options.include_usage", "a boolean")


def _check_format(response_format: dict[str, Any] | None) -> None:
    if response_format is None:
        return
    kind = response_format.get("type")
    if not isinstance(kind, str) or kind not in _FORMATS:
        raise _wrong("response_format.type", f"one of {sorted(_FORMATS)}")
    schema = response_format.get("json_schema")
    if schema is not None and not isinstance(schema, dict):
        raise _wrong("response_format.json_schema", "an object")


def check_message_fields(message: dict[str, Any], where: str) -> None:
    """InvalidField unless a message's optional fields and content parts have their types."""
    for name, (kind, expected) in _MESSAGE.items():
        value = message.get(name)
        if value is not None and not isinstance(value, kind):
            raise _wrong(f"{where}.{name}", expected)
    for index, call in enumerate(message.get("tool_calls") or ()):
        if not isinstance(call, dict):
            raise _wrong(f"{where}.tool_calls[{index}]", "an object")
    content = message.get("content")
    if isinstance(content, list):
        for index, part in enumerate(content):
            kind_name = part.get("type") if isinstance(part, dict) else None
            if not isinstance(kind_name, str) or kind_name not in _PARTS:
                raise _wrong(f"{where}.content[{index}]", f"a part of type {', '.join(_PARTS)}")
            field, kind = _PARTS[kind_name]
            if not isinstance(part.get(field), kind):
                expected = "a string" if kind is str else "an object"
                raise _wrong(f"{where}.content[{index}].{field}", expected)
            if field == "image_url" and not isinstance(part[field].get("url"), str):
                raise _wrong(f"{where}.content[{index}].image_url.url", "a string")
