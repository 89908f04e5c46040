"""What budgets and rate limits cost per request: the stores alone, then through the gateway.

    .venv/bin/python bench/limits_overhead.py [--n 500] [--requests 400]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]
        [--out bench/results/limits_overhead.json]

Part 1 times each store alone, sequentially: a budget hold (on the request path) and its
settlement (after the answer is sent), on SQLite and PostgreSQL; a rate-limit take and its token
correction, in-process and in Redis. Part 2 starts five ``parity serve`` processes against one
instant mock upstream (no limits; a daily budget on SQLite; on PostgreSQL; rpm+tpm in-process;
in Redis) and sends sequential requests to each in turn, so that noise from other work on the
machine hits all five alike; "added p50" is the difference to the gateway with no limits.
A scratch PostgreSQL database is created and dropped; Redis keys use a random prefix and are
deleted.
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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
import yaml
from aiohttp import web

from parity.config.security import LimitSettings
from parity.gateway.ratelimit import RateBook, Rates
from parity.store.budgets import BudgetBook, Limit, Reservation
from parity.store.factory import open_ledger

SECRET = "sk-bench-limits"
LIMITS = [Limit("key", "bench", "day", 1e9), Limit("key", "bench", "month", 1e9)]


def _summary(samples_us: list[float]) -> dict[str, float]:
    ordered = sorted(samples_us)
    return {
        "p50_us": ordered[len(ordered) // 2],
        "p99_us": ordered[int(len(ordered) * 0.99) - 1],
        "mean_us": statistics.fmean(ordered),
    }


def _time(n: int, step: Callable[[int], None]) -> dict[str, float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        step(i)
        samples.append((time.perf_counter() - started) * 1e6)
    return _summary(samples)


async def _time_async(n: int, step: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        await step(i)
        samples.append((time.perf_counter() - started) * 1e6)
    return _summary(samples)


def _budget_book(url: str, n: int) -> tuple[dict[str, float], dict[str, float]]:
    """Timings of holds (on the request path) and of settlements (after the answer)."""
    open_ledger(url).close()  # migrate
    book = BudgetBook(url, hold_ttl_s=600)
    tag = secrets.token_hex(3)
    holds: list[Reservation] = []
    try:
        book.settle(book.reserve("warm", LIMITS, 0.001), 0.0005)
        held = _time(n, lambda i: holds.append(book.reserve(f"{tag}-{i}", LIMITS, 0.001)))
        settled = _time(n, lambda i: book.settle(holds[i], 0.0005))
        return held, settled
    finally:
        book.close()


def _rate_book(settings: LimitSettings, n: int) -> dict[str, float]:
    rates = Rates("bench", rpm=10**9, tpm=10**12)

    async def run() -> dict[str, float]:
        book = RateBook(settings)
        try:

            async def step(_: int) -> None:
                await book.take(rates, 100)
                await book.adjust(rates, -90)

            await step(0)
            return await _time_async(n, step)
        finally:
            await book.close()

    return asyncio.run(run())


@contextmanager
def _scratch_postgres(admin_url: str) -> Iterator[str]:
    name = f"parity_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _clear_redis(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def _mock_upstream() -> str:
    """An instant OpenAI-compatible upstream on a thread of this process; returns /v1 URL."""
    answer = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "mock",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }

    async def chat(_: web.Request) -> web.Response:
        return web.json_response(answer)

    ready: list[int] = []

    def serve() -> None:
        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        ready.append(runner.addresses[0][1])
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    while not ready:
        time.sleep(0.01)
    return f"http://127.0.0.1:{ready[0]}/v1"


def _start_gateway(
    work: Path, upstream: str, key: dict[str, Any], extra: dict[str, Any]
) -> tuple[subprocess.Popen[bytes], str]:
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
                "base_url": upstream,
                "residency": "on_prem",
                "price": {"input": 1.0, "output": 2.0},
            }
        ],
        "keys": [{"id": "bench", "key_env": "BENCH_KEY", **key}],
        **extra,
    }
    path = work / f"{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "BENCH_KEY": SECRET, "NO_PROXY": "127.0.0.1"}
    command = [sys.executable, "-m", "parity", "serve", "--config", str(path)]
    proc = subprocess.Popen(
        [*command, "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, base


def _gateway_runs(
    work: Path, upstream: str, runs: dict[str, tuple[dict[str, Any], dict[str, Any]]], n: int
) -> dict[str, dict[str, float]]:
    """Sequential requests to every gateway in turn, so that machine noise hits all alike."""
    started = {name: _start_gateway(work, upstream, *conf) for name, conf in runs.items()}
    body = {"model": "mock", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}
    headers = {"authorization": f"Bearer {SECRET}"}
    samples: dict[str, list[float]] = {name: [] for name in runs}
    try:
        clients = {
            name: httpx.Client(base_url=base, headers=headers, trust_env=False)
            for name, (_, base) in started.items()
        }
        for i in range(n + 50):  # the first 50 rounds warm up
            for name, client in clients.items():
                began = time.perf_counter()
                response = client.post("/v1/chat/completions", json=body)
                if i >= 50:
                    samples[name].append((time.perf_counter() - began) * 1e6)
                assert response.status_code == 200, response.text
        for client in clients.values():
            client.close()
    finally:
        for proc, _ in started.values():
            proc.terminate()
            proc.wait(30)
    return {name: _summary(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="admissions per store")
    parser.add_argument("--requests", type=int, default=400, help="requests per gateway run")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--out", type=Path, default=Path("bench/results/limits_overhead.json"))
    args = parser.parse_args()
    prefix = f"parity-bench-{secrets.token_hex(3)}:"
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, _scratch_postgres(args.postgres) as pg:
        work = Path(tmp)
        for store, url in (("SQLite", f"sqlite:///{work}/book.db"), ("PostgreSQL", pg)):
            held, settled = _budget_book(url, args.n)
            results[f"budget hold, {store}"] = held
            results[f"budget settle, {store} (after the answer)"] = settled
        results["rate take+correct, in-process"] = _rate_book(LimitSettings(), args.n)
        redis_settings = LimitSettings(redis_url=args.redis, redis_prefix=prefix)
        results["rate take+correct, Redis"] = _rate_book(redis_settings, args.n)
        upstream = _mock_upstream()
        runs: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
            "gateway, no limits": ({}, {}),
            "gateway, daily budget (SQLite)": ({"daily_usd": 1e9}, {}),
            "gateway, daily budget (PostgreSQL)": ({"daily_usd": 1e9}, {"ledger": {"url": pg}}),
            "gateway, rpm+tpm (in-process)": ({"rpm": 10**9, "tpm": 10**12}, {}),
            "gateway, rpm+tpm (Redis)": (
                {"rpm": 10**9, "tpm": 10**12},
                {"limits": {"redis_url": args.redis, "redis_prefix": prefix}},
            ),
        }
        results.update(_gateway_runs(work, upstream, runs, args.requests))
    _clear_redis(args.redis, prefix)
    base = results["gateway, no limits"]["p50_us"]
    print(f"{'what':<42} {'p50 µs':>9} {'p99 µs':>9} {'mean µs':>9} {'added p50':>10}")
    for name, row in results.items():
        added = f"{row['p50_us'] - base:>10.0f}" if name.startswith("gateway") else f"{'':>10}"
        print(
            f"{name:<42} {row['p50_us']:>9.0f} {row['p99_us']:>9.0f} {row['mean_us']:>9.0f} {added}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
