"""The other front doors in the OpenAPI document: Responses, Anthropic Messages, completions.

Each request schema says exactly what the door's parser checks (gateway/responses/wire.py,
gateway/messages/wire.py, gateway/completions/wire.py), so that a request valid here is never a 400
and one invalid here is never answered. Forms the parser takes but a schema cannot promise are
left out and named in the description: a ``function_call_output`` item must answer an open call,
which no schema can say. The answers' full shapes are OpenAI's and Anthropic's own; the tests
check them against OpenAI's published document.
"""

from __future__ import annotations

from typing import Any

from parity.gateway.chat_fields import INT64_MAX
from parity.gateway.openapi_schemas import REASONS, SAMPLING_RANGES, error_responses, json_content

__all__ = ["DOOR_OPERATIONS", "door_schemas"]

Schema = dict[str, Any]
Operation = dict[str, Any]

_JSON = "application/json"
_DOOR_ERRORS = (400, 401, 403, 404, 408, 413, 429, 500, 502, 503, 504)
_POSITIVE = {"type": "integer", "format": "int64", "minimum": 1, "maximum": INT64_MAX}
_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"x-api-key": []}]
_HEADERS = {
    "x-parity-request-id": {"description": "The request's id, also in the ledger and logs."},
    "x-parity-model": {"description": "The deployment that answered ('none' on early errors)."},
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def _enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def _model(models: list[str]) -> Schema:
    model: Schema = {"type": "string", "minLength": 1, "description": "A model id or route."}
    if models:
        model["enum"] = models  # anything else is answered 404 model_not_found
    return model


def _responses_request(models: list[str]) -> Schema:
    part = {
        "type": "object",
        "required": ["type", "text"],
        "properties": {"type": _enum("input_text", "output_text"), "text": {"type": "string"}},
    }
    item = {
        "type": "object",
        "required": ["role", "content"],
        "properties": {
            "type": _enum("message"),
            "role": _enum("user", "assistant", "system", "developer"),
            "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": part}]},
        },
    }
    tool = {
        "type": "object",
        "required": ["type", "name"],
        "properties": {
            "type": _enum("function"),
            "name": {"type": "string", "minLength": 1},
            "description": _nullable({"type": "string"}),
            "parameters": _nullable({"type": "object"}),
            "strict": _nullable({"type": "boolean"}),
        },
    }
    named = {
        "type": "object",
        "required": ["type", "name"],
        "properties": {"type": _enum("function"), "name": {"type": "string", "minLength": 1}},
    }
    json_schema = {
        "type": "object",
        "required": ["type", "name", "schema"],
        "properties": {
            "type": _enum("json_schema"),
            "name": {"type": "string", "minLength": 1},
            "schema": {"type": "object"},
            "description": _nullable({"type": "string"}),
            "strict": _nullable({"type": "boolean"}),
        },
    }
    plain = {"type": "object", "required": ["type"], "properties": {"type": _enum("text")}}
    json_object = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": _enum("json_object")},
    }
    text = {
        "type": "object",
        "properties": {"format": _nullable({"oneOf": [plain, json_object, json_schema]})},
    }
    return {
        "type": "object",
        "required": ["model", "input"],
        "description": "Also taken: function_call items and function_call_output items, each "
        "answering a call still open (else 400), input_image parts, metadata. Refused (400): "
        "built-in tools, background, prompt, conversation.",
        "properties": {
            "model": _model(models),
            "input": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "minItems": 1, "items": item},
                ]
            },
            "instructions": _nullable({"type": "string"}),
            "previous_response_id": _nullable({"type": "string", "minLength": 1}),
            "store": _nullable({"type": "boolean"}),
            "stream": _nullable({"type": "boolean"}),
            "max_output_tokens": _nullable(_POSITIVE),
            "temperature": _nullable({"type": "number"}),
            "top_p": _nullable({"type": "number"}),
            "tools": _nullable({"type": "array", "items": tool}),
            "tool_choice": _nullable({"oneOf": [_enum("auto", "none", "required"), named]}),
            "parallel_tool_calls": _nullable({"type": "boolean"}),
            "text": _nullable(text),
        },
    }


def _response() -> Schema:
    return {
        "type": "object",
        "required": ["id", "object", "created_at", "status", "model", "output"],
        "description": "OpenAI's Response object (components/schemas/Response in OpenAI's "
        "published document).",
        "properties": {
            "id": {"type": "string"},
            "object": _enum("response"),
            "created_at": {"type": "integer"},
            "status": {"type": "string"},
            "model": {"type": "string", "description": "The deployment that answered."},
            "output": {"type": "array", "items": {"type": "object"}},
            "previous_response_id": _nullable({"type": "string"}),
            "usage": {"type": "object"},
        },
    }


def _anthropic_text() -> Schema:
    return {
        "type": "object",
        "required": ["type", "text"],
        "properties": {"type": _enum("text"), "text": {"type": "string"}},
    }


