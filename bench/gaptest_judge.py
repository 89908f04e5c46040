"""Gap-test benchmarks: the reference judge on GSM8K, and the harness's cost per live call.

    python bench/gaptest_judge.py [--calls 300] [--out bench/results/gaptest_judge.json]

1. Judging RouteLLM's 1,319 recorded GSM8K pairs (2,638 answers) with the numeric reference
   judge, both rules, timed over the whole judge pass (loading excluded, reported apart).
2. Overhead per live call: the same N sequential calls to a local OpenAI-compatible upstream
   (a separate process), once straight through ``OpenAIProvider.chat`` and once through the
   gap-test runner (cache key, pacing, retries wrapper, one fsync'd JSONL line per answer).
Prints tables and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data" / "routellm"


def _serve(port: int) -> None:
    """A minimal OpenAI-compatible upstream: answers at once, reports usage."""
    from aiohttp import web

    reply = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "4"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(reply)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def bench_judge(repeats: int) -> dict[str, Any]:
    from parity.evaluation.datasets import load_prompts
    from parity.evaluation.judges import registry
    from parity.evaluation.judges.base import JudgeContext, JudgePlan
    from parity.evaluation.judging import judge_items
    from parity.evaluation.records import Answer

    start = time.perf_counter()
    data = load_prompts(DATA / "gsm8k_responses.csv", references=DATA / "gsm8k_test.jsonl")
    load_s = time.perf_counter() - start
    models = data.recorded_models
    answers = {
        (i.id, m): Answer(item=i.id, model=m, text=data.recorded[m][i.id], source="recorded")
        for i in data.items
        for m in models
    }
    rows: dict[str, Any] = {"load_s": load_s, "pairs": len(data.items), "answers": len(answers)}
    for rule in ("last_integer", "final"):
        plan = JudgePlan.build([(None, "numeric", {"rule": rule})], registry(), JudgeContext())
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            verdicts = asyncio.run(judge_items(plan, data.items, answers, models))
            times.append(time.perf_counter() - start)
        accuracy = {
            m: sum(v.score or 0 for v in verdicts if v.model == m) / len(data.items) for m in models
        }
        rows[rule] = {
            "median_s": statistics.median(times),
            "best_s": min(times),
            "verdicts": len(verdicts),
            "accuracy": accuracy,
        }
    return rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _direct(base: str, calls: int) -> list[float]:
    from parity.catalog.deployment import Deployment, ProviderKind
    from parity.providers.openai_compat import OpenAIProvider

    provider = OpenAIProvider(Deployment(id="m", provider=ProviderKind.OPENAI, base_url=base), {})
    body = {"messages": [{"role": "user", "content": "2+2?"}], "max_tokens": 8}
    await provider.chat(body)  # warm the connection pool
    times = []
    for i in range(calls):
        start = time.perf_counter()
        await provider.chat({**body, "messages": [{"role": "user", "content": f"{i}: 2+2?"}]})
        times.append(time.perf_counter() - start)
    await provider.close()
    return times


async def _through_runner(base: str, calls: int, folder: Path) -> float:
    from parity.config import Settings
    from parity.evaluation.datasets import Dataset
    from parity.evaluation.records import Item
    from parity.evaluation.rundir import RunDir
    from parity.evaluation.runner import Runner, RunOptions
    from parity.evaluation.upstreams import Upstreams

    settings = Settings.model_validate(
        {
            "models": [
                {"id": name, "provider": "openai", "base_url": base} for name in ("m", "recorded")
            ]
        }
    )
    items = [
        Item(id=str(i), messages=[{"role": "user", "content": f"{i}: 2+2?"}]) for i in range(calls)
    ]
    data = Dataset(items=items, source="bench", recorded={"recorded": {i.id: "4" for i in items}})
    options = RunOptions(models=["m", "recorded"], params={"max_tokens": 8}, concurrency=1)
    async with Upstreams(settings, {}, ["m"]) as upstreams:
        await upstreams.provider("m").chat({"messages": [{"role": "user", "content": "warm"}]})
        start = time.perf_counter()
        await Runner(RunDir(folder / "run"), data, options).execute(upstreams)
        return time.perf_counter() - start


def bench_overhead(calls: int) -> dict[str, Any]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        direct = asyncio.run(_direct(base, calls))
        with tempfile.TemporaryDirectory() as folder:
            total = asyncio.run(_through_runner(base, calls, Path(folder)))
    finally:
        server.terminate()
        server.wait(10)
    direct_ms = statistics.mean(direct) * 1000
    runner_ms = total / calls * 1000
    return {
        "calls": calls,
        "direct_ms_per_call": direct_ms,
        "direct_ms_p50": statistics.median(direct) * 1000,
        "runner_ms_per_call": runner_ms,
        "overhead_ms_per_call": runner_ms - direct_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "gaptest_judge.json"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve)
        return
    judge = bench_judge(args.repeats)
    print(
        f"\nReference judge on GSM8K: {judge['pairs']} pairs, {judge['answers']} answers "
        f"(loading the CSV and references: {judge['load_s']:.2f} s)"
    )
    print(f"{'rule':<14}{'median s':>10}{'best s':>10}{'Mixtral':>10}{'GPT-4':>10}")
    for rule in ("last_integer", "final"):
        row = judge[rule]
        acc = list(row["accuracy"].values())
        print(
            f"{rule:<14}{row['median_s']:>10.3f}{row['best_s']:>10.3f}"
            f"{acc[0]:>10.1%}{acc[1]:>10.1%}"
        )
    overhead = bench_overhead(args.calls)
    print(f"\nHarness overhead, {overhead['calls']} sequential calls to a local upstream")
    print(f"{'path':<34}{'ms/call':>10}")
    print(f"{'OpenAIProvider.chat directly':<34}{overhead['direct_ms_per_call']:>10.2f}")
    print(f"{'gap-test runner':<34}{overhead['runner_ms_per_call']:>10.2f}")
    print(f"{'overhead':<34}{overhead['overhead_ms_per_call']:>10.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "judge": judge,
        "overhead": overhead,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d"),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
