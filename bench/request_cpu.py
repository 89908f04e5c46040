"""Parity's own CPU per request: the gateway's ASGI app driven in-process, no HTTP server.

    .venv/bin/python bench/request_cpu.py                       # answers made in-process
    .venv/bin/python bench/request_cpu.py --upstream http://127.0.0.1:18000/v1   # a real one
    .venv/bin/python bench/request_cpu.py --settle              # with gateway/heap.settle()

Runs ``--requests`` chat requests, ``--concurrency`` at a time, through ``Gateway`` with its
SQLite ledger on (a temporary file), and prints the process's CPU per request and the time the
cyclic garbage collector took, by generation. Without ``--upstream`` the one deployment's
provider answers from memory, so what is left is the gateway's own work: parsing, routing,
accounting, the ledger row and its writer thread, metrics. With it, the upstream client is
measured too (the shared harness's mock upstream answers instantly:
``../shared/bench/gateway/mock_upstream.py``). Pin it to one core (``taskset -c 1``) to compare
two revisions (``PYTHONPATH=OTHER/src``); the figure moves far less with other work on the
machine than req/s through a server does.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import orjson
import uvloop

from parity.config import Settings
from parity.gateway.app import Gateway
from parity.gateway.heap import settle
from parity.providers.base import Completion, Usage

BODY = b'{"model":"cheap","messages":[{"role":"user","content":"hi"}],"max_tokens":8}'
ANSWER = (
    b'{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"mock",'
    b'"choices":[{"index":0,"message":{"role":"assistant","content":"Hello! A mock answer."},'
    b'"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7,'
    b'"total_tokens":12}}'
)


class _GcClock:
    """Passes of the cyclic collector and their time, by generation."""

    def __init__(self) -> None:
        self.passes = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.longest = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        took = time.perf_counter() - self._began
        self.passes[info["generation"]] += 1
        self.seconds[info["generation"]] += took
        self.longest = max(self.longest, took)


def _settings(folder: Path, upstream: str | None) -> Settings:
    model = {
        "id": "cheap",
        "provider": "openai",
        "base_url": upstream or "http://127.0.0.1:9/v1",
        "upstream_model": "mock",
        "residency": "on_prem",
        "price": {"input": 0.1, "output": 0.2},
    }
    return Settings.model_validate(
        {"ledger": {"url": f"sqlite:///{folder}/ledger.db"}, "models": [model]}
    )


def _answer_in_memory(gateway: Gateway) -> None:
    """The deployment's provider answers at once, after the work a real call does on JSON."""

    async def chat(body: dict[str, Any]) -> Completion:
        orjson.dumps(body)
        data = orjson.loads(ANSWER)
        data["model"] = "cheap"
        return Completion(data, Usage(5, 7, False), "mock")

    gateway.runtime.providers["cheap"].chat = chat  # type: ignore[method-assign]


async def _lifespan(gateway: Gateway, kind: str) -> None:
    sent: list[MutableMapping[str, Any]] = []
    answered = asyncio.Event()
    messages = [{"type": f"lifespan.{kind}"}]

    async def receive() -> MutableMapping[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # never: the app returns after the one message
        return {}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        answered.set()

    task = asyncio.create_task(gateway({"type": "lifespan"}, receive, send))
    await answered.wait()
    if sent[0]["type"] != f"lifespan.{kind}.complete":
        raise SystemExit(f"lifespan {kind} failed: {sent[0]}")
    task.cancel()


async def _run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    gateway = Gateway(_settings(folder, args.upstream), {})
    await _lifespan(gateway, "startup")
    if args.upstream is None:
        _answer_in_memory(gateway)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions"}
    statuses: dict[str, int] = {}

    async def one() -> None:
        messages = [{"type": "http.request", "body": BODY, "more_body": False}]

        async def receive() -> MutableMapping[str, Any]:
            return messages.pop()

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status = str(message["status"])
                statuses[status] = statuses.get(status, 0) + 1

        await gateway({**scope, "headers": list(headers)}, receive, send)

    async def client(n: int) -> None:
        for _ in range(n):
            await one()

    each = max(1, args.requests // args.concurrency)
    await asyncio.gather(*[client(max(1, each // 20)) for _ in range(args.concurrency)])
    if args.settle:
        settle()
    clock = _GcClock()
    gc.callbacks.append(clock)
    began, wall = os.times(), time.perf_counter()
    await asyncio.gather(*[client(each) for _ in range(args.concurrency)])
    ended, wall = os.times(), time.perf_counter() - wall
    gc.callbacks.remove(clock)
    await _lifespan(gateway, "shutdown")
    n = each * args.concurrency
    cpu = (ended.user + ended.system) - (began.user + began.system)
    return {
        "requests": n,
        "statuses": statuses,
        "cpu_us_per_request": round(cpu / n * 1e6, 1),
        "wall_us_per_request": round(wall / n * 1e6, 1),
        "gc_passes": clock.passes,
        "gc_us_per_request": [round(s / n * 1e6, 2) for s in clock.seconds],
        "gc_longest_ms": round(clock.longest * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--upstream", help="base URL of an OpenAI-compatible upstream")
    parser.add_argument("--settle", action="store_true", help="gateway/heap.settle() first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parity-cpu-") as folder:
        result = uvloop.run(_run(args, Path(folder)))  # the loop parity serve runs on
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
