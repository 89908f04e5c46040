"""OpenAI's Responses API <-> the chat-completions body every provider speaks. Pure: no I/O.

A ``POST /v1/responses`` body becomes a chat body (``ResponsesCall.chat``): ``instructions``
and the input items become messages after the stored conversation of ``previous_response_id``;
function tools, ``tool_choice``, ``text.format`` and the sampling fields map one to one. A chat
completion becomes a ``response`` object (``response_object``). Shapes follow OpenAI's published
OpenAPI document (github.com/openai/openai-openapi), which the tests validate against.

Not served: built-in tools (web search, file search, computer use…), ``item_reference``,
``background``, ``reasoning`` items (dropped from input: no backend here can replay them), and
``include``. Each is a 400 naming the field, never silently ignored, except reasoning items.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from parity.errors import InvalidField
from parity.gateway.chat_fields import INT64_MAX
from parity.gateway.protocol import CHAT_ROLES, flag, load_object, model_of

__all__ = [
    "ResponsesCall",
    "chat_message_for_output",
    "new_id",
    "output_items",
    "parse_responses",
    "pending_calls",
    "response_object",
    "response_usage",
]

_ROLES = CHAT_ROLES - {"tool", "function"}  # a Responses message item's roles
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
_REFUSED_FIELDS = ("background", "prompt", "conversation")
_STATUS = {"length": "incomplete", "content_filter": "incomplete"}
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_id(prefix: str) -> str:
    """A fresh id such as resp_… or msg_…: 24 random bytes in hex, as OpenAI's are opaque."""
    return f"{prefix}_{secrets.token_hex(24)}"


