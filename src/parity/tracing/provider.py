"""A provider wrapped in a span per call: every upstream attempt (retries included) is one span.

The executor calls ``chat`` or ``stream`` once per attempt, so wrapping the provider gives one
CLIENT span per attempt with no tracing code in the executor. The span is never made current
(a stream's chunks may be read by another task); its W3C ``traceparent`` is set in
``UPSTREAM_HEADERS`` only while the request goes out, and the HTTP layer sends it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from parity.providers.base import Completion, Provider, ProviderWrapper, usage_from
from parity.tracing.context import UPSTREAM_HEADERS
from parity.tracing.spans import Tracing

__all__ = ["TracedProvider"]


class TracedProvider(ProviderWrapper):
    """``inner`` with a span around each call; anything else is ``inner``'s own."""

    def __init__(self, inner: Provider, tracing: Tracing):
        super().__init__(inner)
        self._tracing = tracing

    async def chat(self, body: dict[str, Any]) -> Completion:
        span = self._tracing.attempt(self.deployment, body)
        token = UPSTREAM_HEADERS.set(self._tracing.headers(span))
        try:
            completion = await self.inner.chat(body)
        except BaseException as exc:
            self._tracing.failed(span, exc)
            span.end()
            raise
        finally:
            UPSTREAM_HEADERS.reset(token)
        self._tracing.answered(span, completion.body, completion.usage)
        span.end()
        return completion

    async def stream(self, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        span = self._tracing.attempt(self.deployment, body)
        chunks = self.inner.stream(body)
        last: dict[str, Any] = {}
        usage = None
        try:
            token = UPSTREAM_HEADERS.set(self._tracing.headers(span))
            try:  # the request goes out on the first read
                chunk = await anext(chunks, None)
            finally:
                UPSTREAM_HEADERS.reset(token)
            while chunk is not None:
                usage = usage_from(chunk.get("usage")) or usage
                _remember(last, chunk)
                yield chunk
                chunk = await anext(chunks, None)
            self._tracing.answered(span, last, usage)
        except GeneratorExit:  # the reader stopped early (a client that left, a guard's block)
            span.set_attribute("parity.stream.closed_early", True)
            raise
        except BaseException as exc:
            self._tracing.failed(span, exc)
            raise
        finally:
            await chunks.aclose()
            span.end()

    async def close(self) -> None:
        await self.inner.close()


def _remember(last: dict[str, Any], chunk: dict[str, Any]) -> None:
    """The response facts a span keeps from a stream: its id, model and finish reasons."""
    for name in ("id", "model"):
        if isinstance(chunk.get(name), str):
            last[name] = chunk[name]
    for choice in chunk.get("choices") or ():
        if isinstance(choice, dict) and choice.get("finish_reason"):
            last["choices"] = [choice]
