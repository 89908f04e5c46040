"""Pure translation between OpenAI chat-completions and Anthropic's Messages API (2023-06-01).

Request fields with no Messages API equivalent are dropped (``DROPPED_FIELDS``; any other
unknown field is dropped too, because the Messages API rejects extra inputs):
``frequency_penalty``, ``presence_penalty``, ``logit_bias``, ``logprobs``, ``top_logprobs``,
``seed``, ``service_tier``, ``store``, ``metadata``, ``modalities``, ``audio``, ``prediction``,
``reasoning_effort``, ``web_search_options``, ``stream_options`` (usage is always reported).
``n`` > 1 and the legacy ``functions``/``function_call`` are refused with InvalidField.
``temperature`` is clamped to Anthropic's 0..1. ``response_format`` json_object/json_schema
becomes a system instruction that carries the schema: this API version has no native JSON mode,
so conformance is the model's, not guaranteed.
"""

from __future__ import annotations

from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import InvalidField, UpstreamProtocolError

__all__ = [
    "DROPPED_FIELDS",
    "FINISH_REASONS",
    "completion_body",
    "finish_reason",
    "openai_usage",
    "request_body",
    "tool_call",
]

DROPPED_FIELDS = frozenset(
    {
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "seed",
        "service_tier",
        "store",
        "metadata",
        "modalities",
        "audio",
        "prediction",
        "reasoning_effort",
        "web_search_options",
        "stream_options",
    }
)
"""OpenAI request fields that have no Anthropic equivalent and are left out of the request."""

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Anthropic ``stop_reason`` to OpenAI ``finish_reason``; unknown reasons become ``stop``."""

_JSON_OBJECT = "Respond with one valid JSON object and nothing else: no prose, no code fences."


def finish_reason(stop_reason: Any) -> str:
    """The OpenAI finish_reason for an Anthropic stop_reason."""
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _image_block(part: dict[str, Any], where: str) -> dict[str, Any]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise InvalidField(f"{where}.image_url.url must be a string", param=where)
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type, _, encoding = header.removeprefix("data:").partition(";")
        if encoding != "base64" or not data:
            raise InvalidField(f"{where}: image data URLs must be base64", param=where)
        source = {"type": "base64", "media_type": media_type, "data": data}
        return {"type": "image", "source": source}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidField(f"{where}: an image URL must be https:// or a data: URL", param=where)


def _content_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    """Text and image blocks for an OpenAI message content (string or list of parts)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [_text_block(content)] if content else []
    if not isinstance(content, list):
        raise InvalidField(f"{where}.content must be a string or an array", param=where)
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "refusal"):
            text = part.get(kind)
            if not isinstance(text, str):
                raise InvalidField(f"{where}.content[{j}].{kind} must be a string", param=where)
            blocks += [_text_block(text)] if text else []
        elif kind == "image_url":
            blocks.append(_image_block(part, f"{where}.content[{j}]"))
        else:
            raise InvalidField(
                f"{where}.content[{j}]: part type {kind!r} is not supported by Anthropic models",
                param=where,
            )
    return blocks


def _plain_text(content: Any, where: str) -> str:
    return "\n".join(b["text"] for b in _content_blocks(content, where) if b["type"] == "text")


def _tool_use(call: Any, where: str) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(call.get("id"), str):
        raise InvalidField(f"{where} must have an id and a function", param=where)
    if not isinstance(function.get("name"), str):
        raise InvalidField(f"{where}.function.name must be a string", param=where)
    arguments = function.get("arguments") or "{}"
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidField(f"{where}.function.arguments must be a JSON object", param=where)
    return {"type": "tool_use", "id": call["id"], "name": function["name"], "input": parsed}


def _tool_result(message: dict[str, Any], where: str) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidField(f"{where}.tool_call_id is required for tool messages", param=where)
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id}
    content = message.get("content")
    if isinstance(content, str):
        block |= {"content": content} if content else {}
    else:
        block |= {"content": blocks} if (blocks := _content_blocks(content, where)) else {}
    return block


def _turn(message: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]]]:
    """The Anthropic role and content blocks of one non-system OpenAI message."""
    role = message.get("role")
    if role == "user":
        return "user", _content_blocks(message.get("content"), where)
    if role == "tool":
        return "user", [_tool_result(message, where)]
    if role == "assistant":
        blocks = _content_blocks(message.get("content"), where)
        calls = message.get("tool_calls") or []
        if not isinstance(calls, list):
            raise InvalidField(f"{where}.tool_calls must be an array", param=where)
        return "assistant", blocks + [
            _tool_use(c, f"{where}.tool_calls[{k}]") for k, c in enumerate(calls)
        ]
    raise InvalidField(
        f"{where}.role {role!r} is not supported by Anthropic models (use tool messages)",
        param=where,
    )


