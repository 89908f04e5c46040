"""Answers of OpenAI-compatible servers put into the shape OpenAI sends, chunk by chunk.

llama.cpp's server (llama-cpp-python 0.3.36) streams a tool call with its ``id``, ``type`` and
``function.name`` repeated in every delta, ``role: null``, ``tool_calls: null`` and
``function_call: null`` on the chunks around it, and a copy of each delta in the deprecated
``function_call``. Clients that accumulate deltas, as OpenAI documents, concatenate the
repeats: LangChain's ``ChatOpenAI`` called ``get_weatherget_weatherget_weather``, and the
openai SDK's stream helpers refuse ``role: null``. OpenAI sends ``id``, ``type`` and the name
once, in the first delta of each call, and leaves out what is absent.

``StreamTidier`` rewrites each chunk so (one per stream), and ``tidy_completion`` removes the
duplicate ``function_call`` from a whole answer. Both leave a conforming answer unchanged, and
the legacy ``function_call`` is kept when the request asked in the legacy ``functions``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["StreamTidier", "tidy_completion"]

_NOT_NULL = ("role", "tool_calls", "function_call")
"""Delta fields that OpenAI leaves out rather than sending as null (its schema: not nullable)."""


def _legacy(request: dict[str, Any]) -> bool:
    return request.get("functions") is not None


def tidy_completion(data: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """A ``chat.completion`` without the duplicate ``function_call`` (changed in place)."""
    if _legacy(request):
        return data
    for choice in data.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        legacy = message.get("function_call") if isinstance(message, dict) else False
        if isinstance(message, dict) and (legacy is None or message.get("tool_calls")):
            message.pop("function_call", None)
    return data


class StreamTidier:
    """One stream's chunks as OpenAI sends them (each chunk changed in place)."""

    __slots__ = ("_calls", "_legacy")

    def __init__(self, request: dict[str, Any]):
        self._legacy = _legacy(request)
        self._calls: dict[tuple[int, int], str | None] = {}  # (choice, call index) -> name

    def tidy(self, chunk: dict[str, Any]) -> dict[str, Any]:
        """``chunk`` with repeats and nulls removed and the finish reason of a tool call."""
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._delta(choice.get("index", 0), delta)
            if choice.get("finish_reason") == "stop" and self._called(choice.get("index", 0)):
                choice["finish_reason"] = "tool_calls"
        return chunk

    def _called(self, choice: int) -> bool:
        return any(key[0] == choice for key in self._calls)

    def _delta(self, choice: int, delta: dict[str, Any]) -> None:
        for name in _NOT_NULL:
            if name in delta and delta[name] is None:
                del delta[name]
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for call in calls:
                if isinstance(call, dict):
                    self._call(choice, call)
            if not self._legacy:
                delta.pop("function_call", None)  # a copy of the tool call's delta

    def _call(self, choice: int, call: dict[str, Any]) -> None:
        key = (choice, call.get("index", 0))
        function = call.get("function")
        if key not in self._calls:  # the first delta of this call keeps its id, type and name
            self._calls[key] = function.get("name") if isinstance(function, dict) else None
            call.setdefault("type", "function")
            return
        call.pop("id", None)
        call.pop("type", None)
        if isinstance(function, dict) and function.get("name") == self._calls[key]:
            del function["name"]
