"""Anthropic's Messages API behind Parity's OpenAI chat-completions interface.

Translation lives in :mod:`parity.providers.anthropic_wire` (requests, answers) and
:mod:`parity.providers.anthropic_stream` (streamed events); this module only does the I/O.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import UpstreamProtocolError
from parity.providers.anthropic_stream import StreamTranslator, error_for_event
from parity.providers.anthropic_wire import completion_body, request_body
from parity.providers.base import Completion, usage_from
from parity.providers.http import PoolHolder, fetch, loads_object, post, sse_events

__all__ = ["ANTHROPIC_VERSION", "DEFAULT_BASE_URL", "AnthropicProvider"]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"


def messages_url(base_url: str | None) -> str:
    """``{base}/v1/messages``, accepting a base that already ends in /v1."""
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    return base + ("/messages" if base.endswith("/v1") else "/v1/messages")


class AnthropicProvider:
    """Speaks the Messages API upstream and OpenAI's chat-completions format to Parity."""

    def __init__(self, deployment: Deployment, env: Mapping[str, str]):
        self.deployment = deployment
        self._url = messages_url(deployment.base_url)
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        key = env.get(deployment.api_key_env) if deployment.api_key_env else None
        if key:
            headers["x-api-key"] = key
        self._stream_headers = {"accept": "text/event-stream"}
        self._holder = PoolHolder(deployment, headers)  # in the request head, built once

    async def chat(self, body: dict[str, Any]) -> Completion:
        """One non-streaming call."""
        deployment = self.deployment.id
        payload = orjson.dumps(request_body(body, self.deployment))
        raw = await fetch(self._holder, deployment, self._url, payload)
        data = loads_object(raw, deployment)
        if data.get("type") == "error":
            raise error_for_event(deployment, data.get("error"))
        answer = completion_body(data, deployment, int(time.time()))
        upstream = data.get("model")
        return Completion(
            body=answer,
            usage=usage_from(answer.get("usage")),
            upstream_model=upstream if isinstance(upstream, str) else None,
        )

    async def stream(self, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """One streaming call; the last chunk carries usage and no choices."""
        deployment = self.deployment.id
        payload = orjson.dumps({**request_body(body, self.deployment), "stream": True})
        translator = StreamTranslator(deployment, int(time.time()))
        async with post(self._holder, deployment, self._url, payload, self._stream_headers) as r:
            async for _event, data in sse_events(r, deployment):
                for chunk in translator.feed(loads_object(data, deployment)):
                    yield chunk
                if translator.finished:
                    break
        if not translator.finished:
            raise UpstreamProtocolError(
                f"upstream '{deployment}' ended the stream before message_stop",
                deployment=deployment,
            )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._holder.close()
