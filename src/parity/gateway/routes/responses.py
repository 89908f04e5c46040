"""POST /v1/responses and GET/DELETE /v1/responses/{id}: the Responses door of the serving core.

The door turns a Responses request into the chat body every provider speaks (after the stored
conversation of ``previous_response_id``), and the answer back into a ``response`` object or the
Responses stream's events (gateway/responses). With ``store`` (the default, as at OpenAI) the
response and its conversation go into the ledger database (store/responses.py), owned by the
calling key. Routing, limits, budgets, guards and the ledger row are the serving core's.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import NotFound, ParityError, Unavailable
from parity.gateway.asgi import Receive, Scope, Send
from parity.gateway.responses.stream import ResponseEvents
from parity.gateway.responses.wire import (
    ResponsesCall,
    chat_message_for_output,
    new_id,
    output_items,
    parse_responses,
    response_object,
    response_usage,
)
from parity.gateway.runtime import Runtime
from parity.gateway.serving.exchange import Exchange
from parity.gateway.serving.replies import answer, error_bytes
from parity.gateway.sse import sse_event
from parity.providers.base import Completion, Usage
from parity.store.responses import ResponseStore, StoredResponse

__all__ = ["RESPONSES_PATH", "ResponsesDoor", "StoredResponses"]

RESPONSES_PATH = "/v1/responses"
_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")  # what ids issued here look like; others are unknown


def _store(runtime: Runtime) -> ResponseStore:
    if runtime.responses is None:
        raise Unavailable("the gateway is starting")
    return runtime.responses


def _chat_usage(usage: Usage) -> dict[str, Any] | None:
    return response_usage(
        {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens}
    )


@dataclass(slots=True)
class _ResponsesTurn:
    call: ResponsesCall
    history: list[dict[str, Any]]
    store: ResponseStore
    body: dict[str, Any]
    model: str
    stream: bool
    response_id: str = field(default_factory=lambda: new_id("resp"))
    created_at: float = field(default_factory=time.time)

    async def answer(self, ex: Exchange, deployment: Deployment, completion: Completion) -> bytes:
        choices = completion.body.get("choices") or [{}]
        choice = choices[0] if isinstance(choices[0], dict) else {}
        message = choice.get("message") or {}
        finish = choice.get("finish_reason")
        status = "incomplete" if finish in ("length", "content_filter") else "completed"
        usage = response_usage(completion.body.get("usage"))
        if usage is None and ex.row.input_tokens is not None:
            usage = _chat_usage(Usage(ex.row.input_tokens, ex.row.output_tokens or 0, True))
        response = response_object(
            self.call,
            response_id=self.response_id,
            model=deployment.id,
            created_at=self.created_at,
            status="completed",
            output=output_items(message, status),
            usage=usage,
            finish_reason=str(finish) if finish else None,
        )
        await self.keep(ex, response)
        return orjson.dumps(response)

    def frames(self, ex: Exchange, deployment: Deployment) -> _ResponseFrames:
        events = ResponseEvents(
            self.call,
            response_id=self.response_id,
            model=deployment.id,
            created_at=self.created_at,
        )
        return _ResponseFrames(self, ex, events)

    async def keep(self, ex: Exchange, response: dict[str, Any]) -> None:
        """Store the response and its conversation when the client asked to (store: true)."""
        ex.notes["response_id"] = self.response_id
        if not self.call.store:
            return
        answer = chat_message_for_output(response["output"])
        caller = ex.caller
        stored = StoredResponse(
            id=self.response_id,
            created_at=self.created_at,
            key_id=caller.key_id if caller is not None else None,
            tenant=caller.tenant if caller is not None else None,
            model=str(response["model"]),
            previous_id=self.call.previous_response_id,
            response=response,
            conversation=self.call.conversation(self.history, answer),
        )
        await asyncio.to_thread(self.store.put, stored)


class _ResponseFrames:
    """The Responses stream's named events; the last one is stored with the response."""

    def __init__(self, turn: _ResponsesTurn, ex: Exchange, events: ResponseEvents):
        self._turn = turn
        self._ex = ex
        self._events = events
        self._failed = False

    def start(self) -> bytes:
        return b"".join(sse_event(e) for e in self._events.start())

    def chunk(self, chunk: dict[str, Any]) -> bytes:
        return b"".join(sse_event(e) for e in self._events.feed(chunk))

    def fail(self, error: ParityError) -> bytes:
        """An ``error`` event and ``response.failed`` (a failed response is not stored)."""
        self._failed = True
        code = error.code or error.type
        events = self._events.fail(code, error.message, error.param)
        return b"".join(sse_event(e) for e in events)

    async def end(self, usage: Usage) -> bytes:
        if self._failed:
            return b""
        events = self._events.finish(_chat_usage(usage))
        await self._turn.keep(self._ex, events[-1]["response"])
        return b"".join(sse_event(e) for e in events)


class ResponsesDoor:
    """The Responses door; one per gateway."""

    name = "responses"
    conform = False  # its fields have other names (max_output_tokens): not checked yet

    def __init__(self, runtime: Runtime):
        self.rt = runtime

    @staticmethod
    def render_error(error: ParityError) -> bytes:
        """OpenAI's error body."""
        return error_bytes(error)

    async def open(self, raw: bytes, ex: Exchange) -> _ResponsesTurn:
        """Parse the body and replay the stored conversation it continues."""
        call = parse_responses(raw)
        store = _store(self.rt)
        history: list[dict[str, Any]] = []
        previous = call.previous_response_id
        if previous is not None:
            key_id = ex.caller.key_id if ex.caller is not None else None
            found = None
            if _ID.fullmatch(previous):
                found = await asyncio.to_thread(store.get, previous, key_id)
            if found is None:
                raise NotFound(
                    f"Previous response with id '{previous[:200]}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            history = found.conversation
            ex.notes["previous_response_id"] = previous
        body = call.build_chat(history)
        return _ResponsesTurn(call, history, store, body, call.model, call.stream)


class StoredResponses:
    """GET and DELETE /v1/responses/{id}: the calling key's stored responses."""

    def __init__(self, runtime: Runtime):
        self.rt = runtime

    async def item(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        """GET answers the stored response object; DELETE forgets it."""
        await answer(send, request_id, self._item(scope))

    async def _item(self, scope: Scope) -> tuple[int, Any]:
        caller = self.rt.auth.caller_for(dict(scope["headers"]))
        response_id = scope["path"][len(RESPONSES_PATH) + 1 :]
        store = _store(self.rt)
        missing = NotFound(
            f"Response with id '{response_id[:200]}' not found.",
            param="response_id",
            code="response_not_found",
        )
        if not _ID.fullmatch(response_id):
            raise missing
        if scope["method"] == "DELETE":
            if not await asyncio.to_thread(store.delete, response_id, caller.key_id):
                raise missing
            return 200, {"id": response_id, "object": "response.deleted", "deleted": True}
        found = await asyncio.to_thread(store.get, response_id, caller.key_id)
        if found is None:
            raise missing
        return 200, found.response
