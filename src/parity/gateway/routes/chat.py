"""POST /v1/chat/completions: the chat door of the serving core (the wire in and out).

The body is the chat-completions body every provider speaks, so the door only validates it
and frames the answer: the upstream's completion as it is, or its chunks as ``data:`` events
ending with ``data: [DONE]``. Routing, limits, masking and the ledger are the serving core's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import ParityError
from parity.gateway.protocol import SSE_DONE, parse_chat, sse_data
from parity.gateway.serving.door import Frames
from parity.gateway.serving.exchange import Exchange
from parity.gateway.serving.replies import error_bytes
from parity.providers.base import Completion, Usage

__all__ = ["ChatDoor", "ChatFrames", "with_refusal"]


def with_refusal(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with ``message.refusal`` in every choice (null unless the model refused).

    OpenAI's ChatCompletionResponseMessage requires the field; llama.cpp and the Anthropic
    translation leave it out, and a cached answer may predate this. Changed in place.
    """
    for choice in body.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            message.setdefault("refusal", None)
    return body


@dataclass(slots=True)
class _ChatTurn:
    body: dict[str, Any]
    model: str
    stream: bool
    include_usage: bool

    async def answer(self, ex: Exchange, deployment: Deployment, completion: Completion) -> bytes:
        return orjson.dumps(with_refusal(completion.body))

    def frames(self, ex: Exchange, deployment: Deployment) -> Frames:
        return ChatFrames(model=deployment.id, include_usage=self.include_usage)


class ChatDoor:
    """The chat-completions door; stateless, one per gateway."""

    name = "chat"
    conform = True  # OpenAI's fields, refused or dropped as OpenAI would (routing/conformance)

    @staticmethod
    def render_error(error: ParityError) -> bytes:
        """OpenAI's error body."""
        return error_bytes(error)

    async def open(self, raw: bytes, ex: Exchange) -> _ChatTurn:
        """Validate the body; unknown fields are kept for the upstream."""
        call = parse_chat(raw)
        return _ChatTurn(call.body, call.model, call.stream, call.include_usage)


class ChatFrames:
    """Chunks as they come (a usage-only chunk only when the client asked for usage)."""

    def __init__(self, *, model: str, include_usage: bool):
        self._model = model
        self._include_usage = include_usage
        self._last_id: str | None = None

    def start(self) -> bytes:
        return b""

    def chunk(self, chunk: dict[str, Any]) -> bytes:
        self._last_id = chunk.get("id", self._last_id)
        if chunk.get("choices") or self._include_usage:
            return sse_data(chunk)
        return b""

    def fail(self, error: ParityError) -> bytes:
        """In-band, as OpenAI does."""
        return sse_data(error.body())

    async def end(self, usage: Usage) -> bytes:
        """``data: [DONE]``, after the usage chunk Parity counted when the upstream sent none.

        When the client asked for usage and the upstream gave none (an OpenAI-compatible
        server that ignores ``include_usage``), Parity sends the final usage chunk itself,
        marked ``"estimated": true``: output tokens are the chunks of text and tool-call
        arguments (one token each, as most servers stream), input tokens ~4 chars each. The
        embedded llama.cpp's streams are counted with its tokenizer instead
        (providers/local_tokens.py), so theirs carry real counts, unmarked.
        """
        if not (usage.estimated and self._include_usage):
            return SSE_DONE
        estimated: dict[str, Any] = {
            "id": self._last_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self._model,
            "choices": [],
            "usage": {
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": usage.input_tokens + usage.output_tokens,
                "estimated": True,
            },
        }
        return sse_data(estimated) + SSE_DONE
