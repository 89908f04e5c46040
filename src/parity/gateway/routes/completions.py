"""POST /v1/completions: OpenAI's legacy text completions, a door of the serving core.

The door turns the request into a chat body with the prompt as one user message and the answer
back into a ``text_completion``, or its chunks as ``data:`` events ending with ``data: [DONE]``
(gateway/completions). Routing, limits, budgets, guards and the ledger row are the serving core's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import ParityError
from parity.gateway.completions.wire import (
    completion_chunk,
    completion_object,
    new_completion_id,
    parse_completions,
    usage_object,
)
from parity.gateway.protocol import SSE_DONE, sse_data
from parity.gateway.serving.exchange import Exchange
from parity.gateway.serving.replies import error_bytes
from parity.providers.base import Completion, Usage, usage_from

__all__ = ["COMPLETIONS_PATH", "CompletionsDoor"]

COMPLETIONS_PATH = "/v1/completions"


@dataclass(slots=True)
class _CompletionTurn:
    body: dict[str, Any]
    model: str
    stream: bool
    include_usage: bool
    completion_id: str = field(default_factory=new_completion_id)
    created: int = field(default_factory=lambda: int(time.time()))

    async def answer(self, ex: Exchange, deployment: Deployment, completion: Completion) -> bytes:
        ex.notes["completion_id"] = self.completion_id
        usage = completion.body.get("usage")
        if not isinstance(usage, dict):
            usage = None
            if ex.row.input_tokens is not None:  # the ledger's count, when the upstream gave none
                counted = ex.row.input_tokens, ex.row.output_tokens or 0
                usage = usage_object(*counted, estimated=True)
        answer = completion_object(
            completion.body,
            completion_id=self.completion_id,
            model=deployment.id,
            created=self.created,
            usage=usage,
        )
        return orjson.dumps(answer)

    def frames(self, ex: Exchange, deployment: Deployment) -> _CompletionFrames:
        ex.notes["completion_id"] = self.completion_id
        return _CompletionFrames(self, deployment.id)


class _CompletionFrames:
    """``text_completion`` chunks; the usage chunk last, only when the client asked for it."""

    def __init__(self, turn: _CompletionTurn, model: str):
        self._turn = turn
        self._model = model
        self._usage_sent = False
        self._failed = False

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self._turn.completion_id,
            "object": "text_completion",
            "created": self._turn.created,
            "model": self._model,
            "choices": choices,
        }
        if usage is not None:
            chunk["usage"] = usage
        return sse_data(chunk)

    def start(self) -> bytes:
        return b""

    def chunk(self, chunk: dict[str, Any]) -> bytes:
        turn = self._turn
        text = completion_chunk(
            chunk, completion_id=turn.completion_id, model=self._model, created=turn.created
        )
        out = b"" if text is None else sse_data(text)
        usage = chunk.get("usage")
        if turn.include_usage and not self._usage_sent and usage_from(usage) is not None:
            self._usage_sent = True  # the upstream's own counts, as it sent them
            out += self._chunk([], usage)
        return out

    def fail(self, error: ParityError) -> bytes:
        """In-band, as OpenAI does; nothing but ``[DONE]`` follows."""
        self._failed = True
        return sse_data(error.body())

    async def end(self, usage: Usage) -> bytes:
        """The usage chunk (Parity's count when the upstream sent none), then ``[DONE]``."""
        if self._failed or self._usage_sent or not self._turn.include_usage:
            return SSE_DONE
        counts = usage.input_tokens, usage.output_tokens
        return self._chunk([], usage_object(*counts, estimated=usage.estimated)) + SSE_DONE


class CompletionsDoor:
    """The legacy completions door; stateless, one per gateway."""

    name = "completions"
    conform = True  # OpenAI's fields, refused or dropped as on the chat door

    @staticmethod
    def render_error(error: ParityError) -> bytes:
        """OpenAI's error body."""
        return error_bytes(error)

    async def open(self, raw: bytes, ex: Exchange) -> _CompletionTurn:
        """Validate the body and build its chat body."""
        call = parse_completions(raw)
        return _CompletionTurn(call.body, call.model, call.stream, call.include_usage)
