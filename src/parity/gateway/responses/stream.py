"""Chat-completion chunks turned into the Responses API's server-sent events. Pure and stateful.

The order follows OpenAI's streaming reference: ``response.created``, ``response.in_progress``,
then per output item ``response.output_item.added`` … deltas … ``response.output_item.done``,
and last ``response.completed`` (or ``response.incomplete``, or ``error`` and
``response.failed``). Every event carries a ``sequence_number`` counting from 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parity.gateway.responses.wire import (
    ResponsesCall,
    chat_message_for_output,
    new_id,
    response_object,
    response_usage,
)

__all__ = ["ResponseEvents"]

Event = dict[str, Any]


@dataclass(slots=True)
class _Item:
    """One output item being streamed: a message (text) or a function call."""

    index: int
    item: dict[str, Any]
    text: list[str] = field(default_factory=list)


class ResponseEvents:
    """Feed chat chunks in order; ``finish()`` ends the stream with the final response."""

    def __init__(self, call: ResponsesCall, *, response_id: str, model: str, created_at: float):
        self._call = call
        self.response_id = response_id
        self._model = model
        self._created_at = created_at
        self._seq = 0
        self._items: list[_Item] = []
        self._message: _Item | None = None
        self._calls: dict[int, _Item] = {}
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self.output: list[dict[str, Any]] = []

    def _event(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def _response(self, status: str, **extra: Any) -> dict[str, Any]:
        return response_object(
            self._call,
            response_id=self.response_id,
            model=self._model,
            created_at=self._created_at,
            status=status,
            output=self.output if status != "in_progress" else [],
            usage=self.usage if status != "in_progress" else None,
            finish_reason=self.finish_reason,
            **extra,
        )

    def start(self) -> list[Event]:
        """response.created and response.in_progress."""
        snapshot = self._response("in_progress")
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        """The events for one chat.completion.chunk (none for role-only or usage chunks)."""
        usage = response_usage(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
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
                    events += self._tool_delta(call)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return events

    def _text(self, text: str) -> list[Event]:
        events: list[Event] = []
        if self._message is None:
            item = {
                "id": new_id("msg"),
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
            self._message = self._open(item)
            events.append(self._added(self._message))
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events.append(self._part("response.content_part.added", self._message, part))
        message = self._message
        message.text.append(text)
        events.append(
            self._event(
                "response.output_text.delta",
                item_id=message.item["id"],
                output_index=message.index,
                content_index=0,
                delta=text,
                logprobs=[],
            )
        )
        return events

    def _tool_delta(self, call: dict[str, Any]) -> list[Event]:
        index = call.get("index", 0)
        function = call.get("function") or {}
        events: list[Event] = []
        open_call = self._calls.get(index)
        if open_call is None:
            item = {
                "id": new_id("fc"),
                "type": "function_call",
                "status": "in_progress",
                "call_id": str(call.get("id") or new_id("call")),
                "name": str(function.get("name") or ""),
                "arguments": "",
            }
            open_call = self._calls[index] = self._open(item)
            events.append(self._added(open_call))
        elif function.get("name") and not open_call.item["name"]:
            open_call.item["name"] = str(function["name"])
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            open_call.text.append(arguments)
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=open_call.item["id"],
                    output_index=open_call.index,
                    delta=arguments,
                )
            )
        return events

    def _open(self, item: dict[str, Any]) -> _Item:
        opened = _Item(len(self._items), item)
        self._items.append(opened)
        return opened

    def _added(self, opened: _Item) -> Event:
        item = {**opened.item, "content": []} if opened.item["type"] == "message" else opened.item
        return self._event("response.output_item.added", output_index=opened.index, item=item)

    def _part(self, kind: str, opened: _Item, part: dict[str, Any]) -> Event:
        return self._event(
            kind, item_id=opened.item["id"], output_index=opened.index, content_index=0, part=part
        )

    def _close(self, opened: _Item, status: str) -> list[Event]:
        item = dict(opened.item)
        events: list[Event] = []
        text = "".join(opened.text)
        if item["type"] == "message":
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            events.append(
                self._event(
                    "response.output_text.done",
                    item_id=item["id"],
                    output_index=opened.index,
                    content_index=0,
                    text=text,
                    logprobs=[],
                )
            )
            events.append(self._part("response.content_part.done", opened, part))
            item |= {"content": [part], "status": status}
        else:
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=opened.index,
                    name=item["name"],
                    arguments=text,
                )
            )
            item |= {"arguments": text, "status": "completed"}
        events.append(
            self._event("response.output_item.done", output_index=opened.index, item=item)
        )
        self.output.append(item)
        return events

    def finish(self, usage: dict[str, Any] | None = None) -> list[Event]:
        """Close every open item, then response.completed (or .incomplete)."""
        if usage is not None and self.usage is None:
            self.usage = usage
        status = "incomplete" if self.finish_reason in ("length", "content_filter") else "completed"
        events: list[Event] = []
        for opened in self._items:
            events += self._close(opened, status)
        final = self._response("completed")
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        return [*events, self._event(kind, response=final)]

    def fail(self, code: str, message: str, param: str | None = None) -> list[Event]:
        """An in-band ``error`` event and ``response.failed``: the status line is gone."""
        error = self._event("error", code=code, message=message, param=param)
        items = list(self.output)
        for opened in self._items:
            if opened.item not in items:
                self.output.append({**opened.item, "status": "incomplete"})
        failed = self._response("failed", error={"code": "server_error", "message": message})
        failed["completed_at"] = None
        return [error, self._event("response.failed", response=failed)]

    def answer_message(self) -> dict[str, Any]:
        """The chat message standing for the streamed output (for the stored conversation)."""
        return chat_message_for_output(self.output)

    @property
    def text(self) -> str:
        """All the output text so far."""
        messages = (opened for opened in self._items if opened.item["type"] == "message")
        return "".join(t for opened in messages for t in opened.text)
