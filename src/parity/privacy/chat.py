"""Where the user's words are in an OpenAI chat request body."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ChatText", "chat_texts"]

Path = tuple[str | int, ...]


@dataclass(slots=True, frozen=True)
class ChatText:
    """One piece of text in a request body and the keys that lead to it."""

    path: Path
    text: str


def chat_texts(body: Mapping[str, Any]) -> list[ChatText]:
    """Every text the model would read: message contents (string or text parts), tool-call
    arguments, legacy ``function_call`` arguments, tool results, and a legacy ``prompt``.

    Shapes that are not text (image or audio parts) are skipped: they cannot be scanned here.
    Malformed pieces are skipped too; validating the body is the gateway's job.
    """
    found: list[ChatText] = []
    messages = body.get("messages")
    if isinstance(messages, list):
        for index, message in enumerate(messages):
            if isinstance(message, Mapping):
                found.extend(_message_texts(("messages", index), message))
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        found.append(ChatText(("prompt",), prompt))
    elif isinstance(prompt, list):
        found.extend(ChatText(("prompt", i), p) for i, p in enumerate(prompt) if isinstance(p, str))
    return found


def _message_texts(base: Path, message: Mapping[str, Any]) -> Iterator[ChatText]:
    yield from _content_texts((*base, "content"), message.get("content"))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for index, call in enumerate(calls):
            function = call.get("function") if isinstance(call, Mapping) else None
            arguments = function.get("arguments") if isinstance(function, Mapping) else None
            if isinstance(arguments, str):
                yield ChatText((*base, "tool_calls", index, "function", "arguments"), arguments)
    legacy = message.get("function_call")
    if isinstance(legacy, Mapping) and isinstance(legacy.get("arguments"), str):
        yield ChatText((*base, "function_call", "arguments"), legacy["arguments"])


def _content_texts(base: Path, content: Any) -> Iterator[ChatText]:
    if isinstance(content, str):
        yield ChatText(base, content)
    elif isinstance(content, list):
        for index, part in enumerate(content):
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                yield ChatText((*base, index, "text"), part["text"])
            elif isinstance(part, str):
                yield ChatText((*base, index), part)
