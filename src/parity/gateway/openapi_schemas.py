"""JSON Schemas of the gateway's wire format, as the OpenAPI document's components.

They describe what the gateway checks itself (gateway/protocol.py) and what it answers; fields it
passes to the upstream untouched are listed with their OpenAI types but stay open
(``additionalProperties``), since an upstream may accept more than OpenAI's own API does.
"""

from __future__ import annotations

from typing import Any

from parity.gateway.chat_fields import INT64_MAX
from parity.gateway.protocol import CHAT_ROLES

__all__ = ["REASONS", "ROLES", "SAMPLING_RANGES", "error_responses", "json_content", "schemas"]

ROLES = sorted(CHAT_ROLES)

Schema = dict[str, Any]
_JSON = "application/json"
REASONS = {
    400: "Invalid JSON or an invalid field (param names it).",
    401: "Missing or unknown API key.",
    403: "The key may not use this model or route, or a policy refused the request.",
    404: "Unknown model, route or resource.",
    405: "Method not allowed (the allow header lists the methods).",
    408: "The request body did not arrive within server.body_timeout_s.",
    409: "Already exists.",
    413: "The request body is larger than the limit.",
    429: "A rate limit or budget was reached (retry-after when known).",
    431: "The request headers are larger than server.max_header_bytes.",
    500: "Internal error.",
    502: "The upstream failed or answered something unusable.",
    503: "Not ready, shutting down, or no healthy deployment.",
    504: "The upstream timed out.",
}


def json_content(schema: str | dict[str, Any]) -> dict[str, Any]:
    body = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    return {"content": {_JSON: {"schema": body}}}


def error_responses(*statuses: int) -> dict[str, Any]:
    """OpenAI-style error responses for ``statuses``, plus ``default`` for anything else."""
    out: dict[str, Any] = {
        str(s): {"description": REASONS[s], **json_content("Error")} for s in statuses
    }
    out["default"] = {"description": "Any other error.", **json_content("Error")}
    return out


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


_INT64 = INT64_MAX
_POSITIVE = {"type": "integer", "format": "int64", "minimum": 1, "maximum": _INT64}
_STRINGS = {"type": "array", "items": {"type": "string"}}
SAMPLING_RANGES: dict[str, Schema] = {
    name: _nullable({"type": "number", "minimum": low, "maximum": high})
    for name, low, high in (
        ("temperature", 0, 2),
        ("top_p", 0, 1),
        ("presence_penalty", -2, 2),
        ("frequency_penalty", -2, 2),
    )
}
"""OpenAI's published ranges; outside them a 400 (routing/conformance.py)."""


def _error() -> Schema:
    detail = {
        "type": "object",
        "required": ["message", "type", "param", "code"],
        "properties": {
            "message": {"type": "string"},
            "type": {"type": "string", "description": "e.g. invalid_request_error"},
            "param": _nullable({"type": "string"}),
            "code": _nullable({"type": "string"}),
        },
    }
    return {
        "type": "object",
        "description": "OpenAI's error body; every error the gateway answers has this shape.",
        "required": ["error"],
        "properties": {"error": detail},
    }


def _content_part() -> Schema:
    """OpenAI's content parts, as gateway/chat_fields.py checks them (the part's own field)."""

    def part(kind: str, field: Schema) -> Schema:
        return {
            "type": "object",
            "required": ["type", kind],
            "properties": {"type": {"type": "string", "enum": [kind]}, kind: field},
        }

    image = {"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}}
    return {
        "oneOf": [
            part("text", {"type": "string"}),
            part("image_url", image),
            part("input_audio", {"type": "object"}),
            part("file", {"type": "object"}),
            part("refusal", {"type": "string"}),
        ]
    }


def _message() -> Schema:
    return {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"type": "string", "enum": ROLES},
            "content": _nullable(
                {"oneOf": [{"type": "string"}, {"type": "array", "items": _ref("ContentPart")}]}
            ),
            "name": _nullable({"type": "string"}),
            "tool_call_id": _nullable({"type": "string"}),
            "tool_calls": _nullable({"type": "array", "items": {"type": "object"}}),
        },
    }


def _tool() -> Schema:
    function = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}},
        "description": "description, parameters (a JSON Schema), strict: passed upstream.",
    }
    return {
        "type": "object",
        "required": ["function"],
        "description": "type: 'function' (checked by the upstream).",
        "properties": {"function": function},
    }


