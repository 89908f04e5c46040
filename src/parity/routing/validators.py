"""Validators: checks a cheap model's answer must pass before it is kept (the cascade).

Each is one function from (request body, completion body) to a rejection reason or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from parity.config.routing import VALIDATORS as VALIDATOR_NAMES

__all__ = ["VALIDATORS", "Validator", "check_all"]

Validator = Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]

_REFUSAL = re.compile(
    r"^\s*(i'?m sorry|i am sorry|sorry, (but )?i|i can(no|')t (help|assist|do)|i cannot|"
    r"i'?m (not able|unable) to|as an ai)",
    re.IGNORECASE,
)


def _message(completion: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = completion.get("choices") or [{}]
    message = choices[0].get("message") or {}
    return message if isinstance(message, Mapping) else {}


def _text(completion: Mapping[str, Any]) -> str:
    content = _message(completion).get("content")
    return content if isinstance(content, str) else ""


def _schema(request: Mapping[str, Any]) -> dict[str, Any] | None:
    response_format = request.get("response_format")
    if not isinstance(response_format, Mapping) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema") or {}
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    return schema if isinstance(schema, dict) else None


def json_answer(request: Mapping[str, Any], completion: Mapping[str, Any]) -> str | None:
    """The content parses as JSON and, for json_schema requests, matches the schema."""
    text = _text(completion).strip()
    if text.startswith("```"):  # a fenced block is still not what json mode promises
        return "the answer is a fenced code block, not bare JSON"
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return f"the answer is not valid JSON ({exc})"
    schema = _schema(request)
    if schema is None:
        return None
    import jsonschema

    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        return f"the JSON does not match the schema: {exc.message}"
    except jsonschema.SchemaError as exc:
        return f"the request's schema is invalid: {exc.message}"
    return None


def tool_calls(request: Mapping[str, Any], completion: Mapping[str, Any]) -> str | None:
    """Tool calls name tools the request offered and carry JSON-object arguments."""
    calls = _message(completion).get("tool_calls") or []
    offered = {
        t.get("function", {}).get("name") for t in request.get("tools") or () if isinstance(t, dict)
    }
    if request.get("tool_choice") == "required" and not calls:
        return "tool_choice is 'required' but the answer calls no tool"
    for call in calls:
        function = call.get("function") or {}
        name = function.get("name")
        if name not in offered:
            return f"the answer calls '{name}', which the request did not offer"
        try:
            arguments = orjson.loads(function.get("arguments") or "")
        except orjson.JSONDecodeError:
            return f"the arguments of '{name}' are not valid JSON"
        if not isinstance(arguments, dict):
            return f"the arguments of '{name}' are not a JSON object"
    return None


def not_empty(request: Mapping[str, Any], completion: Mapping[str, Any]) -> str | None:
    """The answer has text or tool calls."""
    if _text(completion).strip() or _message(completion).get("tool_calls"):
        return None
    return "the answer is empty"


def not_refusal(request: Mapping[str, Any], completion: Mapping[str, Any]) -> str | None:
    """The answer is not a refusal."""
    if _message(completion).get("refusal"):
        return "the model refused"
    if _REFUSAL.match(_text(completion)):
        return "the answer reads as a refusal"
    return None


def not_truncated(request: Mapping[str, Any], completion: Mapping[str, Any]) -> str | None:
    """The answer was not cut off by the token limit."""
    choices = completion.get("choices") or [{}]
    if choices[0].get("finish_reason") == "length":
        return "the answer was cut off (finish_reason: length)"
    return None


VALIDATORS: dict[str, Validator] = dict(
    zip(
        VALIDATOR_NAMES,  # the names' home is the config, which checks them when it loads
        (json_answer, tool_calls, not_empty, not_refusal, not_truncated),
        strict=True,
    )
)


def check_all(
    names: tuple[str, ...], request: Mapping[str, Any], completion: Mapping[str, Any]
) -> list[tuple[str, str | None]]:
    """Run validators in order until one rejects; (name, reason or None) for each run."""
    results: list[tuple[str, str | None]] = []
    for name in names:
        reason = VALIDATORS[name](request, completion)
        results.append((name, reason))
        if reason is not None:
            break
    return results