def _anthropic_fields(models: list[str]) -> dict[str, Schema]:
    """What a Messages request and a count_tokens request share."""
    content = {
        "oneOf": [
            {"type": "string"},
            {"type": "array", "minItems": 1, "items": _anthropic_text()},
        ]
    }
    message = {
        "type": "object",
        "required": ["role", "content"],
        "properties": {"role": _enum("user", "assistant"), "content": content},
    }
    tool = {
        "type": "object",
        "required": ["name", "input_schema"],
        "properties": {
            "name": {"type": "string"},
            "description": _nullable({"type": "string"}),
            "input_schema": {"type": "object"},
        },
    }
    named = {
        "type": "object",
        "required": ["type", "name"],
        "properties": {"type": _enum("tool"), "name": {"type": "string"}},
    }
    simple = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": _enum("auto", "any", "none")},
    }
    return {
        "model": _model(models),
        "messages": {"type": "array", "minItems": 1, "items": message},
        "system": _nullable(
            {"oneOf": [{"type": "string"}, {"type": "array", "items": _anthropic_text()}]}
        ),
        "tools": _nullable({"type": "array", "items": tool}),
        "tool_choice": _nullable({"oneOf": [simple, named]}),
    }


def _anthropic_schemas(models: list[str]) -> dict[str, Schema]:
    fields = _anthropic_fields(models)
    also = (
        "Also taken: tool_use blocks in assistant turns, tool_result and image blocks in user "
        "turns (a tool_result answers a tool_use of the turn before), thinking blocks (dropped), "
        "metadata.user_id, tool_choice.disable_parallel_tool_use."
    )
    request = {
        "type": "object",
        "required": ["model", "max_tokens", "messages"],
        "description": also,
        "properties": {
            **fields,
            "max_tokens": _POSITIVE,
            "stream": {"type": "boolean"},
            "temperature": _nullable({"type": "number"}),
            "top_p": _nullable({"type": "number"}),
            "stop_sequences": _nullable({"type": "array", "items": {"type": "string"}}),
        },
    }
    message = {
        "type": "object",
        "required": ["id", "type", "role", "model", "content", "stop_reason", "usage"],
        "properties": {
            "id": {"type": "string"},
            "type": _enum("message"),
            "role": _enum("assistant"),
            "model": {"type": "string", "description": "The deployment that answered."},
            "content": {"type": "array", "items": {"type": "object"}},
            "stop_reason": _nullable({"type": "string"}),
            "usage": {"type": "object"},
        },
    }
    error = {
        "type": "object",
        "required": ["type", "error"],
        "description": "Anthropic's error body: every error of the Messages door has it.",
        "properties": {
            "type": _enum("error"),
            "error": {
                "type": "object",
                "required": ["type", "message"],
                "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    }
    counted = {
        "type": "object",
        "required": ["input_tokens"],
        "properties": {"input_tokens": {"type": "integer"}},
    }
    count = {
        "type": "object",
        "required": ["model", "messages"],
        "description": also,
        "properties": fields,
    }
    return {
        "MessagesRequest": request,
        "AnthropicMessage": message,
        "AnthropicError": error,
        "CountTokensRequest": count,
        "TokenCount": counted,
    }


def _completions_schemas(models: list[str]) -> dict[str, Schema]:
    once = {"type": "integer", "minimum": 1, "maximum": 1}
    request = {
        "type": "object",
        "required": ["model", "prompt"],
        "description": "The prompt is answered as one user chat message (docs/api.md). "
        "Refused (400 naming the field): several prompts or token ids, n or best_of other than "
        "1, echo, suffix, logprobs, and the chat fields messages, tools, tool_choice, functions, "
        "function_call. Fields not listed here are passed to the upstream unchanged.",
        "properties": {
            "model": _model(models),
            "prompt": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "minItems": 1, "maxItems": 1, "items": {"type": "string"}},
                ]
            },
            "max_tokens": _nullable({**_POSITIVE, "default": 16}),
            "stream": _nullable({"type": "boolean"}),
            "stream_options": _nullable(
                {"type": "object", "properties": {"include_usage": {"type": "boolean"}}}
            ),
            **SAMPLING_RANGES,
            "stop": _nullable(
                {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
            ),
            "seed": _nullable(
                {
                    "type": "integer",
                    "format": "int64",
                    "minimum": -INT64_MAX - 1,
                    "maximum": INT64_MAX,
                }
            ),
            "user": _nullable({"type": "string"}),
            "n": _nullable(once),
            "best_of": _nullable(once),
            # OpenAPI 3.0.3: a nullable enum lists null among its values
            "echo": _nullable({"type": "boolean", "enum": [False, None]}),
            "suffix": _nullable({"type": "string", "enum": ["", None]}),
        },
    }
    choice = {
        "type": "object",
        "required": ["text", "index", "logprobs", "finish_reason"],
        "properties": {
            "text": {"type": "string"},
            "index": {"type": "integer"},
            "logprobs": _nullable({"type": "object"}),
            "finish_reason": _enum("stop", "length", "content_filter"),
        },
    }
    answer = {
        "type": "object",
        "required": ["id", "object", "created", "model", "choices"],
        "description": "OpenAI's CreateCompletionResponse.",
        "properties": {
            "id": {"type": "string"},
            "object": _enum("text_completion"),
            "created": {"type": "integer"},
            "model": {"type": "string", "description": "The deployment that answered."},
            "choices": {"type": "array", "items": choice},
            "system_fingerprint": {"type": "string"},
            "usage": {"type": "object"},
        },
    }
    return {"CompletionRequest": request, "TextCompletion": answer}


def door_schemas(models: list[str]) -> dict[str, Schema]:
    """The doors' component schemas; ``models`` are the names a request may give."""
    deleted = {
        "type": "object",
        "required": ["id", "object", "deleted"],
        "properties": {
            "id": {"type": "string"},
            "object": _enum("response.deleted"),
            "deleted": {"type": "boolean"},
        },
    }
    return {
        "ResponsesRequest": _responses_request(models),
        "Response": _response(),
        "ResponseDeleted": deleted,
        **_anthropic_schemas(models),
        **_completions_schemas(models),
    }


def _stream_ok(schema: str, what: str) -> Schema:
    return {
        "description": what,
        "headers": _HEADERS,
        "content": {
            _JSON: {"schema": _ref(schema)},
            "text/event-stream": {"schema": {"type": "object", "description": "Named events."}},
        },
    }


def _responses_operations() -> dict[tuple[str, str], Operation]:
    create: Operation = {
        "operationId": "createResponse",
        "summary": "A model response (OpenAI's Responses API), stored unless store is false.",
        "tags": ["responses"],
        "requestBody": {"required": True, **json_content("ResponsesRequest")},
        "responses": {
            "200": _stream_ok("Response", "The response; with stream=true, Responses events."),
            **error_responses(*_DOOR_ERRORS),
        },
        "security": _SECURITY,
    }
    parameter = {
        "name": "response_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    get: Operation = {
        "operationId": "getResponse",
        "summary": "A stored response of the calling key.",
        "tags": ["responses"],
        "parameters": [parameter],
        "responses": {
            "200": {"description": "The stored response.", **json_content("Response")},
            **error_responses(401, 404),
        },
        "security": _SECURITY,
    }
    delete: Operation = {
        "operationId": "deleteResponse",
        "summary": "Forget a stored response of the calling key.",
        "tags": ["responses"],
        "parameters": [parameter],
        "responses": {
            "200": {"description": "Deleted.", **json_content("ResponseDeleted")},
            **error_responses(401, 404),
        },
        "security": _SECURITY,
    }
    return {
        ("/v1/responses", "POST"): create,
        ("/v1/responses/{response_id}", "GET"): get,
        ("/v1/responses/{response_id}", "DELETE"): delete,
    }


def _anthropic_errors(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        str(s): {"description": REASONS[s], **json_content("AnthropicError")} for s in statuses
    }
    out["default"] = {"description": "Any other error.", **json_content("AnthropicError")}
    return out


def _messages_operations() -> dict[tuple[str, str], Operation]:
    create: Operation = {
        "operationId": "createMessage",
        "summary": "Anthropic's Messages API, answered by any deployment.",
        "tags": ["messages"],
        "requestBody": {"required": True, **json_content("MessagesRequest")},
        "responses": {
            "200": _stream_ok("AnthropicMessage", "The message; with stream=true, its events."),
            **_anthropic_errors(*_DOOR_ERRORS),
        },
        "security": _SECURITY,
    }
    count: Operation = {
        "operationId": "countMessageTokens",
        "summary": "The prompt's input tokens: the embedded model's tokenizer and chat "
        "template; for other deployments an estimate (about four characters a token).",
        "tags": ["messages"],
        "requestBody": {"required": True, **json_content("CountTokensRequest")},
        "responses": {
            "200": {"description": "The count.", **json_content("TokenCount")},
            **_anthropic_errors(400, 401, 403, 404, 408, 413),
        },
        "security": _SECURITY,
    }
    return {("/v1/messages", "POST"): create, ("/v1/messages/count_tokens", "POST"): count}


def _completions_operations() -> dict[tuple[str, str], Operation]:
    sse = {
        "type": "object",
        "description": "One event: data is a text_completion chunk as JSON, or [DONE].",
        "properties": {"data": {"type": "string"}},
    }
    ok = {
        "description": "The completion; with stream=true, server-sent events ending [DONE].",
        "headers": _HEADERS,
        "content": {
            _JSON: {"schema": _ref("TextCompletion")},
            "text/event-stream": {"schema": sse},
        },
    }
    create: Operation = {
        "operationId": "createCompletion",
        "summary": "A legacy text completion, answered by any deployment as a chat turn.",
        "tags": ["completions"],
        "requestBody": {"required": True, **json_content("CompletionRequest")},
        "responses": {"200": ok, **error_responses(*_DOOR_ERRORS)},
        "security": _SECURITY,
    }
    return {("/v1/completions", "POST"): create}


DOOR_OPERATIONS = _responses_operations() | _messages_operations() | _completions_operations()
"""The doors' operations by (path template, method)."""
