"""Chat-completion chunks turned into Anthropic's streamed events. Pure and stateful.

The order is Anthropic's: ``message_start``, then per content block ``content_block_start``,
its deltas (``text_delta``, ``input_json_delta``) and ``content_block_stop``, then
``message_delta`` (stop reason, the final input and output tokens) and ``message_stop``.
Blocks never interleave: a new block closes the one before it, as Anthropic's own streams do.
"""

from __future__ import annotations

import secrets
from typing import Any

from parity.errors import ParityError
from parity.gateway.messages.wire import STOP_REASONS, anthropic_usage, error_body

__all__ = ["MessageEvents"]

Event = dict[str, Any]


class MessageEvents:
    """Feed chat chunks in order; ``finish()`` closes the message."""

    def __init__(self, model: str, input_tokens: int = 0):
        self._model = model
        self._input_tokens = input_tokens
        self.message_id = f"msg_{secrets.token_hex(12)}"
        self._index = -1  # the open block's index; -1 when none is open
        self._open_kind: str | None = None
        self._open_tool: int | None = None  # the chat tool-call index of the open block
        self._tools_seen: set[int] = set()
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.text: list[str] = []
        self.used_tools = False

    def start(self) -> list[Event]:
        """message_start (an empty assistant message) and a ping."""
        usage = {"input_tokens": self._input_tokens, "output_tokens": 0}
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return [{"type": "message_start", "message": message}, {"type": "ping"}]

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        """The events for one chat.completion.chunk."""
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        events: list[Event] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                events += self._text(content)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    events += self._tool(call)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return events

    def _close(self) -> list[Event]:
        if self._index < 0 or self._open_kind is None:
            return []
        self._open_kind = self._open_tool = None
        return [{"type": "content_block_stop", "index": self._index}]

    def _begin(self, block: dict[str, Any]) -> list[Event]:
        events = self._close()
        self._index += 1
        self._open_kind = block["type"]
        events.append({"type": "content_block_start", "index": self._index, "content_block": block})
        return events

    def _text(self, text: str) -> list[Event]:
        events = [] if self._open_kind == "text" else self._begin({"type": "text", "text": ""})
        self.text.append(text)
        delta = {"type": "text_delta", "text": text}
        return [*events, {"type": "content_block_delta", "index": self._index, "delta": delta}]

    def _tool(self, call: dict[str, Any]) -> list[Event]:
        index = int(call.get("index", 0))
        function = call.get("function") or {}
        events: list[Event] = []
        if self._open_kind != "tool_use" or self._open_tool != index:
            if index in self._tools_seen:
                return []  # a late delta for a closed block: Anthropic blocks cannot reopen
            self._tools_seen.add(index)
            self.used_tools = True
            block = {
                "type": "tool_use",
                "id": str(call.get("id") or f"toolu_{secrets.token_hex(12)}"),
                "name": str(function.get("name") or ""),
                "input": {},
            }
            events = self._begin(block)
            self._open_tool = index
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            events.append({"type": "content_block_delta", "index": self._index, "delta": delta})
        return events

    def finish(self, usage: dict[str, Any] | None = None) -> list[Event]:
        """Close the open block, then message_delta and message_stop."""
        if usage is not None and self.usage is None:
            self.usage = usage
        reason = self.finish_reason
        if self.used_tools and reason in (None, "stop"):
            reason = "tool_calls"
        counted = anthropic_usage(self.usage)
        delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": STOP_REASONS.get(str(reason), "end_turn"),
                "stop_sequence": None,
            },
            # the whole call's counts: message_start's input_tokens was Parity's estimate,
            # made before the upstream said (the Anthropic SDK takes the final one from here)
            "usage": {
                "input_tokens": counted["input_tokens"],
                "output_tokens": counted["output_tokens"],
            },
        }
        return [*self._close(), delta, {"type": "message_stop"}]

    @staticmethod
    def fail(error: ParityError) -> list[Event]:
        """An in-band ``error`` event: the status line is gone."""
        return [error_body(error)]
