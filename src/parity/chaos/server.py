"""The chaos upstream: an OpenAI-compatible server that fails on purpose, at set rates.

Routes:
- ``POST /v1/chat/completions``: answered (echo or proxied), or spoiled by a fault drawn at
  the configured rates;
- ``POST /force/<fault>/v1/chat/completions``: always that fault (``none``: never one), so a
  single process can serve deployments that each fail one way; ``<fault>@N`` makes a
  mid-stream fault strike at event N (0: before the first event);
- ``GET /v1/models`` (also under ``/force/<fault>``);
- ``GET /chaos/stats``: what was injected so far; ``POST /chaos/reset`` zeroes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from parity.chaos.faults import ChaosStats, Fault, FaultConfig, FaultPicker
from parity.chaos.inject import deliver_body, deliver_events, openai_error, reset_connection
from parity.chaos.source import Answer, Source

__all__ = ["ChaosServer", "serve"]

_ERROR_TEXT = {
    500: "The server had an error while processing your request.",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
}


class ChaosServer:
    """The aiohttp application and the state behind it: the fault draws and their counts."""

    def __init__(self, config: FaultConfig, source: Source):
        self.config = config
        self.source = source
        self.picker = FaultPicker(config)
        self.stats = ChaosStats()

    def app(self) -> web.Application:
        """The web application."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for prefix in ("", "/force/{fault}"):
            app.router.add_post(prefix + "/v1/chat/completions", self._chat)
            app.router.add_get(prefix + "/v1/models", self._models)
        app.router.add_get("/chaos/stats", self._stats)
        app.router.add_post("/chaos/reset", self._reset)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _app: web.Application) -> None:
        await self.source.close()

    def _fault(self, request: web.Request) -> tuple[Fault | None, int | None]:
        """The fault for this request and, when forced as ``KIND@N``, the event it strikes at."""
        forced = request.match_info.get("fault")
        if forced is None:
            return self.picker.pick(), None
        name, _, at = forced.partition("@")
        if name == "none":
            return None, None
        try:
            return Fault(name), int(at) if at else None
        except ValueError:
            raise web.HTTPNotFound(text=f"unknown fault '{forced}'") from None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        fault, strike = self._fault(request)
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return openai_error(400, "The request body is not valid JSON.", "invalid_request_error")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return openai_error(400, "'messages' is required.", "invalid_request_error")
        stream = body.get("stream") is True
        self.stats.count(fault, stream=stream)
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        try:
            early = await self._before_answer(request, fault, strike)
            if early is not None:
                return early
            answer = await self.source.answer(raw, body, stream, request.headers)
            return await self._deliver(request, answer, fault, strike)
        except ConnectionError:  # the client left while we were answering
            return web.Response(status=499)

    async def _before_answer(
        self, request: web.Request, fault: Fault | None, strike: int | None
    ) -> web.StreamResponse | None:
        """The response for faults that strike before any answer exists, else None."""
        if fault is Fault.TIMEOUT:
            await asyncio.sleep(self.config.hang_s)  # cancelled when the client gives up
            reset_connection(request)
            return web.Response(status=504)
        if fault is Fault.ERROR:
            status = self.picker.status()
            text = _ERROR_TEXT.get(status, "Upstream error.")
            return openai_error(status, text, "server_error")
        if fault is Fault.RATE_LIMIT:
            after = f"{self.config.retry_after_s:g}"
            return openai_error(
                429, f"Rate limit reached. Try again in {after}s.", "requests", retry_after=after
            )
        if fault is Fault.RESET and strike is None and self.picker.coin():  # half: before it all
            reset_connection(request)
            return web.Response(status=502)
        return None

    async def _deliver(
        self, request: web.Request, answer: Answer, fault: Fault | None, strike: int | None
    ) -> web.StreamResponse:
        if answer.status >= 400:  # proxy mode: the real upstream failed by itself
            self.stats.upstream_errors += 1
            headers = {"retry-after": answer.retry_after} if answer.retry_after else None
            return web.Response(
                body=answer.body,
                status=answer.status,
                content_type=answer.content_type,
                headers=headers,
            )
        if answer.events is None:
            return await deliver_body(request, answer, fault, self.picker)
        try:
            return await deliver_events(request, answer, fault, self.picker, strike)
        finally:
            await answer.events.aclose()

    async def _models(self, request: web.Request) -> web.Response:
        answer = await self.source.models()
        return web.Response(
            body=answer.body, status=answer.status, content_type=answer.content_type
        )

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(
            self.stats.as_dict(self.config), dumps=lambda o: orjson.dumps(o).decode()
        )

    async def _reset(self, _request: web.Request) -> web.Response:
        self.stats = ChaosStats()
        self.picker = FaultPicker(self.config)
        return web.json_response({"reset": True})


async def serve(
    server: ChaosServer,
    host: str,
    port: int,
    on_ready: Callable[[int], Any] | None = None,
) -> None:
    """Listen until SIGTERM or SIGINT; ``on_ready`` gets the bound port."""
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # resets are on purpose
    runner = web.AppRunner(
        server.app(),
        access_log=None,
        handle_signals=False,
        handler_cancellation=True,  # a hanging answer ends when its client gives up
        shutdown_timeout=0.5,
    )
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    await web.SockSite(runner, sock, backlog=2048).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if on_ready is not None:
        on_ready(int(sock.getsockname()[1]))
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        with contextlib.suppress(OSError):
            sock.close()
