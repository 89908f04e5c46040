"""The response cache's hit and miss paths, and tracing on against off, through real gateways.

    .venv/bin/python bench/cache_overhead.py [--requests 400] [--seconds 8] [--concurrency 16]
        [--redis redis://127.0.0.1:6379/0] [--out bench/results/cache_overhead.json]

Starts one ``parity serve`` per configuration against one instant OpenAI-compatible mock
upstream on a thread of this process (which also takes OTLP/HTTP spans and throws them away):
no cache and no tracing (the baseline); the cache on the ledger's SQLite, every request a hit;
the same, every request a miss (a new prompt each time, so each answer is also written); both
again on Redis; and tracing on. Part 1 sends sequential requests to every gateway in turn, so
that noise from other work on the machine hits all alike, and reports p50/p99 and the p50 added
to the baseline's. Part 2 gives each gateway ``--concurrency`` clients for ``--seconds`` and
reports requests per second. Both parts print a table; the JSON goes to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import redis
import yaml
from aiohttp import web

_ANSWER = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 0,
    "model": "mock",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
}


def _upstream() -> int:
    """The mock upstream and a span sink on a thread of this process; returns its port."""

    async def chat(_: web.Request) -> web.Response:
        return web.json_response(_ANSWER)

    async def spans(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=b"", content_type="application/x-protobuf")

    ready: list[int] = []

    def serve() -> None:
        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_post("/v1/traces", spans)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        ready.append(runner.addresses[0][1])
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    while not ready:
        time.sleep(0.01)
    return ready[0]


def _configs(port: int, redis_url: str, prefix: str) -> dict[str, tuple[dict[str, Any], bool]]:
    """Name -> (config sections, whether every request repeats one prompt)."""
    on = {"routes": {"mock": {"ttl_s": 3600}}}
    on_redis = {**on, "backend": "redis", "redis_url": redis_url, "redis_prefix": prefix}
    traced = {"enabled": True, "endpoint": f"http://127.0.0.1:{port}/v1/traces"}
    return {
        "baseline: no cache, no tracing": ({}, False),
        "cache hit, SQLite": ({"cache": on}, True),
        "cache miss, SQLite": ({"cache": on}, False),
        "cache hit, Redis": ({"cache": on_redis}, True),
        "cache miss, Redis": ({"cache": on_redis}, False),
        "tracing on (OTLP/HTTP)": ({"tracing": traced}, False),
    }


def _start(work: Path, upstream: int, extra: dict[str, Any]) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = {
        "server": {"port": port},
        "ledger": {"url": f"sqlite:///{work / secrets.token_hex(3)}.db"},
        "models": [
            {
                "id": "mock",
                "provider": "openai",
                "base_url": f"http://127.0.0.1:{upstream}/v1",
                "residency": "on_prem",
                "price": {"input": 1.0, "output": 2.0},
            }
        ],
        **extra,
    }
    path = work / f"{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "parity", "serve", "--config", str(path)]
    proc = subprocess.Popen(
        [*command, "--log-level", "warning"],
        env={**os.environ, "NO_PROXY": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the gateway with {extra} did not start")


def _body(repeat: bool, i: int) -> dict[str, Any]:
    text = "hello" if repeat else f"hello {i} {secrets.token_hex(4)}"
    return {"model": "mock", "messages": [{"role": "user", "content": text}], "max_tokens": 16}


def _summary(samples_us: list[float]) -> dict[str, float]:
    ordered = sorted(samples_us)
    return {
        "p50_us": ordered[len(ordered) // 2],
        "p99_us": ordered[int(len(ordered) * 0.99) - 1],
        "mean_us": statistics.fmean(ordered),
    }


def _latency(
    gateways: dict[str, tuple[str, bool]], n: int, warmup: int = 50
) -> dict[str, dict[str, float]]:
    """Sequential requests to every gateway in turn."""
    samples: dict[str, list[float]] = {name: [] for name in gateways}
    clients = {
        name: httpx.Client(base_url=base, trust_env=False) for name, (base, _) in gateways.items()
    }
    try:
        for i in range(n + warmup):
            for name, client in clients.items():
                body = _body(gateways[name][1], i)
                began = time.perf_counter()
                response = client.post("/v1/chat/completions", json=body)
                if i >= warmup:
                    samples[name].append((time.perf_counter() - began) * 1e6)
                assert response.status_code == 200, response.text
                if i == warmup and gateways[name][1]:
                    assert response.headers.get("x-parity-cache") == "hit", name
    finally:
        for client in clients.values():
            client.close()
    return {name: _summary(values) for name, values in samples.items()}


async def _throughput(base: str, repeat: bool, seconds: float, concurrency: int) -> float:
    """Requests per second from ``concurrency`` clients on keep-alive connections."""
    done = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=connector) as session:

        async def client(index: int) -> None:
            nonlocal done
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                async with session.post("/v1/chat/completions", json=_body(repeat, i)) as r:
                    await r.read()
                    assert r.status == 200
                done += 1

        began = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(concurrency)))
        return done / (time.perf_counter() - began)


def _table(latency: dict[str, dict[str, float]], rps: dict[str, float]) -> str:
    base = latency["baseline: no cache, no tracing"]["p50_us"]
    lines = [
        "| configuration | p50 ms | p99 ms | p50 added vs baseline, ms | req/s |",
        "|---|---|---|---|---|",
    ]
    for name, row in latency.items():
        added = (row["p50_us"] - base) / 1000
        lines.append(
            f"| {name} | {row['p50_us'] / 1000:.2f} | {row['p99_us'] / 1000:.2f} | "
            f"{added:+.2f} | {rps[name]:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400, help="sequential requests per run")
    parser.add_argument("--seconds", type=float, default=8.0, help="throughput phase per run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--out", type=Path, default=Path("bench/results/cache_overhead.json"))
    args = parser.parse_args()
    prefix = f"parity-bench-{secrets.token_hex(3)}:"
    upstream = _upstream()
    started: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    configs = _configs(upstream, args.redis, prefix)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for name, (extra, _) in configs.items():
                started[name] = _start(Path(tmp), upstream, extra)
            gateways = {name: (base, configs[name][1]) for name, (_, base) in started.items()}
            latency = _latency(gateways, args.requests)
            rps = {
                name: asyncio.run(_throughput(base, repeat, args.seconds, args.concurrency))
                for name, (base, repeat) in gateways.items()
            }
        finally:
            for proc, _ in started.values():
                proc.terminate()
                proc.wait(30)
            client = redis.Redis.from_url(args.redis)
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)
            client.close()
    print(_table(latency, rps))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"latency": latency, "requests_per_s": rps, "concurrency": args.concurrency}
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
