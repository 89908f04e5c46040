"""``tool_choice: "required"`` on llama.cpp's server, which forces only a named tool.

llama-cpp-python's chat handler (0.3.36, ``chat_formatter_to_chat_completion_handler``) builds
a grammar for a named ``tool_choice`` only; ``"required"`` reaches the chat template and nothing
more, so the model answered text and the client got no call. Here ``"required"`` becomes a
grammar the server enforces: its ``response_format`` ``json_object`` + ``schema`` (which the
handler turns into a grammar) allowing exactly one object ``{"name": N, "arguments": A}``, N
one of the tools' names and A that tool's parameters. A system line names the tools, so the
model knows what it is choosing from. The JSON that comes back is turned into the tool call,
in a whole answer (``as_tool_call``) and in a stream (``ForcedStream``: the text is held until
it is complete, then sent as one tool-call delta). One call per answer, as with a named choice.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

__all__ = ["ForcedStream", "as_tool_call", "force_required", "forces_call"]

_ANY_OBJECT: dict[str, Any] = {"type": "object"}


def _functions(body: dict[str, Any]) -> list[dict[str, Any]]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return []
    found = [t.get("function") for t in tools if isinstance(t, dict)]
    return [f for f in found if isinstance(f, dict) and isinstance(f.get("name"), str)]


def forces_call(body: dict[str, Any]) -> bool:
    """Whether ``body`` asks for a tool call the server would not force by itself."""
    return body.get("tool_choice") == "required" and bool(_functions(body))


def _expressible(schema: dict[str, Any]) -> bool:
    """Whether llama.cpp's converter takes the schema (True when it cannot be asked here)."""
    try:
        from llama_cpp.llama_grammar import json_schema_to_gbnf
    except ImportError:  # the gateway does not run llama.cpp itself; the server will check
        return True
    try:
        json_schema_to_gbnf(orjson.dumps(schema).decode())
    except Exception:  # the converter asserts; any failure means "cannot express"
        return False
    return True


def _option(function: dict[str, Any]) -> dict[str, Any]:
    parameters = function.get("parameters")
    arguments = parameters if isinstance(parameters, dict) and parameters else _ANY_OBJECT
    if arguments is not _ANY_OBJECT and not _expressible(arguments):
        arguments = _ANY_OBJECT  # any JSON object: still a call, its arguments unchecked
    return {
        "type": "object",
        "properties": {"name": {"const": function["name"]}, "arguments": arguments},
        "required": ["name", "arguments"],
    }


def _hint(functions: list[dict[str, Any]]) -> str:
    lines = [
        "Call exactly one of these functions. Answer with a JSON object "
        '{"name": <function name>, "arguments": <its arguments>} and nothing else.'
    ]
    for function in functions:
        description = function.get("description")
        about = f": {description}" if isinstance(description, str) and description else ""
        lines.append(f"- {function['name']}{about}")
    return "\n".join(lines)


def force_required(out: dict[str, Any]) -> None:
    """Rewrite a llama.cpp request (in place) so that its answer is one of its tools' calls."""
    functions = _functions(out)
    options = [_option(f) for f in functions]
    schema = options[0] if len(options) == 1 else {"anyOf": options}
    out["response_format"] = {"type": "json_object", "schema": schema}
    out.pop("tool_choice", None)  # a named or "required" choice would replace the grammar
    messages = out.get("messages")
    if not isinstance(messages, list):
        return
    first = messages[0] if messages else None
    if isinstance(first, dict) and first.get("role") == "system":  # some templates take one
        content = first.get("content")
        text = content if isinstance(content, str) else ""
        joined = {**first, "content": f"{_hint(functions)}\n\n{text}".rstrip()}
        out["messages"] = [joined, *messages[1:]]
    else:
        out["messages"] = [{"role": "system", "content": _hint(functions)}, *messages]


def _call(text: str) -> dict[str, Any] | None:
    """The tool call in the model's JSON, or None when the text is not one (cut short)."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    arguments = data.get("arguments")
    return {
        "id": f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {
            "name": data["name"],
            "arguments": orjson.dumps(arguments if isinstance(arguments, dict) else {}).decode(),
        },
    }


def as_tool_call(data: dict[str, Any]) -> dict[str, Any]:
    """A whole answer whose text is the forced JSON, as the tool call it stands for."""
    for choice in data.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        call = _call(content) if isinstance(content, str) else None
        if message is None or call is None:
            continue  # cut short by max_tokens: the text stays, finish_reason says length
        message["content"] = None
        message["tool_calls"] = [call]
        choice["finish_reason"] = "tool_calls"
    return data


class ForcedStream:
    """One stream of a forced call: its text held back, then sent as the tool call."""

    __slots__ = ("_text",)

    def __init__(self) -> None:
        self._text: list[str] = []

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        """The chunks to pass on for one upstream chunk (none while the call is being written)."""
        choices = chunk.get("choices")
        if not choices:
            return [chunk]  # a usage chunk
        choice = choices[0]
        delta = choice.get("delta") or {}
        content = delta.pop("content", None)
        if isinstance(content, str):
            self._text.append(content)
        finish = choice.get("finish_reason")
        if finish is None:
            return [chunk] if delta else []  # the role chunk goes on; text is held
        call = _call("".join(self._text))
        if call is None:  # cut short: the text as it is, and the server's reason
            delta["content"] = "".join(self._text)
            return [chunk]
        head = {**chunk, "choices": [{**choice, "delta": {"tool_calls": [{"index": 0, **call}]}}]}
        head["choices"][0]["finish_reason"] = None
        choice["delta"], choice["finish_reason"] = {}, "tool_calls"
        return [head, chunk]