@dataclass(slots=True)
class ResponsesCall:
    """A parsed Responses request: the chat body to send and what the answer must echo."""

    body: dict[str, Any]  # the client's JSON, every field kept
    model: str
    stream: bool
    store: bool
    previous_response_id: str | None
    input_messages: list[dict[str, Any]]  # this request's input as chat messages (no instructions)
    chat: dict[str, Any] = field(default_factory=dict)  # set by build_chat()

    def build_chat(self, history: list[dict[str, Any]]) -> dict[str, Any]:
        """The chat body: instructions, then ``history`` (the previous response's), then input."""
        messages: list[dict[str, Any]] = []
        instructions = self.body.get("instructions")
        if isinstance(instructions, str) and instructions:
            messages.append({"role": "system", "content": instructions})
        _check_outputs(self.input_messages, pending_calls(history), answered=_answered(history))
        messages += history + self.input_messages
        chat: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.stream:
            chat["stream"] = True
            chat["stream_options"] = {"include_usage": True}
        chat |= _sampling(self.body) | _tools(self.body) | _format(self.body)
        self.chat = chat
        return chat

    def conversation(
        self, history: list[dict[str, Any]], answer: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """What a later previous_response_id replays: history, this input, the answer."""
        return [*history, *self.input_messages, answer]


def parse_responses(raw: bytes) -> ResponsesCall:
    """Validate a POST /v1/responses body; InvalidField names the first bad field."""
    body = load_object(raw)
    model = model_of(body)
    for name in _REFUSED_FIELDS:
        if body.get(name) not in (None, False):
            raise InvalidField(f"'{name}' is not supported by this gateway", param=name)
    previous = body.get("previous_response_id")
    if previous is not None and (not isinstance(previous, str) or not previous):
        raise InvalidField("'previous_response_id' must be a string", param="previous_response_id")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidField("'instructions' must be a string", param="instructions")
    return ResponsesCall(
        body=body,
        model=model,
        stream=flag(body, "stream", False),
        store=flag(body, "store", True),
        previous_response_id=previous,
        input_messages=_input_messages(body.get("input")),
    )


def _text_of(content: Any, where: str) -> str | list[dict[str, Any]]:
    """A chat content (string, or parts when there are images) for Responses content parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidField(f"{where}.content must be a string or an array", param="input")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if not isinstance(kind, str):  # a list or dict is unhashable
            kind = None
        if kind in _TEXT_PARTS or kind == "refusal":
            text = part.get("refusal" if kind == "refusal" else "text")
            if not isinstance(text, str):
                raise InvalidField(f"{where}.content[{j}].text must be a string", param="input")
            parts.append({"type": "text", "text": text})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            image = {"url": part["image_url"], "detail": part.get("detail") or "auto"}
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise InvalidField(
                f"{where}.content[{j}]: part type {kind!r} is not supported here", param="input"
            )
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _function_call(item: dict[str, Any], where: str) -> dict[str, Any]:
    call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str):
        raise InvalidField(f"{where} needs a call_id and a name", param="input")
    if not isinstance(arguments, str):
        raise InvalidField(f"{where}.arguments must be a string", param="input")
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _tool_output(item: dict[str, Any], where: str) -> dict[str, Any]:
    call_id = item.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidField(f"{where}.call_id is required", param="input")
    output = item.get("output")
    content = _text_of(output, where) if isinstance(output, list) else output
    if not isinstance(content, str | list):
        raise InvalidField(f"{where}.output must be a string or an array", param="input")
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def _item_message(item: dict[str, Any], where: str) -> dict[str, Any] | None:
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if not isinstance(role, str) or role not in _ROLES:
            raise InvalidField(f"{where}.role must be one of {sorted(_ROLES)}", param="input")
        return {"role": role, "content": _text_of(item.get("content"), where)}
    if kind == "function_call_output":
        return _tool_output(item, where)
    if kind == "reasoning":
        return None  # reasoning summaries cannot be replayed to these backends
    if kind == "function_call":
        return {"role": "assistant", "content": None, "tool_calls": [_function_call(item, where)]}
    raise InvalidField(f"{where}: input item type {kind!r} is not supported here", param="input")


def _input_messages(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise InvalidField("'input' must be a string or a non-empty array of items", param="input")
    messages: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidField(f"input[{i}] must be an object", param="input")
        message = _item_message(item, f"input[{i}]")
        if message is None:
            continue
        previous = messages[-1] if messages else None
        if (  # consecutive function calls are one assistant turn in chat
            message.get("tool_calls")
            and previous is not None
            and previous["role"] == "assistant"
            and not isinstance(previous.get("content"), list)
        ):
            previous.setdefault("tool_calls", []).extend(message["tool_calls"])
            continue
        messages.append(message)
    return messages


def pending_calls(messages: Iterable[dict[str, Any]]) -> set[str]:
    """Call ids of tool calls in ``messages`` that no tool message has answered yet."""
    asked: set[str] = set()
    for message in messages:
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                asked.add(call["id"])
        if message.get("role") == "tool":
            asked.discard(message.get("tool_call_id", ""))
    return asked


def _answered(messages: Iterable[dict[str, Any]]) -> set[str]:
    return {m.get("tool_call_id", "") for m in messages if m.get("role") == "tool"}


def _check_outputs(inputs: list[dict[str, Any]], pending: set[str], *, answered: set[str]) -> None:
    """Every function_call_output must answer a call still open (stored or in this input)."""
    open_calls = set(pending)
    for message in inputs:
        for call in message.get("tool_calls") or ():
            open_calls.add(call["id"])
        if message.get("role") != "tool":
            continue
        call_id = message["tool_call_id"]
        if call_id not in open_calls:
            already = " (it was answered already)" if call_id in answered else ""
            raise InvalidField(
                f"No tool call found for function call output with call_id {call_id}{already}.",
                param="input",
                code="tool_output_without_call",
            )
        open_calls.discard(call_id)


def _sampling(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise InvalidField(f"'{name}' must be a number", param=name)
            out[name] = value
    limit = body.get("max_output_tokens")
    if limit is not None:
        if type(limit) is not int or not 1 <= limit <= INT64_MAX:
            raise InvalidField(
                "'max_output_tokens' must be a positive integer", param="max_output_tokens"
            )
        out["max_tokens"] = limit
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        out["user"] = user
    return out


def _tool(tool: Any, i: int) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else None
        raise InvalidField(
            f"tools[{i}]: only function tools are served here, not {kind!r}", param="tools"
        )
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidField(f"tools[{i}].name must be a string", param="tools")
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidField(f"tools[{i}].parameters must be a JSON Schema object", param="tools")
    function: dict[str, Any] = {
        "name": name,
        "parameters": parameters or {"type": "object", "properties": {}},
    }
    function |= _typed(tool, f"tools[{i}]", "tools")
    return {"type": "function", "function": function}


def _typed(spec: dict[str, Any], where: str, param: str) -> dict[str, Any]:
    """A tool's or a schema's optional ``description`` (string) and ``strict`` (boolean)."""
    out: dict[str, Any] = {}
    for name, kind in (("description", str), ("strict", bool)):
        value = spec.get(name)
        if value is None:
            continue
        if not isinstance(value, kind):
            raise InvalidField(f"{where}.{name} must be a {kind.__name__}", param=param)
        out[name] = value
    return out


def _tool_choice(choice: Any) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("name")
        if isinstance(name, str) and name:
            return {"type": "function", "function": {"name": name}}
    raise InvalidField(
        "'tool_choice' must be auto, none, required or {type: function, name}",
        param="tool_choice",
    )


def _tools(body: dict[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    out: dict[str, Any] = {}
    if tools is not None and not isinstance(tools, list):
        raise InvalidField("'tools' must be an array", param="tools")
    if tools:
        out["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
    choice = _tool_choice(body.get("tool_choice"))
    if choice is not None and out:
        out["tool_choice"] = choice
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise InvalidField("'parallel_tool_calls' must be a boolean", param="parallel_tool_calls")
    if parallel is not None and out:
        out["parallel_tool_calls"] = parallel
    return out


def _format(body: dict[str, Any]) -> dict[str, Any]:
    text = body.get("text")
    if text is None:
        return {}
    if not isinstance(text, dict):
        raise InvalidField("'text' must be an object", param="text")
    spec = text.get("format")
    if spec is None:
        return {}
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"response_format": {"type": "json_object"}}
    if kind == "json_schema" and isinstance(spec, dict):
        schema, name = spec.get("schema"), spec.get("name")
        if not isinstance(schema, dict) or not isinstance(name, str) or not name:
            raise InvalidField(
                "text.format json_schema needs a name and a schema object", param="text.format"
            )
        inner: dict[str, Any] = {"name": name, "schema": schema}
        inner |= _typed(spec, "text.format", "text.format")
        return {"response_format": {"type": "json_schema", "json_schema": inner}}
    raise InvalidField(
        "text.format.type must be text, json_object or json_schema", param="text.format"
    )


def response_usage(usage: Any) -> dict[str, Any] | None:
    """Responses usage from chat usage (prompt/completion tokens)."""
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": int(cached or 0), "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def output_items(message: dict[str, Any], status: str = "completed") -> list[dict[str, Any]]:
    """Output items for one chat assistant message: a message with text, then function calls."""
    items: list[dict[str, Any]] = []
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    refusal = message.get("refusal")
    if text or (isinstance(refusal, str) and refusal) or not message.get("tool_calls"):
        part: dict[str, Any] = (
            {"type": "refusal", "refusal": refusal}
            if isinstance(refusal, str) and refusal and not text
            else {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        )
        items.append(
            {
                "id": new_id("msg"),
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": [part],
            }
        )
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        items.append(
            {
                "id": new_id("fc"),
                "type": "function_call",
                "status": "completed",
                "call_id": str(call.get("id") or new_id("call")),
                "name": str(function.get("name") or ""),
                "arguments": str(function.get("arguments") or ""),
            }
        )
    return items


def chat_message_for_output(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The chat assistant message that stands for a response's output in a later turn."""
    text = "".join(
        part.get("text", "")
        for item in items
        if item["type"] == "message"
        for part in item["content"]
        if part.get("type") == "output_text"
    )
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    calls = [
        {
            "id": item["call_id"],
            "type": "function",
            "function": {"name": item["name"], "arguments": item["arguments"]},
        }
        for item in items
        if item["type"] == "function_call"
    ]
    if calls:
        message["tool_calls"] = calls
    elif message["content"] is None:
        message["content"] = ""
    return message


def response_object(
    call: ResponsesCall,
    *,
    response_id: str,
    model: str,
    created_at: float,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    finish_reason: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``response`` object, echoing the request's settings as OpenAI does."""
    body = call.body
    if finish_reason in _STATUS and status == "completed":
        status = _STATUS[finish_reason]
    incomplete = (
        {"reason": _INCOMPLETE[finish_reason]}
        if status == "incomplete" and finish_reason in _INCOMPLETE
        else None
    )
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    metadata = body.get("metadata")
    out: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": int(created_at),
        "status": status,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
        "previous_response_id": call.previous_response_id,
        "reasoning": None,
        "store": call.store,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": (text or {}).get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": [_echo_tool(t) for t in body.get("tools") or ()],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "metadata": metadata if isinstance(metadata, dict) else {},
    }
    if usage is not None:  # the schema has no null usage: it is left out until it is known
        out["usage"] = usage
    user = body.get("user")
    if isinstance(user, str):
        out["user"] = user
    return out


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "name": tool.get("name"),
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict", True),
    }
