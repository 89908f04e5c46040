"""Where the chaos upstream's answers come from before faults touch them: itself, or a real API.

``EchoSource`` answers in OpenAI's chat-completions format, echoing the last user message with
usage counted the way OpenAI counts it roughly (about four characters a token, plus a few tokens
per message). ``ProxySource`` forwards the request to a real OpenAI-compatible upstream.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson

__all__ = ["Answer", "EchoSource", "ProxySource", "Source", "sse_block"]

_JSON = "application/json"
_SSE = "text/event-stream"
_FORWARDED = ("authorization", "api-key", "openai-organization", "openai-project")


def sse_block(obj: Any) -> bytes:
    """One server-sent event carrying ``obj`` as JSON."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"


async def _replay(blocks: list[bytes]) -> AsyncGenerator[bytes, None]:
    for block in blocks:
        yield block


@dataclass(slots=True)
class Answer:
    """What the upstream would send, before any fault: a body, or SSE events one by one."""

    status: int
    content_type: str
    body: bytes = b""
    events: AsyncGenerator[bytes, None] | None = None  # one whole event each, blank line too
    retry_after: str | None = None


class Source(Protocol):
    """Produces clean answers for the chaos upstream to deliver (or spoil)."""

    async def answer(
        self, raw: bytes, body: dict[str, Any], stream: bool, headers: Mapping[str, str]
    ) -> Answer:
        """The answer to one chat-completions request."""
        ...

    async def models(self) -> Answer:
        """The answer to GET /v1/models."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def count_tokens(text: str) -> int:
    """About four characters a token."""
    return (len(text) + 3) // 4


class EchoSource:
    """Answers by itself: ``Echo: <last user message>``, streamed word by word when asked."""

    def __init__(self, model: str = "chaos-echo"):
        self._model = model

    def _reply(self, body: dict[str, Any]) -> tuple[str, str, int, int]:
        messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
        users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        text = f"Echo: {users[-1] if users else ''}"
        finish = "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and limit > 0 and count_tokens(text) > limit:
            text, finish = text[: limit * 4], "length"
        prompt = 3 + sum(4 + count_tokens(_text(m.get("content"))) for m in messages)
        return text, finish, prompt, count_tokens(text)

    async def answer(
        self, raw: bytes, body: dict[str, Any], stream: bool, headers: Mapping[str, str]
    ) -> Answer:
        """An echo completion, or its chunks with a usage chunk when the client asked."""
        text, finish, prompt, completion = self._reply(body)
        model = str(body.get("model") or self._model)
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time())}
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if not stream:
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            data = {**base, "object": "chat.completion", "model": model, "choices": [choice]}
            return Answer(200, _JSON, orjson.dumps({**data, "usage": usage}))
        chunk = {**base, "object": "chat.completion.chunk", "model": model}

        def delta(part: dict[str, Any], reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": part, "finish_reason": reason, "logprobs": None}
            return sse_block({**chunk, "choices": [choice]})

        words = text.split(" ")
        blocks = [delta({"role": "assistant", "content": ""})]
        blocks += [delta({"content": w if i == 0 else " " + w}) for i, w in enumerate(words)]
        blocks.append(delta({}, finish))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            blocks.append(sse_block({**chunk, "choices": [], "usage": usage}))
        blocks.append(b"data: [DONE]\n\n")
        return Answer(200, _SSE, events=_replay(blocks))

    async def models(self) -> Answer:
        """One model, the echo."""
        entry = {"id": self._model, "object": "model", "created": 0, "owned_by": "parity-chaos"}
        return Answer(200, _JSON, orjson.dumps({"object": "list", "data": [entry]}))

    async def close(self) -> None:
        """Nothing to release."""


async def _events(response: aiohttp.ClientResponse) -> AsyncGenerator[bytes, None]:
    """The upstream's event stream, one whole event (lines up to a blank line) at a time."""
    try:
        block = b""
        async for line in response.content:
            block += line
            if line in (b"\n", b"\r\n"):
                yield block
                block = b""
        if block:
            yield block
    finally:
        response.release()


class ProxySource:
    """Forwards to a real OpenAI-compatible upstream (its base URL ends in /v1)."""

    def __init__(self, upstream: str, timeout_s: float = 600.0):
        self._base = upstream.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, auto_decompress=True)
        return self._session

    async def answer(
        self, raw: bytes, body: dict[str, Any], stream: bool, headers: Mapping[str, str]
    ) -> Answer:
        """The upstream's answer; its own errors are passed through unchanged."""
        sent = {"content-type": _JSON}
        sent.update({k: v for k, v in headers.items() if k.lower() in _FORWARDED})
        response = await self._client().post(
            f"{self._base}/chat/completions", data=raw, headers=sent
        )
        kind = response.headers.get("content-type", _JSON).split(";")[0].strip()
        if response.status >= 400 or kind != _SSE:
            payload = await response.read()
            response.release()
            return Answer(
                response.status, kind, payload, retry_after=response.headers.get("retry-after")
            )
        return Answer(response.status, _SSE, events=_events(response))

    async def models(self) -> Answer:
        """The upstream's model list."""
        async with self._client().get(f"{self._base}/models") as response:
            kind = response.headers.get("content-type", _JSON).split(";")[0].strip()
            return Answer(response.status, kind, await response.read())

    async def close(self) -> None:
        """Close the upstream connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None
