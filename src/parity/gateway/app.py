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
from typing import Any

import orjson

from parity.catalog.deployment import Capability
from parity.config import Settings
from parity.errors import (
    AuthError,
    HeadersTooLarge,
    MethodNotAllowed,
    NotFound,
    ParityError,
    Unavailable,
)
from parity.gateway.asgi import Receive, Scope, Send
from parity.gateway.logs import REQUEST_ID
from parity.gateway.metrics import MetricsRoute
from parity.gateway.observe import RequestObserver
from parity.gateway.openapi import openapi_bytes
from parity.gateway.routes.admin import KEYS_PATH, AdminKeys
from parity.gateway.routes.chat import ChatDoor
from parity.gateway.routes.completions import COMPLETIONS_PATH, CompletionsDoor
from parity.gateway.routes.embeddings import EMBEDDINGS_PATH, EmbeddingsRoute
from parity.gateway.routes.feedback import FEEDBACK_PATH, FeedbackRoute
from parity.gateway.routes.health import readiness
from parity.gateway.routes.messages import (
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    CountTokens,
    MessagesDoor,
    anthropic_error,
)
from parity.gateway.routes.models import MODELS_PATH, ModelList
from parity.gateway.routes.responses import RESPONSES_PATH, ResponsesDoor, StoredResponses
from parity.gateway.runtime import Runtime
from parity.gateway.serving.core import ServingCore
from parity.gateway.serving.door import Door
from parity.gateway.serving.replies import answer, send_error, send_json
from parity.gateway.wire_limits import header_bytes
from parity.store.base import Ledger

__all__ = ["Gateway", "RequestIds"]

log = logging.getLogger("parity.gateway")

