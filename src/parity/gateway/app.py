"""The gateway as one raw ASGI application: a dict of routes, no middleware on the hot path.

Starlette-style frameworks cost tens of microseconds per request in routing and middleware;
the benchmark targets (docs/benchmarks.md) leave no room for that, so the API paths are
dispatched here directly. Every response carries x-parity-request-id and x-parity-model.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping

import orjson

from parity.config import Settings
from parity.errors import MethodNotAllowed, NotFound, ParityError
from parity.gateway.asgi import Receive, Scope, Send, send_bytes
from parity.gateway.protocol import error_bytes
from parity.gateway.routes.chat import ChatRoute
from parity.gateway.routes.health import readiness
from parity.gateway.routes.models import models_body
from parity.gateway.runtime import Runtime
from parity.store.base import Ledger

__all__ = ["Gateway", "RequestIds"]

log = logging.getLogger("parity.gateway")

Handler = Callable[[Scope, Receive, Send, str, float], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_JSON = (b"content-type", b"application/json")
_NO_MODEL = (b"x-parity-model", b"none")


class RequestIds:
    """Unique request ids without a system call each: a random per-process prefix + a counter.

    ``secrets.token_hex`` per request cost ~9% of the gateway's CPU under load (os.urandom).
    """

    def __init__(self) -> None:
        self._prefix = "req_" + secrets.token_hex(6)
        self._counter = itertools.count(1)

    def next(self) -> str:
        """The next id, e.g. req_3f9a1c2b7d4e000000012a."""
        return f"{self._prefix}{next(self._counter):012x}"


class Gateway:
    """ASGI app: POST /v1/chat/completions, GET /v1/models, /healthz, /readyz."""

    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str] | None = None,
        *,
        ledger: Ledger | None = None,
    ):
        self.runtime = Runtime(settings, os.environ if env is None else env, ledger)
        self.startup_error: BaseException | None = None
        self._models_body = b""
        chat = ChatRoute(self.runtime)
        self._mounts: list[tuple[str, ASGIApp]] = []
        self._ids = RequestIds()
        self._routes: dict[str, dict[str, Handler]] = {
            "/v1/chat/completions": {"POST": chat},
            "/chat/completions": {"POST": chat},
            "/v1/models": {"GET": self._models},
            "/healthz": {"GET": self._healthz},
            "/readyz": {"GET": self._readyz},
        }

    def mount(self, prefix: str, app: ASGIApp) -> None:
        """Serve another ASGI app (the dashboard) under ``prefix``; the API paths come first."""
        self._mounts.append((prefix.rstrip("/"), app))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = self._ids.next()
        methods = self._routes.get(scope["path"])
        if methods is None:
            for prefix, app in self._mounts:
                if scope["path"] == prefix or scope["path"].startswith(prefix + "/"):
                    await app(scope, receive, send)
                    return
            error: ParityError = NotFound(f"no route for {scope['method']} {scope['path']}")
            await self._error(send, error, request_id)
            return
        handler = methods.get(scope["method"])
        if handler is None:
            allowed = ", ".join(methods)
            error = MethodNotAllowed(
                f"{scope['method']} is not allowed on {scope['path']}; use {allowed}"
            )
            await self._error(send, error, request_id)
            return
        await handler(scope, receive, send, request_id, started)

    async def _error(self, send: Send, error: ParityError, request_id: str) -> None:
        headers = [_JSON, (b"x-parity-request-id", request_id.encode()), _NO_MODEL]
        await send_bytes(send, error.status, headers + error.headers(), error_bytes(error))

    async def _json(self, send: Send, status: int, body: bytes, request_id: str) -> None:
        headers = [_JSON, (b"x-parity-request-id", request_id.encode()), _NO_MODEL]
        await send_bytes(send, status, headers, body)

    async def _models(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        await self._json(send, 200, self._models_body, request_id)

    async def _healthz(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        await self._json(send, 200, b'{"status":"ok"}', request_id)

    async def _readyz(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        status, body = readiness(self.runtime)
        await self._json(send, status, orjson.dumps(body), request_id)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.runtime.start()
                    self._models_body = models_body(self.runtime)
                except BaseException as exc:
                    self.startup_error = exc
                    log.error("start-up failed: %s", exc)
                    await self.runtime.stop()
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.runtime.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return
