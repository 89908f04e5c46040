"""Anthropic's streamed events turned into OpenAI ``chat.completion.chunk`` objects.

Pure and stateful: feed it each decoded event in order. In-stream ``error`` events become typed
upstream errors from the error object's ``type`` (never from its message text).
"""

from __future__ import annotations

from typing import Any

from parity.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from parity.providers.anthropic_wire import finish_reason, openai_usage
from parity.providers.http import event_message

__all__ = ["StreamTranslator", "error_for_event"]

_SERVER_SIDE = frozenset({"overloaded_error", "api_error"})


def error_for_event(deployment: str, error: Any) -> UpstreamError:
    """The typed error for an in-stream ``error`` event's error object."""
    kind = error.get("type") if isinstance(error, dict) else None
    detail = f"upstream '{deployment}' failed mid-stream ({kind}): {event_message(error)}"
    if kind in _SERVER_SIDE:
        return UpstreamServerError(detail, deployment=deployment, code=str(kind))
    if kind == "rate_limit_error":
        return UpstreamRateLimited(detail, deployment=deployment, upstream_status=None)
    if kind == "timeout_error":
        return UpstreamTimeout(detail, deployment=deployment, code=kind)
    return UpstreamProtocolError(detail, deployment=deployment, code=str(kind))


class StreamTranslator:
    """Turns one message's events into chunks; ``finished`` once message_stop arrived.

    The role chunk for message_start is held back until the first chunk with content (or the
    finish), so an error event that comes before any content leaves the stream unstarted and
    the executor can still fall back to another deployment.
    """

    def __init__(self, deployment: str, created: int):
        self.deployment = deployment
        self.finished = False
        self._base: dict[str, Any] = {
            "id": "chatcmpl-anthropic",
            "object": "chat.completion.chunk",
            "created": created,
            "model": deployment,
        }
        self._tools: dict[int, int] = {}
        self._usage: dict[str, Any] = {}
        self._finish: str | None = None
        self._pending: dict[str, Any] | None = None

    @property
    def usage(self) -> dict[str, Any] | None:
        """OpenAI usage so far (input from message_start, output from message_delta)."""
        return openai_usage(self._usage)

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The chunks for one event (often none: ping, content_block_stop, unknown kinds)."""
        chunks = self._translate(event)
        if chunks and self._pending is not None:
            chunks.insert(0, self._pending)
            self._pending = None
        return chunks

    def _translate(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "error":
            raise error_for_event(self.deployment, event.get("error"))
        if kind == "message_start":
            return self._start(event.get("message"))
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "message_delta":
            return self._message_delta(event)
        if kind == "message_stop":
            return self._stop()
        return []

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**self._base, "choices": [choice]}

    def _start(self, message: Any) -> list[dict[str, Any]]:
        if not isinstance(message, dict):
            raise UpstreamProtocolError(
                f"upstream '{self.deployment}' sent message_start without a message",
                deployment=self.deployment,
            )
        self._base["id"] = f"chatcmpl-{message.get('id', '')}"
        if isinstance(message.get("usage"), dict):
            self._usage.update(message["usage"])
        self._pending = self._chunk({"role": "assistant", "content": ""})
        return []

    def _block_start(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        block = event.get("content_block")
        if not isinstance(block, dict):
            return []
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if block.get("type") != "tool_use":
            return []
        index = self._tools[int(event.get("index", -1))] = len(self._tools)
        call = {
            "index": index,
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta")
        kind = delta.get("type") if isinstance(delta, dict) else None
        if kind == "text_delta" and delta and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        index = self._tools.get(int(event.get("index", -1)))
        if kind == "input_json_delta" and delta and delta.get("partial_json") and index is not None:
            arguments = {"index": index, "function": {"arguments": delta["partial_json"]}}
            return [self._chunk({"tool_calls": [arguments]})]
        return []

    def _message_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        usage = event.get("usage")
        if isinstance(usage, dict):
            self._usage.update({k: v for k, v in usage.items() if v is not None})
        delta = event.get("delta")
        stop = delta.get("stop_reason") if isinstance(delta, dict) else None
        if stop is None or self._finish is not None:
            return []
        self._finish = finish_reason(stop)
        return [self._chunk({}, self._finish)]

    def _stop(self) -> list[dict[str, Any]]:
        self.finished = True
        chunks = [] if self._finish is not None else [self._chunk({}, "stop")]
        usage = self.usage
        if usage is not None:
            chunks.append({**self._base, "choices": [], "usage": usage})
        return chunks
