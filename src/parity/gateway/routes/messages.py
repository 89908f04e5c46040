"""POST /v1/messages and /v1/messages/count_tokens: Anthropic's Messages API coming in.

The Anthropic SDK, and tools that honour ``ANTHROPIC_BASE_URL``, can use any deployment: the door
turns a Messages request into the chat body every provider speaks and the answer back into an
Anthropic ``message`` or its streamed events (gateway/messages). Every error, early or in the
stream, is Anthropic's error body. Routing, limits, budgets, guards and the ledger row are the
serving core's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import ParityError
from parity.gateway.asgi import Receive, Scope, Send, read_body
from parity.gateway.messages.stream import MessageEvents
from parity.gateway.messages.wire import (
    error_body,
    message_object,
    parse_count_tokens,
    parse_messages,
)
from parity.gateway.runtime import Runtime
from parity.gateway.serving.exchange import Exchange
from parity.gateway.serving.replies import answer
from parity.gateway.sse import sse_event
from parity.providers.base import Completion, Usage
from parity.providers.local_tokens import count_prompt
from parity.routing.plan import RouteRequest
from parity.routing.signals.shape import estimate_prompt_tokens

__all__ = ["COUNT_TOKENS_PATH", "MESSAGES_PATH", "CountTokens", "MessagesDoor", "anthropic_error"]

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"


def anthropic_error(error: ParityError) -> bytes:
    """Anthropic's error body, as the Anthropic SDK parses it."""
    return orjson.dumps(error_body(error))


def _usage(usage: Usage) -> dict[str, int]:
    return {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens}


@dataclass(slots=True)
class _MessagesTurn:
    body: dict[str, Any]
    model: str
    stream: bool

    async def answer(self, ex: Exchange, deployment: Deployment, completion: Completion) -> bytes:
        chat = completion.body
        if not isinstance(chat.get("usage"), dict) and ex.row.input_tokens is not None:
            counted = Usage(ex.row.input_tokens, ex.row.output_tokens or 0, True)
            chat = {**chat, "usage": _usage(counted)}  # the ledger's estimate
        message = message_object(chat, deployment.id)
        ex.notes["message_id"] = message["id"]
        return orjson.dumps(message)

    def frames(self, ex: Exchange, deployment: Deployment) -> _MessageFrames:
        events = MessageEvents(deployment.id, estimate_prompt_tokens(self.body))
        ex.notes["message_id"] = events.message_id
        return _MessageFrames(events)


class _MessageFrames:
    """Anthropic's named events; after an in-band error nothing more is sent."""

    def __init__(self, events: MessageEvents):
        self._events = events
        self._failed = False

    def start(self) -> bytes:
        return b"".join(sse_event(e) for e in self._events.start())

    def chunk(self, chunk: dict[str, Any]) -> bytes:
        return b"".join(sse_event(e) for e in self._events.feed(chunk))

    def fail(self, error: ParityError) -> bytes:
        self._failed = True
        return b"".join(sse_event(e) for e in self._events.fail(error))

    async def end(self, usage: Usage) -> bytes:
        if self._failed:
            return b""
        return b"".join(sse_event(e) for e in self._events.finish(_usage(usage)))


class MessagesDoor:
    """The Anthropic Messages door; stateless, one per gateway."""

    name = "messages"
    conform = False  # Anthropic's own fields (its clients' max_tokens is required, and theirs)

    @staticmethod
    def render_error(error: ParityError) -> bytes:
        """Anthropic's error body."""
        return anthropic_error(error)

    async def open(self, raw: bytes, ex: Exchange) -> _MessagesTurn:
        """Validate the body and build its chat body."""
        call = parse_messages(raw)
        return _MessagesTurn(call.chat, call.model, call.stream)


class CountTokens:
    """POST /v1/messages/count_tokens: the prompt's tokens, for a model it may use.

    The embedded model's tokens are counted with its own tokenizer and chat template (what its
    server will count); any other deployment's are Parity's estimate (about four characters a
    token), since only its vendor's tokenizer could say.

    The model is planned as a request would be (unknown names are 404, another key's models
    403), so a client learns nothing it could not ask; nothing is sent upstream or accounted.
    """

    def __init__(self, runtime: Runtime):
        self.rt = runtime

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        await answer(send, request_id, self._count(scope, receive), render=anthropic_error)

    async def _count(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        headers: dict[bytes, bytes] = dict(scope["headers"])
        caller = self.rt.auth.caller_for(headers)
        settings = self.rt.settings.server
        raw = await read_body(receive, headers, settings.max_body_bytes, settings.body_timeout_s)
        chat = parse_count_tokens(raw)
        plan = self.rt.router.plan(RouteRequest(str(chat["model"]), chat, caller))
        server = self.rt.local_servers.get(plan.primary)
        if server is not None:  # the embedded model's own tokenizer and chat template
            deployment = self.rt.deployments[plan.primary]
            counted = await count_prompt(server.tokenizer, chat, deployment)
            if counted is not None:
                return 200, {"input_tokens": counted}
        return 200, {"input_tokens": estimate_prompt_tokens(chat)}
