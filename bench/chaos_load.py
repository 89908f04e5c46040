"""The gateway against the chaos upstream at a given fault rate: what clients see, what is stored.

    python bench/chaos_load.py [--requests 2000] [--concurrency 32] [--fault-rate 0.2]
                               [--stream-share 0] [--seed 1]

Starts ``parity chaos`` (the faulty primary; its ``/force/none`` path serves as the healthy
fallback) and a ``parity serve`` gateway whose route ``chaos/mixed`` tries the primary (timeout
1 s, 2 tries) and then the fallback. Sends the requests with the openai SDK (client retries
off), stops the gateway cleanly, then reads its SQLite ledger. Prints a table and writes
bench/results/chaos_load.json. Streamed requests that break after their first event end with
an error event: that is by design (nothing is sent twice), and counted apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import openai
import yaml
from openai.types.chat import ChatCompletionMessageParam

# share of the fault rate that each kind gets
MIX = {
    "timeout": 0.15,
    "error": 0.20,
    "rate_limit": 0.15,
    "reset": 0.15,
    "cut_stream": 0.10,
    "drip": 0.10,
    "malformed_json": 0.10,
    "malformed_sse": 0.05,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], log: Path, ready: str) -> subprocess.Popen[bytes]:
    """Start a process and wait until ``ready`` answers 200."""
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(ready, timeout=2, trust_env=False).status_code == 200:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{ready} never answered:\n{log.read_text()[-2000:]}")


def start_chaos(tmp: Path, rate: float, seed: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    flags = [f"--{kind.replace('_', '-')}-rate={rate * share:.6f}" for kind, share in MIX.items()]
    command = [sys.executable, "-m", "parity", "chaos", "--port", str(port), "--seed", str(seed)]
    command += ["--hang-s", "30", *flags]
    url = f"http://127.0.0.1:{port}"
    return start(command, tmp / "chaos.log", f"{url}/chaos/stats"), url


def start_gateway(tmp: Path, chaos: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    ledger = tmp / "ledger.db"

    def model(name: str, base: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": name,
            "provider": "openai",
            "base_url": base,
            "upstream_model": "gpt-chaos",
            "price": {"input": 1.0, "output": 2.0},
            **extra,
        }

    config = {
        "ledger": {"url": f"sqlite:///{ledger}"},
        "models": [
            model("primary", f"{chaos}/v1", timeout_s=1.0),
            model("fallback", f"{chaos}/force/none/v1"),
        ],
        "routes": {"chaos/mixed": {"default": {"route": "primary", "fallbacks": ["fallback"]}}},
        "retry": {"attempts": 2, "backoff_s": 0.01, "max_retry_after_s": 2},
    }
    path = tmp / "parity.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "parity", "serve", "--config", str(path), "--port", str(port)]
    command += ["--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    return start(command, tmp / "gateway.log", f"{url}/readyz"), url, ledger


async def drive(base: str, requests: int, concurrency: int, stream_share: float) -> dict[str, Any]:
    """Send the requests; collect ids, latencies and client-visible errors."""
    client = openai.AsyncOpenAI(base_url=base, api_key="unused", max_retries=0, timeout=120)
    gate = asyncio.Semaphore(concurrency)
    every = round(1 / stream_share) if stream_share > 0 else 0
    out: dict[str, Any] = {"ids": [], "ms": [], "errors": Counter(), "stream_errors": Counter()}

    async def one(n: int) -> None:
        stream = bool(every) and n % every == 0
        messages: list[ChatCompletionMessageParam] = [
            {"role": "user", "content": f"request number {n}"}
        ]
        async with gate:
            started = time.perf_counter()
            try:
                if stream:
                    raw_stream = await client.chat.completions.with_raw_response.create(
                        model="chaos/mixed", messages=messages, stream=True
                    )
                    out["ids"].append(raw_stream.headers["x-parity-request-id"])
                    chunks = raw_stream.parse()
                    assert isinstance(chunks, openai.AsyncStream)
                    async for _chunk in chunks:
                        pass
                else:
                    raw = await client.chat.completions.with_raw_response.create(
                        model="chaos/mixed", messages=messages
                    )
                    out["ids"].append(raw.headers["x-parity-request-id"])
                    raw.parse()
            except openai.APIError as exc:
                kind = "stream_errors" if stream else "errors"
                out[kind][type(exc).__name__] += 1
            out["ms"].append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(n) for n in range(requests)))
    finally:
        await client.close()
    out["wall_s"] = time.perf_counter() - started
    return out


def ledger_figures(path: Path, ids: list[str]) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT request_id, status, model_answered, attempts, trace FROM requests"
        ).fetchall()
    stored = Counter(r[0] for r in rows)
    outcomes: Counter[str] = Counter()
    for row in rows:
        for attempt in json.loads(row[4] or "{}").get("attempts", []):
            if attempt["outcome"] != "ok":
                outcomes[attempt["outcome"]] += 1
    return {
        "rows": len(rows),
        "duplicates": sum(n - 1 for n in stored.values() if n > 1),
        "lost": len(set(ids) - set(stored)),
        "errors_stored": sum(1 for r in rows if r[1] != 200),
        "fallbacks": sum(1 for r in rows if r[2] == "fallback"),
        "retried_requests": sum(1 for r in rows if r[3] > 1),
        "failed_attempts": dict(outcomes),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        chaos_proc, chaos = start_chaos(tmp, args.fault_rate, args.seed)
        try:
            gateway, url, ledger = start_gateway(tmp, chaos)
            try:
                sent = asyncio.run(
                    drive(f"{url}/v1", args.requests, args.concurrency, args.stream_share)
                )
            finally:
                gateway.send_signal(signal.SIGTERM)
                gateway.wait(60)
            stats = httpx.get(f"{chaos}/chaos/stats", trust_env=False).json()
        finally:
            chaos_proc.terminate()
            chaos_proc.wait(10)
        stored = ledger_figures(ledger, sent["ids"])
    return {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "fault_rate": args.fault_rate,
        "stream_share": args.stream_share,
        "seed": args.seed,
        "injected": stats["injected"],
        "client_errors": dict(sent["errors"]),
        "stream_errors_midway": dict(sent["stream_errors"]),
        "answered_with_id": len(sent["ids"]),
        "ledger": stored,
        "latency_ms": {
            "p50": percentile(sent["ms"], 0.50),
            "p95": percentile(sent["ms"], 0.95),
            "p99": percentile(sent["ms"], 0.99),
            "mean": statistics.fmean(sent["ms"]),
        },
        "wall_s": sent["wall_s"],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
    }


def render(report: dict[str, Any]) -> str:
    ledger, latency = report["ledger"], report["latency_ms"]
    lines = [
        f"| requests sent | {report['requests']} (concurrency {report['concurrency']}) |",
        f"| fault rate on the primary | {report['fault_rate']:.0%} |",
        f"| faults injected | {sum(report['injected'].values())} |",
        *(f"| - {kind} | {n} |" for kind, n in report["injected"].items()),
        f"| client-visible errors (non-streamed) | {sum(report['client_errors'].values())} |",
        f"| streams broken after the first event | "
        f"{sum(report['stream_errors_midway'].values())} |",
        f"| requests retried | {ledger['retried_requests']} |",
        f"| requests answered by the fallback | {ledger['fallbacks']} |",
        f"| failed attempts by error | {ledger['failed_attempts']} |",
        f"| ledger rows | {ledger['rows']} (duplicates {ledger['duplicates']}, "
        f"recorded as errors {ledger['errors_stored']}) |",
        f"| lost rows | {ledger['lost']} |",
        f"| latency p50 / p95 / p99 | {latency['p50']:.1f} / {latency['p95']:.1f} / "
        f"{latency['p99']:.1f} ms |",
        f"| wall time | {report['wall_s']:.1f} s |",
    ]
    return "| figure | value |\n|---|---|\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--stream-share", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/results/chaos_load.json"))
    args = parser.parse_args()
    report = run(args)
    print(render(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
