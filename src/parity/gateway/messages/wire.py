"""Anthropic's Messages API (2023-06-01) coming in, as the chat body every provider speaks.

The reverse of :mod:`parity.providers.anthropic_wire`, which speaks the same API outbound: a
``POST /v1/messages`` body becomes an OpenAI chat body (``parse_messages``), and a chat
completion becomes an Anthropic ``message`` (``message_object``). System text becomes a system
message; ``tool_use`` blocks become ``tool_calls`` and ``tool_result`` blocks tool messages;
``tool_choice`` any/tool/none become required/function/none. Errors use Anthropic's error body
(``error_body``), since the Anthropic SDK parses that shape. ``thinking`` blocks in the input are
dropped (no backend here can replay them); ``document`` blocks and server tools are refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from parity.errors import InvalidField, ParityError, http_status
from parity.gateway.chat_fields import INT64_MAX
from parity.gateway.protocol import load_object

__all__ = [
    "STOP_REASONS",
    "MessagesCall",
    "anthropic_usage",
    "error_body",
    "error_type",
    "message_object",
    "parse_count_tokens",
    "parse_messages",
    "tool_input",
]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
"""OpenAI ``finish_reason`` to Anthropic ``stop_reason``; anything else is ``end_turn``."""

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
}


@dataclass(slots=True)
class MessagesCall:
    """A parsed Messages request and the chat body it becomes."""

    body: dict[str, Any]
    model: str
    stream: bool
    chat: dict[str, Any]


def error_type(error: ParityError) -> str:
    """Anthropic's error ``type`` for the status Parity answers with."""
    status = http_status(error)
    return _ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


def error_body(error: ParityError) -> dict[str, Any]:
    """``{"type": "error", "error": {"type", "message"}}``, as Anthropic's API answers."""
    return {"type": "error", "error": {"type": error_type(error), "message": error.message}}


def _text(block: dict[str, Any], where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise InvalidField(f"{where}.text: Field required", param=where)
    return text


def _image(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64" and isinstance(source, dict):
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif kind == "url" and isinstance(source, dict) and isinstance(source.get("url"), str):
        url = source["url"]
    else:
        raise InvalidField(f"{where}.source must be a base64 or url image source", param=where)
    return {"type": "image_url", "image_url": {"url": url}}


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise InvalidField(f"{where}.content must be a string or an array", param=where)
    out: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise InvalidField(f"{where}.content.{j}: must be a content block", param=where)
        out.append(block)
    return out


def _tool_result_content(block: dict[str, Any], where: str) -> str | list[dict[str, Any]]:
    content = block.get("content")
    if content is None:
        text: str | list[dict[str, Any]] = ""
    elif isinstance(content, str):
        text = content
    else:
        parts = [
            {"type": "text", "text": _text(b, where)}
            if b.get("type") == "text"
            else _image(b, where)
            for b in _blocks(content, where)
        ]
        text = (
            "".join(p["text"] for p in parts) if all(p["type"] == "text" for p in parts) else parts
        )
    if block.get("is_error") is True and isinstance(text, str):
        text = f"Error: {text}"
    return text


def _user_turn(content: Any, where: str) -> list[dict[str, Any]]:
    """Chat messages for one user turn: tool results first (as tool messages), then the rest."""
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(_blocks(content, where)):
        at = f"{where}.content.{j}"
        kind = block["type"]
        if kind == "tool_result":
            call_id = block.get("tool_use_id")
            if not isinstance(call_id, str) or not call_id:
                raise InvalidField(f"{at}.tool_use_id: Field required", param=at)
            tools.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": _tool_result_content(block, at),
                }
            )
        elif kind == "text":
            parts.append({"type": "text", "text": _text(block, at)})
        elif kind == "image":
            parts.append(_image(block, at))
        else:
            raise InvalidField(f"{at}: block type {kind!r} is not supported here", param=at)
    if not parts:
        return tools
    if all(p["type"] == "text" for p in parts):
        return [*tools, {"role": "user", "content": "\n\n".join(p["text"] for p in parts)}]
    return [*tools, {"role": "user", "content": parts}]