def _conversation(messages: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """System texts and alternating turns; consecutive same-role turns are merged."""
    if not isinstance(messages, list) or not messages:
        raise InvalidField("messages must be a non-empty array", param="messages")
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise InvalidField(f"{where} must be an object", param=where)
        if message.get("role") in ("system", "developer"):
            system += [text] if (text := _plain_text(message.get("content"), where)) else []
            continue
        role, blocks = _turn(message, where)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += blocks
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if not turn["content"]:
            raise InvalidField(f"a {turn['role']} message has no content", param="messages")
        # Tool results must open their user turn, before any text.
        turn["content"].sort(key=lambda b: b["type"] != "tool_result")
    if not turns:
        raise InvalidField("messages needs at least one user message", param="messages")
    return system, turns


def _max_tokens(body: dict[str, Any], deployment: Deployment) -> int:
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    if value is None:
        return deployment.default_max_tokens
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidField("max_tokens must be a positive integer", param="max_tokens")
    return value


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidField(f"{name} must be a number", param=name)
    return float(value)


def _sampling(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    temperature = _number(body, "temperature")
    if temperature is not None:
        out["temperature"] = min(1.0, max(0.0, temperature))
    top_p = _number(body, "top_p")
    if top_p is not None:
        out["top_p"] = top_p
    if isinstance(body.get("top_k"), int):
        out["top_k"] = body["top_k"]
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop
    if stops is not None and not (
        isinstance(stops, list) and all(isinstance(s, str) for s in stops)
    ):
        raise InvalidField("stop must be a string or an array of strings", param="stop")
    if stops := [s for s in stops or () if s]:
        out["stop_sequences"] = stops
    return out


def _tool(tool: Any, where: str) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(function, dict) or tool.get("type") != "function":
        raise InvalidField(f"{where}: only function tools are supported", param="tools")
    if not isinstance(function.get("name"), str):
        raise InvalidField(f"{where}.function.name must be a string", param="tools")
    schema = function.get("parameters") or {"type": "object", "properties": {}}
    out = {"name": function["name"], "input_schema": schema}
    if isinstance(function.get("description"), str):
        out["description"] = function["description"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    named = isinstance(choice, dict) and choice.get("type") == "function"
    function = choice.get("function") if named else None
    out: dict[str, Any] | None
    if choice is None:
        out = {"type": "auto"} if parallel is False else None
    elif choice in ("auto", "required", "none"):
        out = {"type": {"auto": "auto", "required": "any", "none": "none"}[choice]}
    elif isinstance(function, dict) and isinstance(function.get("name"), str):
        out = {"type": "tool", "name": function["name"]}
    else:
        raise InvalidField(
            "tool_choice is not one of auto, required, none, or a function",
            param="tool_choice",
        )
    if out is not None and parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _tools(body: dict[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    if not tools:
        return {}
    if not isinstance(tools, list):
        raise InvalidField("tools must be an array", param="tools")
    out: dict[str, Any] = {"tools": [_tool(t, f"tools[{i}]") for i, t in enumerate(tools)]}
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    return out | ({"tool_choice": choice} if choice else {})


def _format_instruction(response_format: Any) -> str | None:
    """The system instruction that stands in for OpenAI's response_format."""
    kind = response_format.get("type") if isinstance(response_format, dict) else response_format
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return _JSON_OBJECT
    spec = response_format.get("json_schema") if kind == "json_schema" else None
    if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
        raise InvalidField("response_format must be text, json_object or json_schema")
    schema = orjson.dumps(spec["schema"]).decode()
    return f"{_JSON_OBJECT} It must conform to this JSON schema: {schema}"


def _refuse_unsupported(body: dict[str, Any], deployment: Deployment) -> None:
    n = body.get("n")
    if n is not None and n != 1:
        raise InvalidField(
            f"n={n} is not supported by '{deployment.id}' (Anthropic answers one choice)",
            param="n",
        )
    for legacy in ("functions", "function_call"):
        if body.get(legacy) is not None:
            raise InvalidField(f"{legacy} is not supported here; use tools", param=legacy)


def request_body(body: dict[str, Any], deployment: Deployment) -> dict[str, Any]:
    """The Messages API request for an OpenAI chat-completions body (``stream`` not set)."""
    _refuse_unsupported(body, deployment)
    system, turns = _conversation(body.get("messages"))
    if instruction := _format_instruction(body.get("response_format")):
        system.append(instruction)
    request: dict[str, Any] = {
        "model": deployment.wire_model,
        "messages": turns,
        "max_tokens": _max_tokens(body, deployment),
    }
    if system:
        request["system"] = "\n\n".join(system)
    request |= _sampling(body) | _tools(body)
    user = body.get("user")
    if isinstance(user, str) and user:
        request["metadata"] = {"user_id": user}
    return request


def openai_usage(usage: Any) -> dict[str, Any] | None:
    """OpenAI usage from Anthropic usage; cached prompt tokens count as prompt tokens."""
    if not isinstance(usage, dict) or not isinstance(usage.get("output_tokens"), int):
        return None
    cached = usage.get("cache_read_input_tokens") or 0
    written = usage.get("cache_creation_input_tokens") or 0
    prompt = (usage.get("input_tokens") or 0) + cached + written
    completion = usage["output_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def tool_call(block: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI tool call for a ``tool_use`` block; arguments become a JSON string."""
    arguments = orjson.dumps(block.get("input") or {}).decode()
    function = {"name": block.get("name"), "arguments": arguments}
    return {"id": block.get("id"), "type": "function", "function": function}


def completion_body(data: dict[str, Any], deployment: str, created: int) -> dict[str, Any]:
    """The ``chat.completion`` for a Messages API ``message``; ``model`` is the deployment id."""
    content = data.get("content")
    if data.get("type") != "message" or not isinstance(content, list):
        raise UpstreamProtocolError(
            f"upstream '{deployment}' answered with something that is not a message",
            deployment=deployment,
        )
    blocks = [b for b in content if isinstance(b, dict)]
    text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
    calls = [tool_call(b) for b in blocks if b.get("type") == "tool_use"]
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    body: dict[str, Any] = {
        "id": f"chatcmpl-{data.get('id', '')}",
        "object": "chat.completion",
        "created": created,
        "model": deployment,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(data.get("stop_reason")),
            }
        ],
    }
    usage = openai_usage(data.get("usage"))
    if usage is not None:
        body["usage"] = usage
    return body
