"""A local server that speaks OpenAI's and Anthropic's exact wire formats, errors included.

Run it with ``python -m tests.fakes.vendor_server --port 0``; it prints ``READY <port>`` once
it listens. The requested model name picks the behaviour (see ``tests/fakes/behaviour.py`` and
docs/providers.md). ``GET /_received`` lists the requests seen since ``POST /_reset``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys

from aiohttp import web

from tests.fakes.anthropic_routes import add_anthropic_routes
from tests.fakes.behaviour import FakeState
from tests.fakes.openai_routes import add_openai_routes
from tests.fakes.web_common import STATE, record_requests

__all__ = ["build_app", "main", "serve", "serve_app"]


async def _received(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].received)


async def _reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.json_response({"reset": True})


def build_app() -> web.Application:
    """The fake vendor app: both wire formats plus the /_ control endpoints."""
    app = web.Application(middlewares=[record_requests], client_max_size=64 * 1024 * 1024)
    app[STATE] = FakeState()
    add_openai_routes(app)
    add_anthropic_routes(app)
    app.router.add_get("/_received", _received)
    app.router.add_post("/_reset", _reset)
    return app


async def serve(host: str, port: int) -> None:
    """Listen until SIGTERM or SIGINT; announce the bound port on stdout."""
    await serve_app(build_app(), host, port)


async def serve_app(app: web.Application, host: str, port: int) -> None:
    """Serve ``app`` until SIGTERM or SIGINT; announce the bound port on stdout."""
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        handler_cancellation=True,
        shutdown_timeout=0.5,
    )
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    site = web.SockSite(runner, sock)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"READY {sock.getsockname()[1]}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        with contextlib.suppress(OSError):
            sock.close()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Fake OpenAI + Anthropic vendor API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
