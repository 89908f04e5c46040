"""Pieces both fake wire formats share: state key, request recording, SSE, dropped connections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from tests.fakes.behaviour import Behaviour, FakeState

__all__ = [
    "STATE",
    "Handler",
    "drop_connection",
    "json_body",
    "mask_headers",
    "open_sse",
    "pause",
    "record_requests",
]

STATE = web.AppKey("state", FakeState)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "cookie"})


def _mask(value: str) -> str:
    scheme, space, secret = value.partition(" ")
    if not space:
        scheme, secret = "", value
    hidden = "***" + secret[-4:] if len(secret) > 8 else "***"
    return f"{scheme} {hidden}" if scheme else hidden


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with secrets replaced by ``***`` and their last four characters."""
    return {k.lower(): _mask(v) if k.lower() in _SECRET_HEADERS else v for k, v in headers.items()}


def json_body(raw: bytes) -> Any:
    """The parsed JSON body, or None when it is missing or malformed."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


@web.middleware
async def record_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Remember every vendor request (not the /_ control ones) for ``GET /_received``."""
    if not request.path.startswith("/_"):
        raw = await request.read()
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "headers": mask_headers(request.headers),
            "body": json_body(raw),
        }
        if raw and entry["body"] is None:
            entry["raw"] = raw.decode("utf-8", "replace")
        request.app[STATE].received.append(entry)
    return await handler(request)


async def open_sse(request: web.Request, headers: Mapping[str, str]) -> web.StreamResponse:
    """Send 200 and the event-stream headers."""
    response = web.StreamResponse(
        status=200,
        headers={
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            **headers,
        },
    )
    await response.prepare(request)
    return response


def drop_connection(request: web.Request) -> None:
    """Cut the TCP connection with no proper end, as a crashed upstream would."""
    if request.transport is not None:
        request.transport.abort()


async def pause(behaviour: Behaviour) -> None:
    """Sleep before answering for ``slow-<seconds>``."""
    if behaviour.kind == "slow" and behaviour.seconds > 0:
        await asyncio.sleep(behaviour.seconds)
