"""Relaying a chat stream to the client: restore masked entities, track usage, end cleanly."""

from __future__ import annotations

import time
from typing import Any

from parity.errors import ParityError
from parity.gateway.asgi import Send
from parity.gateway.protocol import SSE_DONE, sse_data
from parity.providers.base import Usage, usage_from

__all__ = ["StreamRelay"]


class StreamRelay:
    """Sends chunks as they come and remembers what the ledger needs to know about them."""

    def __init__(self, send: Send, *, model: str, include_usage: bool, restorer: Any = None):
        self._send = send
        self._model = model
        self._include_usage = include_usage
        self._restorer = restorer  # a ChatStreamRestorer when entities were masked
        self.text: list[str] = []
        self.usage: Usage | None = None
        self.content_chunks = 0
        self._last_id: str | None = None

    async def _emit(self, obj: Any) -> None:
        await self._send({"type": "http.response.body", "body": sse_data(obj), "more_body": True})

    async def forward(self, chunk: dict[str, Any]) -> None:
        """Send one upstream chunk (a usage-only chunk only when the client asked for usage)."""
        if self._restorer is not None:
            chunk = self._restorer.restore_chunk(chunk)
        self._last_id = chunk.get("id", self._last_id)
        reported = usage_from(chunk.get("usage"))
        if reported is not None:
            self.usage = reported
        choices = chunk.get("choices")
        if choices:
            content = (choices[0].get("delta") or {}).get("content")
            if isinstance(content, str) and content:
                self.text.append(content)
                self.content_chunks += 1
        if choices or self._include_usage:
            await self._emit(chunk)

    async def flush_restorer(self) -> None:
        """Send text the restorer held back in case it began a placeholder."""
        if self._restorer is None:
            return
        for index, held in self._restorer.flush().items():
            self.text.append(held)
            await self._emit({"choices": [{"index": index, "delta": {"content": held}}]})

    async def fail(self, error: ParityError) -> None:
        """The status line is gone: say it in-band, as OpenAI does."""
        await self._emit(error.body())

    async def close(self, estimated_prompt_tokens: int) -> Usage:
        """End the stream; returns the usage, estimated when the upstream reported none.

        When the client asked for usage and the upstream gave none (llama.cpp's server does
        not), Parity sends the final usage chunk itself, marked ``"estimated": true``: output
        tokens are the content chunks (one token each from llama.cpp), input tokens ~4 chars each.
        """
        usage = self.usage
        if usage is None:
            usage = Usage(estimated_prompt_tokens, self.content_chunks, estimated=True)
            if self._include_usage:
                await self._emit(
                    {
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
                )
        await self._send({"type": "http.response.body", "body": SSE_DONE, "more_body": False})
        return usage
