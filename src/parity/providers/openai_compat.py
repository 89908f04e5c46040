"""Any OpenAI-compatible chat-completions API: OpenAI, vLLM, Ollama, llama.cpp, LM Studio..."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson

from parity.catalog.deployment import Deployment, Engine
from parity.errors import ParityError, UpstreamProtocolError, UpstreamServerError
from parity.providers.base import Completion, usage_from
from parity.providers.http import (
    PoolHolder,
    event_message,
    fetch,
    loads_object,
    openai_headers,
    post,
    sse_events,
)
from parity.providers.llama_tools import ForcedStream, as_tool_call, forces_call
from parity.providers.openai_adapt import adapt_request, engine_of
from parity.providers.openai_tidy import StreamTidier, tidy_completion

__all__ = ["OpenAIProvider"]


class OpenAIProvider:
    """Speaks OpenAI's chat-completions wire format; unknown request fields pass through."""

    def __init__(self, deployment: Deployment, env: Mapping[str, str]):
        if not deployment.base_url:
            raise ValueError(f"deployment '{deployment.id}' has no base_url")
        self.deployment = deployment
        self._url = deployment.base_url.rstrip("/") + "/chat/completions"
        headers = openai_headers(deployment, env)
        self._stream_headers = {"accept": "text/event-stream"}
        self._wire_model = deployment.wire_model
        engine = engine_of(deployment)
        self._tidy = engine is not Engine.OPENAI  # OpenAI's own answers are already its shape
        self._llama = engine is Engine.LLAMA_CPP
        self._holder = PoolHolder(deployment, headers)  # in the request head, built once

    async def chat(self, body: dict[str, Any]) -> Completion:
        """One non-streaming call."""
        # OpenAI answers 400 to stream_options on a non-streamed request
        request = {**adapt_request(body, self.deployment), "model": self._wire_model}
        request["stream"] = False
        request.pop("stream_options", None)
        payload = orjson.dumps(request)
        raw = await fetch(self._holder, self.deployment.id, self._url, payload)
        data = loads_object(raw, self.deployment.id)
        choices = data.get("choices")
        if not _well_formed(choices, "message"):
            raise UpstreamProtocolError(
                f"upstream '{self.deployment.id}' answered without valid choices: {raw[:200]!r}",
                deployment=self.deployment.id,
            )
        if self._llama and forces_call(body):
            as_tool_call(data)
        if self._tidy:
            tidy_completion(data, body)
        upstream = data.get("model")
        data["model"] = self.deployment.id
        return Completion(
            body=data,
            usage=usage_from(data.get("usage")),
            upstream_model=upstream if isinstance(upstream, str) else None,
        )

    async def stream(self, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """One streaming call; asks the upstream to report usage in its last chunk."""
        sent = 0
        chunks = self._chunks(body)
        try:
            async for chunk in chunks:
                sent += 1
                yield chunk
        except UpstreamProtocolError as error:
            if not self._llama or sent:
                raise
            raise await self._why_empty(body) from error
        finally:
            await chunks.aclose()

    async def _chunks(self, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        options = body.get("stream_options")
        options = {**options, "include_usage": True} if isinstance(options, dict) else None
        request = {
            **adapt_request(body, self.deployment),
            "model": self._wire_model,
            "stream": True,
            "stream_options": options or {"include_usage": True},
        }
        payload = orjson.dumps(request)
        deployment = self.deployment.id
        finished = False
        tidier = StreamTidier(body) if self._tidy else None
        forced = ForcedStream() if self._llama and forces_call(body) else None
        async with post(self._holder, deployment, self._url, payload, self._stream_headers) as r:
            async for _event, data in sse_events(r, deployment):
                if data == b"[DONE]":  # finished only if a choice said why it stopped
                    break
                chunk = loads_object(data, deployment)
                if "error" in chunk:
                    raise UpstreamServerError(
                        f"upstream '{deployment}' failed mid-stream: "
                        + event_message(chunk["error"]),
                        deployment=deployment,
                    )
                choices = chunk.get("choices")
                if choices and not _well_formed(choices, "delta"):
                    raise UpstreamProtocolError(
                        f"upstream '{deployment}' sent a chunk with bad choices: {data[:200]!r}",
                        deployment=deployment,
                    )
                chunk["model"] = deployment
                for choice in choices or ():
                    if choice.get("finish_reason"):
                        finished = True
                for out in forced.feed(chunk) if forced is not None else (chunk,):
                    yield out if tidier is None else tidier.tidy(out)
        if not finished:
            raise UpstreamProtocolError(
                f"upstream '{deployment}' ended the stream without a finish_reason",
                deployment=deployment,
            )

    async def _why_empty(self, body: dict[str, Any]) -> ParityError:
        """Why llama.cpp's server broke a stream before its first event: its answer unstreamed.

        llama-cpp-python starts every stream with a 200 and, when the request fails inside
        (a prompt longer than the context, above all), ends it without an event and resets
        the connection. The same request unstreamed gets the typed refusal (400
        ``context_length_exceeded``) instead of a retried, breaker-counted protocol error. The
        first try may meet that reset connection in the pool, so a failed try is made again.
        """
        probe = {k: v for k, v in body.items() if k != "stream_options"}
        probe["stream"] = False
        error: ParityError | None = None
        for _ in range(2):
            try:
                await self.chat(probe)
            except ParityError as failed:
                error = failed
                if not failed.retryable:
                    break
            else:
                error = None
                break
        return error or UpstreamProtocolError(
            f"upstream '{self.deployment.id}' sent an empty stream", deployment=self.deployment.id
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._holder.close()


def _well_formed(choices: Any, part: str) -> bool:
    """Whether ``choices`` is a list of objects, each with a ``part`` object (or none).

    A 200 whose JSON parses but is not a completion (a proxy's own reply, a truncated rewrite)
    must be a typed, retryable error, not a crash further down.
    """
    if not isinstance(choices, list):
        return False
    return all(isinstance(c, dict) and isinstance(c.get(part) or {}, dict) for c in choices)