def _assistant_turn(content: Any, where: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(_blocks(content, where)):
        at = f"{where}.content.{j}"
        kind = block["type"]
        if kind == "text":
            texts.append(_text(block, at))
        elif kind == "tool_use":
            call_id, name = block.get("id"), block.get("name")
            if not isinstance(call_id, str) or not isinstance(name, str):
                raise InvalidField(f"{at}: a tool_use block needs an id and a name", param=at)
            arguments = orjson.dumps(block.get("input") or {}).decode()
            function = {"name": name, "arguments": arguments}
            calls.append({"id": call_id, "type": "function", "function": function})
        elif kind in ("thinking", "redacted_thinking"):
            continue
        else:
            raise InvalidField(f"{at}: block type {kind!r} is not supported here", param=at)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    elif message["content"] is None:
        message["content"] = ""
    return message


def _system(system: Any) -> list[dict[str, Any]]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    if not isinstance(system, list):
        raise InvalidField("system: must be a string or an array of text blocks", param="system")
    blocks = _blocks(system, "system")
    for i, block in enumerate(blocks):
        if block["type"] != "text":
            raise InvalidField(f"system.{i}.type: Input should be 'text'", param="system")
    texts = [_text(b, f"system.{i}") for i, b in enumerate(blocks)]
    return [{"role": "system", "content": "\n\n".join(texts)}] if texts else []


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidField("messages: Field required (a non-empty array)", param="messages")
    out = _system(body.get("system"))
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and not content:
            raise InvalidField(f"{where}.content: must not be empty", param=where)
        if role == "user":
            out += _user_turn(content, where)
        elif role == "assistant":
            out.append(_assistant_turn(content, where))
        else:
            raise InvalidField(f"{where}.role: Input should be 'user' or 'assistant'", param=where)
    return out


def _tool(tool: Any, i: int) -> dict[str, Any]:
    name = tool.get("name") if isinstance(tool, dict) else None
    schema = tool.get("input_schema") if isinstance(tool, dict) else None
    if not isinstance(name, str) or not isinstance(schema, dict):
        raise InvalidField(
            f"tools.{i}: only custom tools with a name and an input_schema are served",
            param="tools",
        )
    function: dict[str, Any] = {"name": name, "parameters": schema}
    description = tool.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidField(f"tools.{i}.description: must be a string", param="tools")
    if description is not None:
        function["description"] = description
    return {"type": "function", "function": function}


_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def _tools(body: dict[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    out: dict[str, Any] = {}
    if tools is not None and not isinstance(tools, list):
        raise InvalidField("tools: must be an array", param="tools")
    if tools:
        out["tools"] = [_tool(tool, i) for i, tool in enumerate(tools)]
    choice = body.get("tool_choice")
    if choice is None:
        return out
    kind = choice.get("type") if isinstance(choice, dict) else None
    if isinstance(kind, str) and kind in _CHOICES:
        out["tool_choice"] = _CHOICES[kind]
    elif kind == "tool" and isinstance(choice, dict) and isinstance(choice.get("name"), str):
        out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        raise InvalidField("tool_choice: must be auto, any, tool or none", param="tool_choice")
    if isinstance(choice, dict) and choice.get("disable_parallel_tool_use") is True and tools:
        out["parallel_tool_calls"] = False
    return out


def _sampling(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise InvalidField(f"{name}: Input should be a valid number", param=name)
            out[name] = value
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise InvalidField("stop_sequences: must be an array of strings", param="stop")
        if stops:
            out["stop"] = stops
    metadata = body.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user, str) and user:
        out["user"] = user
    return out


def _model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidField("model: Field required", param="model")
    return model


def parse_messages(raw: bytes) -> MessagesCall:
    """Validate a POST /v1/messages body and build its chat body."""
    body = load_object(raw)
    model = _model(body)
    max_tokens = body.get("max_tokens")
    if type(max_tokens) is not int or not 1 <= max_tokens <= INT64_MAX:
        raise InvalidField("max_tokens: Field required (a positive integer)", param="max_tokens")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidField("stream: Input should be a valid boolean", param="stream")
    chat: dict[str, Any] = {"model": model, "messages": _messages(body), "max_tokens": max_tokens}
    chat |= _sampling(body) | _tools(body)
    if stream:
        chat |= {"stream": True, "stream_options": {"include_usage": True}}
    return MessagesCall(body=body, model=model, stream=stream, chat=chat)


def parse_count_tokens(raw: bytes) -> dict[str, Any]:
    """The chat body for POST /v1/messages/count_tokens (max_tokens is not needed there)."""
    body = load_object(raw)
    chat: dict[str, Any] = {"model": _model(body), "messages": _messages(body)}
    return chat | _tools(body)


def tool_input(arguments: Any) -> dict[str, Any]:
    """A tool_use ``input`` object from OpenAI arguments (a JSON string).

    Small models sometimes write arguments that are not a JSON object; the text is kept under
    ``_unparsed_arguments`` rather than lost, since Anthropic's ``input`` must be an object.
    """
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) and arguments else {}
    except orjson.JSONDecodeError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"_unparsed_arguments": str(arguments)}


def anthropic_usage(usage: Any) -> dict[str, Any]:
    """Anthropic usage from OpenAI usage (zeros when the upstream reported none)."""
    usage = usage if isinstance(usage, dict) else {}
    details = usage.get("prompt_tokens_details")
    cached = int((details.get("cached_tokens") if isinstance(details, dict) else 0) or 0)
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0) - cached,
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def message_object(completion: dict[str, Any], model: str) -> dict[str, Any]:
    """The Anthropic ``message`` for an OpenAI chat.completion body."""
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": str(call.get("id") or f"toolu_{secrets.token_hex(12)}"),
                "name": str(function.get("name") or ""),
                "input": tool_input(function.get("arguments")),
            }
        )
    reason = choice.get("finish_reason")
    if message.get("tool_calls") and reason == "stop":
        reason = "tool_calls"  # some servers say stop after a tool call
    return {
        "id": f"msg_{secrets.token_hex(12)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS.get(str(reason), "end_turn"),
        "stop_sequence": None,
        "usage": anthropic_usage(completion.get("usage")),
    }
