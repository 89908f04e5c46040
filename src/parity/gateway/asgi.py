"""Minimal ASGI plumbing for the hot path: no framework, no middleware stack, no copies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from parity.errors import BodyTimeout, BodyTooLarge, InvalidField

__all__ = [
    "ClientGone",
    "Headers",
    "Receive",
    "Scope",
    "Send",
    "read_body",
    "request_headers",
    "send_bytes",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


class ClientGone(Exception):
    """The client disconnected before the request body arrived."""


def request_headers(scope: Scope) -> dict[bytes, bytes]:
    """Request headers as a dict (ASGI gives them lower-cased)."""
    return dict(scope["headers"])


async def read_body(
    receive: Receive, headers: dict[bytes, bytes], limit: int, within_s: float | None = None
) -> bytes:
    """The whole request body; BodyTooLarge as soon as it passes ``limit`` bytes.

    With ``within_s``, BodyTimeout when the whole body has not arrived within that many seconds,
    so a client that drips its body cannot hold a request open (and its memory) for ever.
    """
    if within_s is None:
        return await _read_body(receive, headers, limit)
    # A bare timer that cancels this task, not asyncio.timeout(): it costs a fraction of the
    # context manager on every request, and nearly every body is read before it could fire.
    # The timer can only run while this task waits inside the try block, so its cancellation
    # always lands there, and the finally clause disarms it before anything else awaits.
    task = asyncio.current_task()
    assert task is not None
    fired = False

    def expire() -> None:
        nonlocal fired
        fired = True
        task.cancel()

    timer = asyncio.get_running_loop().call_later(within_s, expire)
    try:
        return await _read_body(receive, headers, limit)
    except asyncio.CancelledError:
        if fired and task.uncancel() == 0:
            raise BodyTimeout(f"the request body did not arrive within {within_s:g} s") from None
        raise
    finally:
        timer.cancel()


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    declared = headers.get(b"content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError as exc:
            raise InvalidField("the content-length header is not a number") from exc
        if size > limit:
            raise BodyTooLarge(f"the request body is {size} bytes; the limit is {limit}")
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if message["type"] == "http.disconnect":
            raise ClientGone
        if len(body) > limit:
            raise BodyTooLarge(f"the request body is over the limit of {limit} bytes")
        return body
    parts = [body]
    total = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(f"the request body is over the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def send_bytes(send: Send, status: int, headers: Headers, body: bytes) -> None:
    """Send a complete response in one start and one body message."""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
