"""Any OpenAI-compatible chat-completions API: OpenAI, vLLM, Ollama, llama.cpp, LM Studio..."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import UpstreamProtocolError, UpstreamServerError
from parity.providers.base import Completion, usage_from
from parity.providers.http import SessionHolder, fetch, loads_object, post, sse_events
from parity.providers.openai_adapt import adapt_request

__all__ = ["OpenAIProvider"]


class OpenAIProvider:
    """Speaks OpenAI's chat-completions wire format; unknown request fields pass through."""

    def __init__(self, deployment: Deployment, env: Mapping[str, str]):
        if not deployment.base_url:
            raise ValueError(f"deployment '{deployment.id}' has no base_url")
        self.deployment = deployment
        self._url = deployment.base_url.rstrip("/") + "/chat/completions"
        headers = {"content-type": "application/json", "accept": "application/json"}
        key = env.get(deployment.api_key_env) if deployment.api_key_env else None
        if key:
            headers["authorization"] = f"Bearer {key}"
        self._stream_headers = {"accept": "text/event-stream"}
        self._wire_model = deployment.wire_model
        self._holder = SessionHolder(deployment, headers)  # aiohttp merges them once

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
        upstream = data.get("model")
        data["model"] = self.deployment.id
        return Completion(
            body=data,
            usage=usage_from(data.get("usage")),
            upstream_model=upstream if isinstance(upstream, str) else None,
        )

    async def stream(self, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """One streaming call; asks the upstream to report usage in its last chunk."""
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
        async with post(self._holder, deployment, self._url, payload, self._stream_headers) as r:
            async for _event, data in sse_events(r, deployment):
                if data == b"[DONE]":  # finished only if a choice said why it stopped
                    break
                chunk = loads_object(data, deployment)
                if "error" in chunk:
                    raise UpstreamServerError(
                        f"upstream '{deployment}' failed mid-stream: {chunk['error']}",
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
                yield chunk
        if not finished:
            raise UpstreamProtocolError(
                f"upstream '{deployment}' ended the stream without a finish_reason",
                deployment=deployment,
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
