"""Shared HTTP plumbing for providers: a connection pool per deployment, upstream error typing.

Errors are typed here, where they enter, from the HTTP status and headers: never from message
text. The upstream's message is kept so the client sees why.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.errors import (
    ContextLengthExceeded,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
    UpstreamTimeout,
)
from parity.providers.transport import (
    ConnectFailed,
    ConnectTimedOut,
    Disconnected,
    Pool,
    Response,
    Target,
    TransportError,
)
from parity.tracing.context import with_trace

__all__ = [
    "CONTEXT_LENGTH",
    "PoolHolder",
    "clean_message",
    "error_for_status",
    "event_message",
    "fetch",
    "loads_object",
    "parse_retry_after",
    "post",
    "sse_events",
]


class PoolHolder:
    """One connection pool per deployment, created in the running event loop on first use."""

    def __init__(self, deployment: Deployment, headers: Mapping[str, str] | None = None):
        self._deployment = deployment
        self._headers = dict(headers or {})  # sent with every request, in each URL's head
        self._pool: Pool | None = None
        self._targets: dict[str, Target] = {}
        self.connect_timeout_s = deployment.connect_timeout_s
        self.total_timeout_s = deployment.timeout_s

    def get(self) -> Pool:
        """The pool; built once per event loop, reused by every request."""
        pool = self._pool
        if pool is None or pool.closed or pool.loop is not asyncio.get_running_loop():
            pool = self._pool = Pool(
                limit=self._deployment.max_connections,
                connect_timeout_s=self.connect_timeout_s,
                total_timeout_s=self.total_timeout_s,
            )
        return pool

    def target(self, url: str) -> Target:
        """``url`` with its request head built once."""
        target = self._targets.get(url)
        if target is None:
            try:
                target = self._targets[url] = Target(url, self._headers)
            except ValueError as exc:
                raise TransportError(str(exc)) from exc
        return target

    async def close(self) -> None:
        """Close the pool (idempotent)."""
        if self._pool is not None and not self._pool.closed:
            await self._pool.close()
        self._pool = None


def openai_headers(deployment: Deployment, env: Mapping[str, str]) -> dict[str, str]:
    """The JSON headers of an OpenAI-wire call, with the deployment's bearer key when it has one."""
    headers = {"content-type": "application/json", "accept": "application/json"}
    key = env.get(deployment.api_key_env) if deployment.api_key_env else None
    if key:
        headers["authorization"] = f"Bearer {key}"
    return headers


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from retry-after-ms, retry-after (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_TRACE = re.compile(r"(?:^|\n)\s*(File \"|Traceback \()")
"""Where a Python traceback starts inside an error message (llama_cpp.server appends one)."""

_VALIDATION = re.compile(r"^\d+ validation errors?:")
"""A pydantic request-validation failure: llama_cpp.server answers it with a 500."""

CONTEXT_LENGTH = "context_length_exceeded"
"""The ``code`` OpenAI (and llama.cpp's server) give a prompt that does not fit."""


def clean_message(message: str) -> str:
    """An upstream's message without a traceback (the server's file paths), kept short."""
    cut = _TRACE.search(message)
    return (message[: cut.start()] if cut else message).strip()[:2000] or "(no message)"


def _error_object(raw: bytes) -> dict[str, Any] | None:
    """The ``error`` object of an OpenAI-shaped error body (Anthropic's too), if there is one."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else None


def _message(raw: bytes) -> str:
    """The upstream's own error message (OpenAI or Anthropic shape), else its text.

    A traceback (with the server's file paths) is cut off: clients never see one.
    """
    return clean_message(_raw_message(raw))


def event_message(error: Any) -> str:
    """The message of an in-stream error object (or string), cleaned like any other."""
    message = error.get("message") if isinstance(error, dict) else error
    return clean_message(message if isinstance(message, str) else repr(error)[:300])


def _raw_message(raw: bytes) -> str:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw.decode("utf-8", "replace").strip()
        return text[:300] or "(empty body)"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(data.get("message"), str):
            return str(data["message"])
    return raw.decode("utf-8", "replace")[:300]


def _text_field(error: dict[str, Any] | None, name: str) -> str | None:
    value = error.get(name) if error is not None else None
    return value if isinstance(value, str) and value else None


def _bad_request(
    deployment: str, raw: bytes, message: str, detail: str
) -> UpstreamBadRequest | ContextLengthExceeded:
    """A 400: the upstream's ``param`` and ``code`` kept (structured fields, not its text)."""
    error = _error_object(raw)
    code = _text_field(error, "code")
    if code == CONTEXT_LENGTH:  # OpenAI's own answer, with the upstream's words
        return ContextLengthExceeded(message, deployment=deployment, upstream_status=400)
    param = _text_field(error, "param")
    return UpstreamBadRequest(
        detail, deployment=deployment, upstream_status=400, param=param, code=code
    )


def error_for_status(
    deployment: str, status: int, raw: bytes, headers: Mapping[str, str]
) -> UpstreamError | ContextLengthExceeded:
    """The typed error for an upstream HTTP error response."""
    message = _message(raw)
    detail = f"upstream '{deployment}' answered {status}: {message}"
    if status == 400:
        return _bad_request(deployment, raw, message, detail)
    if status == 429:
        return UpstreamRateLimited(
            detail, deployment=deployment, retry_after=parse_retry_after(headers)
        )
    if status in (401, 403):
        return UpstreamAuthError(
            detail + " (check the API key Parity sends for this deployment)",
            deployment=deployment,
            upstream_status=status,
        )
    # a 500 for a request it refused is not the server broken: a 400 to this client, no
    # retry, nothing toward the circuit breaker (three such requests locked everyone out)
    refused = status == 500 and _VALIDATION.match(message) is not None
    if (status == 409 or status >= 500) and not refused:
        return UpstreamServerError(detail, deployment=deployment, upstream_status=status)
    kind: type[UpstreamError] = UpstreamError
    if status == 408:
        kind = UpstreamTimeout
    elif 400 <= status < 500 or refused:
        kind = UpstreamBadRequest
    return kind(detail, deployment=deployment, upstream_status=status)


# Client-side failures, most specific first: (exception, Parity error, message template).
_FAILURES: tuple[tuple[type[BaseException], type[UpstreamError], str], ...] = (
    # a connect timeout never reached the upstream, so it is a (retryable) connect error
    (
        ConnectTimedOut,
        UpstreamConnectError,
        "cannot connect to upstream '{name}' at {url} within {connect}s",
    ),
    (TimeoutError, UpstreamTimeout, "upstream '{name}' did not answer within {total}s"),
    (ConnectFailed, UpstreamConnectError, "cannot connect to upstream '{name}' at {url}: {exc}"),
    (Disconnected, UpstreamProtocolError, "upstream '{name}' broke the connection: {exc}"),
    (TransportError, UpstreamConnectError, "upstream '{name}' failed: {exc}"),
)


def _typed(exc: Exception, holder: PoolHolder, deployment: str, url: str) -> Exception:
    """The typed error for a client-side failure; other exceptions as they are."""
    if isinstance(exc, UpstreamError | ContextLengthExceeded):
        return exc
    for caught, error, template in _FAILURES:
        if isinstance(exc, caught):
            message = template.format(
                name=deployment,
                url=url,
                exc=exc,
                connect=holder.connect_timeout_s,
                total=holder.total_timeout_s,
            )
            typed = error(message, deployment=deployment)
            typed.__cause__ = exc
            return typed
    return exc


async def fetch(
    holder: PoolHolder,
    deployment: str,
    url: str,
    payload: bytes,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """POST and return a successful response's body; every failure is a typed upstream error.

    A plain coroutine, not a context manager: this is the hot path of every non-streamed call.
    """
    try:
        response = await holder.get().post(holder.target(url), payload, with_trace(headers))
        try:
            raw = await response.read()
        finally:
            response.close()
    except Exception as exc:
        raise _typed(exc, holder, deployment, url) from None
    if response.status >= 400:
        raise error_for_status(deployment, response.status, raw, response.headers)
    return raw


@asynccontextmanager
async def post(
    holder: PoolHolder,
    deployment: str,
    url: str,
    payload: bytes,
    headers: Mapping[str, str],
) -> AsyncIterator[Response]:
    """POST and yield a successful (streaming) response; failures become typed upstream errors."""
    try:
        response = await holder.get().post(holder.target(url), payload, with_trace(headers))
    except Exception as exc:
        raise _typed(exc, holder, deployment, url) from None
    try:
        if response.status >= 400:
            try:
                raw = await response.read()
            except Exception as exc:
                raise _typed(exc, holder, deployment, url) from None
            raise error_for_status(deployment, response.status, raw, response.headers)
        yield response
    finally:
        response.close()


async def sse_events(
    response: Response, deployment: str
) -> AsyncIterator[tuple[str | None, bytes]]:
    """Yield (event name, data) for each server-sent event; multi-line data is joined."""
    event: str | None = None
    data: list[bytes] = []
    try:
        async for raw_line in response.lines():
            line = raw_line.rstrip(b"\r\n")
            if not line:
                if data:
                    yield event, b"\n".join(data)
                event, data = None, []
                continue
            if line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if field == b"data":
                data.append(value)
            elif field == b"event":
                event = value.decode()
        if data:
            yield event, b"\n".join(data)
    except TimeoutError as exc:
        raise UpstreamTimeout(
            f"upstream '{deployment}' stalled mid-stream", deployment=deployment
        ) from exc
    except TransportError as exc:
        raise UpstreamProtocolError(
            f"upstream '{deployment}' broke the stream: {exc}", deployment=deployment
        ) from exc


def loads_object(raw: bytes, deployment: str) -> dict[str, Any]:
    """Parse a JSON object from the upstream or raise UpstreamProtocolError."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError(
            f"upstream '{deployment}' sent invalid JSON: {raw[:200]!r}", deployment=deployment
        ) from exc
    if not isinstance(data, dict):
        raise UpstreamProtocolError(
            f"upstream '{deployment}' sent JSON that is not an object", deployment=deployment
        )
    return data