def _chat_request(models: list[str]) -> Schema:
    model: Schema = {"type": "string", "minLength": 1, "description": "A model id or route."}
    if models:
        model["enum"] = models  # anything else is answered 404 model_not_found
    response_format = {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "enum": ["text", "json_object", "json_schema"]},
            "json_schema": _nullable({"type": "object"}),
        },
    }
    return {
        "type": "object",
        "required": ["model", "messages"],
        "description": "Fields not listed here are passed to the upstream unchanged. What a "
        "deployment cannot honour (n > 1 on llama.cpp or Anthropic, logprobs on Anthropic, "
        "max_tokens past its limit) is a 400 naming the field unless drop_params drops it "
        "(docs/api.md#conformance).",
        "properties": {
            "model": model,
            "messages": {"type": "array", "minItems": 1, "items": _ref("ChatMessage")},
            "stream": {"type": "boolean"},
            "stream_options": _nullable(
                {"type": "object", "properties": {"include_usage": {"type": "boolean"}}}
            ),
            "max_tokens": _nullable(_POSITIVE),
            "max_completion_tokens": _nullable(_POSITIVE),
            "n": _nullable(_POSITIVE),
            **SAMPLING_RANGES,
            "stop": _nullable({"oneOf": [{"type": "string"}, _STRINGS]}),
            "tools": _nullable({"type": "array", "items": _ref("Tool")}),
            "tool_choice": _nullable({"oneOf": [{"type": "string"}, {"type": "object"}]}),
            "response_format": _nullable(response_format),
            "seed": _nullable(
                {"type": "integer", "format": "int64", "minimum": -_INT64 - 1, "maximum": _INT64}
            ),
            "user": _nullable({"type": "string"}),
        },
    }


def _chat_response() -> Schema:
    choice = {
        "type": "object",
        "required": ["index"],
        "properties": {
            "index": {"type": "integer"},
            "message": {"type": "object", "properties": {"role": {"type": "string"}}},
            "finish_reason": _nullable({"type": "string"}),
        },
    }
    usage = {
        "type": "object",
        "properties": {
            "prompt_tokens": {"type": "integer"},
            "completion_tokens": {"type": "integer"},
            "total_tokens": {"type": "integer"},
        },
    }
    return {
        "type": "object",
        "required": ["object", "model", "choices"],
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string", "enum": ["chat.completion"]},
            "created": {"type": "integer"},
            "model": {"type": "string", "description": "The deployment that answered."},
            "choices": {"type": "array", "items": choice},
            "usage": usage,
        },
    }


def _model() -> Schema:
    return {
        "type": "object",
        "required": ["id", "object", "created", "owned_by"],
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string", "enum": ["model"]},
            "created": {"type": "integer"},
            "owned_by": {"type": "string"},
            "residency": {"type": "string", "enum": ["on_prem", "vendor"]},
            "context_window": _nullable({"type": "integer"}),
            "price": {"type": "object", "description": "USD per 1M tokens: input, output."},
        },
    }


def _model_list() -> Schema:
    return {
        "type": "object",
        "required": ["object", "data"],
        "properties": {
            "object": {"type": "string", "enum": ["list"]},
            "data": {"type": "array", "items": _ref("Model")},
        },
    }


def _readiness() -> Schema:
    ledger = {
        "type": "object",
        "properties": {
            "url": {"type": "string"},
            "written": {"type": "integer"},
            "write_failures": {"type": "integer"},
        },
    }
    return {
        "type": "object",
        "required": ["status", "models", "ledger"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "not_ready"]},
            "models": {"type": "object", "additionalProperties": {"type": "string"}},
            "ledger": ledger,
            "local_model": {"type": "object"},
        },
    }


def schemas(models: list[str]) -> dict[str, Schema]:
    """Every component schema; ``models`` are the names a chat request may give."""
    return {
        "Error": _error(),
        "ContentPart": _content_part(),
        "ChatMessage": _message(),
        "Tool": _tool(),
        "ChatCompletionRequest": _chat_request(models),
        "ChatCompletion": _chat_response(),
        "Model": _model(),
        "ModelList": _model_list(),
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string", "enum": ["ok"]}},
        },
        "Readiness": _readiness(),
    }