Handler = Callable[[Scope, Receive, Send, str, float], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
    """ASGI app: the front doors (chat, Responses…), the model list, /healthz, /readyz."""

    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str] | None = None,
        *,
        ledger: Ledger | None = None,
    ):
        self.runtime = Runtime(settings, os.environ if env is None else env, ledger)
        # /metrics and the access log (None: both off), built on the whole runtime.
        self.observer = RequestObserver.build(self.runtime)
        self.core = ServingCore(self.runtime, self.observer)
        self.startup_error: BaseException | None = None
        self._model_list: ModelList | None = None
        self._openapi_body = b""
        self._max_header_bytes = settings.server.max_header_bytes
        chat = self._door(ChatDoor())
        stored = StoredResponses(self.runtime)
        self._mounts: list[tuple[str, ASGIApp]] = []
        self._ids = RequestIds()
        self._routes: dict[str, dict[str, Handler]] = {
            "/v1/chat/completions": {"POST": chat},
            "/chat/completions": {"POST": chat},
            RESPONSES_PATH: {"POST": self._door(ResponsesDoor(self.runtime))},
            MESSAGES_PATH: {"POST": self._door(MessagesDoor())},
            COUNT_TOKENS_PATH: {"POST": CountTokens(self.runtime)},
            COMPLETIONS_PATH: {"POST": self._door(CompletionsDoor())},
            EMBEDDINGS_PATH: {"POST": EmbeddingsRoute(self.core)},
            MODELS_PATH: {"GET": self._models},
            FEEDBACK_PATH: {"POST": FeedbackRoute(self.runtime)},
            "/healthz": {"GET": self._healthz},
            "/readyz": {"GET": self._readyz},
            "/openapi.json": {"GET": self._openapi},
        }
        if self.observer is not None and self.observer.metrics is not None:
            self._routes["/metrics"] = {"GET": MetricsRoute(self.runtime, self.observer.metrics)}
        admin = AdminKeys(self.runtime)
        self._routes[KEYS_PATH] = {"GET": admin.collection, "POST": admin.collection}
        # (prefix, template, methods): the few paths that carry a parameter, e.g. a key's name.
        # A model id is the whole rest of the path: ids have slashes (local/smollm2).
        self._prefixed: list[tuple[str, str, dict[str, Handler]]] = [
            (MODELS_PATH + "/", MODELS_PATH + "/{model}", {"GET": self._model}),
            (KEYS_PATH + "/", KEYS_PATH + "/{name}", {"GET": admin.item, "DELETE": admin.item}),
            (
                RESPONSES_PATH + "/",
                RESPONSES_PATH + "/{response_id}",
                {"GET": stored.item, "DELETE": stored.item},
            ),
        ]

    def _door(self, door: Door) -> Handler:
        """The handler that serves ``door`` through the serving core."""

        async def handler(
            scope: Scope, receive: Receive, send: Send, request_id: str, started: float
        ) -> None:
            await self.core.serve(scope, receive, send, request_id, started, door=door)

        return handler

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
        REQUEST_ID.set(request_id)  # every log line of this request carries it
        if header_bytes(scope["headers"]) > self._max_header_bytes:
            limit = self._max_header_bytes
            too_big = HeadersTooLarge(f"the request headers are over the limit of {limit} bytes")
            await self._error(send, too_big, request_id)
            return
        methods = self._routes.get(scope["path"]) or self._with_parameter(scope["path"])
        if methods is None:
            for prefix, app in self._mounts:
                if scope["path"] == prefix or scope["path"].startswith(prefix + "/"):
                    await app(scope, receive, send)
                    return
            error: ParityError = NotFound(f"no route for {scope['method']} {scope['path']}")
            await self._error(send, error, request_id, scope["path"])
            return
        handler = methods.get(scope["method"])
        if handler is None:
            allowed = ", ".join(methods)
            error = MethodNotAllowed(
                f"{scope['method']} is not allowed on {scope['path']}; use {allowed}",
                allow=allowed,
            )
            await self._error(send, error, request_id, scope["path"])
            return
        await handler(scope, receive, send, request_id, started)

    def _with_parameter(self, path: str) -> dict[str, Handler] | None:
        for prefix, _, methods in self._prefixed:
            if path.startswith(prefix):
                return methods
        return None

    async def _error(self, send: Send, error: ParityError, request_id: str, path: str = "") -> None:
        if path == MESSAGES_PATH or path.startswith(MESSAGES_PATH + "/"):
            await send_error(send, error, request_id, render=anthropic_error)  # Anthropic's SDK
            return
        await send_error(send, error, request_id)

    async def _json(self, send: Send, status: int, body: bytes, request_id: str) -> None:
        await send_json(send, status, body, request_id)

    async def _models(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        if self._model_list is None:
            await self._error(send, Unavailable("the gateway is starting"), request_id)
            return
        try:
            caller = self.runtime.auth.caller_for(dict(scope["headers"]))
        except AuthError as exc:
            await self._error(send, exc, request_id)
            return
        await self._json(send, 200, self._model_list.body(caller), request_id)

    async def _model(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        await answer(send, request_id, self._model_item(scope))

    async def _model_item(self, scope: Scope) -> tuple[int, Any]:
        if self._model_list is None:
            raise Unavailable("the gateway is starting")
        caller = self.runtime.auth.caller_for(dict(scope["headers"]))
        return 200, self._model_list.item(caller, scope["path"][len(MODELS_PATH) + 1 :])

    async def _healthz(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        await self._json(send, 200, b'{"status":"ok"}', request_id)

    async def _readyz(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        status, body = readiness(self.runtime)
        await self._json(send, status, orjson.dumps(body), request_id)

    async def _openapi(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        await self._json(send, 200, self._openapi_body, request_id)

    def route_table(self) -> dict[str, list[str]]:
        """Every path this gateway answers (templates for parameterised ones) -> its methods."""
        table = {path: list(methods) for path, methods in self._routes.items()}
        table.update({template: list(methods) for _, template, methods in self._prefixed})
        return table

    def _build_openapi(self) -> bytes:
        listed = self.runtime.deployments
        aliases = [name for name in self.runtime.router.names if name not in listed]
        return openapi_bytes(
            self.route_table(),
            deployments=list(listed),
            aliases=aliases,
            embedders={m: d.max_inputs for m, d in listed.items() if d.can(Capability.EMBEDDINGS)},
            chatless=[m for m, d in listed.items() if not d.can(Capability.CHAT)],
            auth_required=self.runtime.auth.enabled,
        )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.runtime.start()
                    self._model_list = ModelList(self.runtime)
                    self._openapi_body = self._build_openapi()
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
