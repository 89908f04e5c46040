"""Whole responses of the gateway: one place builds the headers and the error bodies.

Every path answers with ``x-parity-request-id`` and ``x-parity-model`` (``none`` when no
deployment is named). An error's body is OpenAI's shape unless a front door speaks another wire
(the Anthropic Messages door passes its own ``render``); its status and extra headers
(``retry-after``, ``allow``, ``connection: close``) come from the error itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from parity.errors import ParityError, http_status
from parity.gateway.asgi import ClientGone, Headers, Send, send_bytes

__all__ = ["JSON", "ErrorRender", "answer", "error_bytes", "ids", "send_error", "send_json"]

log = logging.getLogger("parity.gateway")

JSON = (b"content-type", b"application/json")

ErrorRender = Callable[[ParityError], bytes]


def error_bytes(error: ParityError) -> bytes:
    """The OpenAI-style JSON error body."""
    return orjson.dumps(error.body())


def ids(request_id: str, model: str = "none") -> Headers:
    """The x-parity-request-id and x-parity-model headers."""
    return [(b"x-parity-request-id", request_id.encode()), (b"x-parity-model", model.encode())]


async def send_json(
    send: Send, status: int, body: bytes, request_id: str, *, model: str = "none"
) -> None:
    """A JSON response with the gateway's headers."""
    await send_bytes(send, status, [JSON, *ids(request_id, model)], body)


async def send_error(
    send: Send,
    error: ParityError,
    request_id: str,
    *,
    model: str = "none",
    extra: Headers | None = None,
    render: ErrorRender = error_bytes,
) -> None:
    """The error as a whole response: its status, its headers, its body in the door's shape."""
    headers: Headers = [JSON, *ids(request_id, model), *(extra or []), *error.headers()]
    await send_bytes(send, http_status(error), headers, render(error))


async def answer(
    send: Send,
    request_id: str,
    work: Awaitable[tuple[int, Any]],
    *,
    render: ErrorRender = error_bytes,
) -> None:
    """Run a small JSON endpoint's ``work`` -> (status, object) and send it, or its error.

    A client that left is not answered; an unexpected exception is logged and answered with a
    500 that names only its class, never a traceback or a server path.
    """
    try:
        status, body = await work
    except ClientGone:
        return
    except ParityError as exc:
        await send_error(send, exc, request_id, render=render)
        return
    except Exception as exc:
        log.exception("request %s failed", request_id)
        error = ParityError(f"internal error: {type(exc).__name__}")
        await send_error(send, error, request_id, render=render)
        return
    await send_json(send, status, orjson.dumps(body), request_id)
