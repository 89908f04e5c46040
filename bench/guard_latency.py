"""What a safety guard adds to a request's latency, streamed and not, against the stated bound.

    python bench/guard_latency.py [--guard-ms 0 40] [--token-ms 20] [--tokens 200] [--runs 10]
                                  [--check-tokens 64] [--out bench/results/guard_latency.json]

A real gateway process (``parity serve``) sits between an httpx client and two local servers in
this process: an upstream that streams ``--tokens`` words, one every ``--token-ms`` ms, and a
Llama-Guard-format guard that answers ``safe`` after ``--guard-ms`` ms (a stand-in for a real
guard model: set it to your guard's measured call time). For each guard time, three routes are
compared on the same upstream: ``plain`` (no guard), ``input`` (the request checked) and
``output`` (the answer checked; a stream every ``--check-tokens`` tokens). Reported per case:
median time to first token and to the end of the stream, what the guard added to each, the
guard calls per stream, and the bound docs/guards.md states:

- first token: when the first window's 16th token arrives (the plain route's first token plus
  15 of its measured token intervals) + one guard call;
- end: two guard calls after the upstream's last token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, start_gateway  # noqa: E402

from parity.guards.stream import FIRST_WINDOW_TOKENS  # noqa: E402
from parity.store.guard_log import GuardLog  # noqa: E402


def _upstream(token_ms: float, tokens: int) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        words = [f" t{i % 100:02d}" for i in range(tokens)]  # 4 characters: a token, as counted
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(words)}
            return web.json_response(
                {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                 "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 10, "completion_tokens": tokens,
                           "total_tokens": 10 + tokens}}
            )  # fmt: skip
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for word in words:
            await asyncio.sleep(token_ms / 1000)
            delta = {"index": 0, "delta": {"content": word}, "finish_reason": None}
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                     "choices": [delta]}  # fmt: skip
            await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        done = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}  # fmt: skip
        await response.write(b"data: " + json.dumps(done).encode() + b"\n\ndata: [DONE]\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


def _guard(guard_ms: float) -> web.Application:
    async def chat(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(guard_ms / 1000)
        message = {"role": "assistant", "content": "safe"}
        return web.json_response(
            {"id": "g", "object": "chat.completion", "created": 0, "model": "llama-guard3:1b",
             "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
        )  # fmt: skip

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/v1"


async def _one(client: httpx.AsyncClient, url: str, route: str, stream: bool) -> dict[str, Any]:
    body = {"model": route, "messages": [{"role": "user", "content": "hello"}], "stream": stream}
    started = time.perf_counter()
    first: float | None = None
    request_id = ""
    async with client.stream("POST", url, json=body) as response:
        request_id = response.headers.get("x-parity-request-id", "")
        async for line in response.aiter_lines():
            if first is None and '"content": " t' in line.replace('":"', '": "'):
                first = time.perf_counter() - started
        total = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{route}: {response.status_code}")
    return {"ttft_ms": (first or total) * 1000, "total_ms": total * 1000, "id": request_id}


async def _case(args: argparse.Namespace, guard_ms: float, tmp: Path) -> list[dict[str, Any]]:
    upstream, upstream_url = await _serve(_upstream(args.token_ms, args.tokens))
    guard, guard_url = await _serve(_guard(guard_ms))
    model = {"provider": "openai", "residency": "on_prem", "api_key_env": "BENCH_KEY"}
    config = {
        "models": [
            {"id": "open", "base_url": upstream_url, **model},
            {"id": "llama-guard", "base_url": guard_url, "upstream_model": "llama-guard3:1b",
             **model},
        ],
        "guards": {"safety": {"deployment": "llama-guard", "format": "llama_guard"}},
        "routes": {
            "plain": {"default": "open"},
            "input": {"default": "open", "guard": {"guard": "safety", "check": "input"}},
            "output": {"default": "open", "guard": {"guard": "safety", "check": "output",
                                                    "stream_check_tokens": args.check_tokens}},
        },
    }  # fmt: skip
    folder = tmp / f"g{guard_ms:g}"
    folder.mkdir()
    gateway = await asyncio.to_thread(start_gateway, folder, config, env={"BENCH_KEY": "x"})
    rows: list[dict[str, Any]] = []
    try:
        url = f"{gateway.v1}/chat/completions"
        async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
            for route in ("plain", "input", "output"):
                for stream in (True, False):
                    await _one(client, url, route, stream)  # warm the connections
                    runs = [await _one(client, url, route, stream) for _ in range(args.runs)]
                    rows.append(
                        {
                            "guard_ms": guard_ms,
                            "route": route,
                            "stream": stream,
                            "ttft_ms": statistics.median(r["ttft_ms"] for r in runs),
                            "total_ms": statistics.median(r["total_ms"] for r in runs),
                            "ids": [r["id"] for r in runs],
                        }
                    )
        await asyncio.sleep(1.0)  # the ledger writer's flush
        log = GuardLog(gateway.ledger_url)
        try:
            decisions = {d.request_id: d for d in log.recent(include_safe=True, limit=100_000)}
        finally:
            log.close()
        for row in rows:
            found = [decisions[i] for i in row.pop("ids") if i in decisions]
            row["guard_calls"] = statistics.median(d.checks for d in found) if found else 0
            row["guard_ms_total"] = statistics.median(d.latency_ms for d in found) if found else 0
    finally:
        gateway.stop()
        await upstream.cleanup()
        await guard.cleanup()
    return rows


def _table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    base = {(r["guard_ms"], r["stream"]): r for r in rows if r["route"] == "plain"}
    lines = [
        "| guard call | route | stream | TTFT ms | added | end ms | added | guard calls | bound |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        plain = base[(r["guard_ms"], r["stream"])]
        bound = ""
        if r["route"] == "output" and r["stream"]:
            call = r["guard_ms_total"] / max(r["guard_calls"], 1)
            token_ms = plain["total_ms"] / args.tokens  # the upstream's measured pace
            window = min(FIRST_WINDOW_TOKENS, args.check_tokens)
            first = plain["ttft_ms"] + (window - 1) * token_ms + call  # the window's last token
            bound = f"first ≤ {first:.0f}, end ≤ {2 * call:.0f}"
        lines.append(
            f"| {r['guard_ms']:g} ms | {r['route']} | {'yes' if r['stream'] else 'no'} | "
            f"{r['ttft_ms']:.1f} | {r['ttft_ms'] - plain['ttft_ms']:+.1f} | {r['total_ms']:.1f} | "
            f"{r['total_ms'] - plain['total_ms']:+.1f} | {r['guard_calls']:g} | {bound} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Run every case; print the table; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--guard-ms", type=float, nargs="+", default=[0.0, 40.0])
    parser.add_argument("--token-ms", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--check-tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/guard_latency.json")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for guard_ms in args.guard_ms:
            rows += asyncio.run(_case(args, guard_ms, Path(tmp)))
    print(_table(rows, args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {k: v for k, v in vars(args).items() if k != "out"}
    meta["machine"] = f"{platform.machine()}, {platform.python_version()}"
    args.out.write_text(json.dumps({"settings": meta, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
