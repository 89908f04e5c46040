"""What counting the embedded model's streamed usage costs (issue 13), on the real SmolLM2.

    .venv/bin/python bench/stream_usage.py [--runs 20] [--max-tokens 64]

llama-cpp-python's server sends no usage in a stream, so Parity counts it with the model's own
tokenizer and chat template (providers/local_tokens.py). This prints:

1. the cost of one count in a worker thread: the templated prompt (two conversation sizes) and
   the answer's text (two lengths), p50 / p95 in microseconds;
2. what it adds to a stream: the same prompts streamed straight from llama.cpp through the
   plain provider and through the counting one, alternately; the time from the chunk with the
   ``finish_reason`` to the end of the stream (where the counted usage chunk goes), and the
   whole stream, medians;
3. why the upstream is not asked: llama.cpp's ``/extras/tokenize/count`` round trip when the
   server is idle and while it runs another completion (it waits for the model's lock).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import smollm2_path, start_llama_server  # noqa: E402

from parity.catalog.deployment import Deployment  # noqa: E402
from parity.providers.local_tokens import CountedProvider, LocalTokenizer  # noqa: E402
from parity.providers.openai_compat import OpenAIProvider  # noqa: E402

SHORT: list[Any] = [{"role": "user", "content": "Count to five."}]
LONG: list[Any] = [
    {"role": "system", "content": "You are a careful assistant. " * 20},
    *(
        {"role": role, "content": f"Turn {i}: " + "a sentence of ordinary English text. " * 10}
        for i, role in enumerate(["user", "assistant"] * 5)
    ),
    {"role": "user", "content": "Summarise the conversation."},
]
PROMPTS = ["Name three rivers.", "Describe a cat.", "Count to ten.", "Write a haiku."]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _timed(work: Any, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await asyncio.to_thread(work)
        times.append((time.perf_counter() - started) * 1e6)
    return times


async def count_costs(tokenizer: LocalTokenizer, runs: int) -> list[tuple[str, list[float]]]:
    text16 = "One, two, three, four, five. That is five numbers."
    text256 = "The river runs past the old mill and under the stone bridge. " * 20
    short, long = {"messages": SHORT}, {"messages": LONG}
    return [
        ("prompt, 1 message", await _timed(lambda: tokenizer.prompt_tokens(short), runs)),
        ("prompt, 12 messages", await _timed(lambda: tokenizer.prompt_tokens(long), runs)),
        ("answer text, ~12 tokens", await _timed(lambda: tokenizer.text_tokens(text16), runs)),
        ("answer text, ~240 tokens", await _timed(lambda: tokenizer.text_tokens(text256), runs)),
    ]


async def _stream(provider: Any, prompt: str, max_tokens: int) -> tuple[float, float, Any]:
    body = {
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    started = time.perf_counter()
    finished = None
    usage = None
    async for chunk in provider.stream(body):
        if any(c.get("finish_reason") for c in chunk.get("choices") or ()):
            finished = time.perf_counter()
        usage = chunk.get("usage") or usage
    ended = time.perf_counter()
    assert finished is not None
    return (ended - finished) * 1000, (ended - started) * 1000, usage


async def stream_costs(url: str, tokenizer: LocalTokenizer, runs: int, max_tokens: int) -> Any:
    deployment = Deployment(
        id="local/smollm2", provider="local", base_url=url, upstream_model="smollm2"
    )
    plain = OpenAIProvider(deployment, {})
    counted = CountedProvider(OpenAIProvider(deployment, {}), tokenizer)
    results: dict[str, list[tuple[float, float]]] = {"plain": [], "counted": []}
    usage = None
    for i in range(runs):
        prompt = PROMPTS[i % len(PROMPTS)]
        for name, provider in (("plain", plain), ("counted", counted))[:: 1 if i % 2 else -1]:
            tail, total, got = await _stream(provider, prompt, max_tokens)
            results[name].append((tail, total))
            usage = got if name == "counted" else usage
    await plain.close()
    await counted.close()
    return results, usage


def tokenize_round_trips(root: str, runs: int) -> tuple[list[float], list[float]]:
    count = f"{root}/extras/tokenize/count"
    body = {"input": "<|im_start|>user\nCount to five.<|im_end|>\n"}
    with httpx.Client(timeout=120, trust_env=False) as client:
        idle = []
        for _ in range(runs):
            started = time.perf_counter()
            client.post(count, json=body).raise_for_status()
            idle.append((time.perf_counter() - started) * 1000)
        busy = []
        story = {
            "model": "smollm2",
            "messages": [{"role": "user", "content": "Write a long story."}],
            "max_tokens": 128,
        }

        def generate() -> None:
            httpx.post(f"{root}/v1/chat/completions", json=story, timeout=120, trust_env=False)

        for _ in range(3):
            worker = threading.Thread(target=generate)
            worker.start()
            time.sleep(0.3)  # the completion holds the model's lock now
            started = time.perf_counter()
            client.post(count, json=body).raise_for_status()
            busy.append((time.perf_counter() - started) * 1000)
            worker.join()
    return idle, busy


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    tokenizer = LocalTokenizer(smollm2_path())
    started = time.perf_counter()
    assert tokenizer.load()
    print(f"tokenizer load (vocab only): {(time.perf_counter() - started) * 1000:.0f} ms\n")

    print("| count, in a worker thread | p50 (µs) | p95 (µs) |\n|---|---:|---:|")
    for name, times in await count_costs(tokenizer, max(50, args.runs * 5)):
        print(f"| {name} | {statistics.median(times):,.0f} | {_pct(times, 0.95):,.0f} |")

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_llama_server(Path(tmp) / "llama.log")
        try:
            results, usage = await stream_costs(url, tokenizer, args.runs, args.max_tokens)
            print(f"\nstreams of up to {args.max_tokens} tokens, {args.runs} each, alternating;")
            print(f"the counting provider's last usage: {usage}\n")
            print("| provider | finish -> end, p50 (ms) | p95 (ms) | whole stream, p50 (ms) |")
            print("|---|---:|---:|---:|")
            for name, pairs in results.items():
                tails = [t for t, _ in pairs]
                totals = [s for _, s in pairs]
                print(
                    f"| {name} | {statistics.median(tails):.2f} | {_pct(tails, 0.95):.2f} "
                    f"| {statistics.median(totals):,.0f} |"
                )
            idle, busy = tokenize_round_trips(url.removesuffix("/v1"), args.runs)
            print("\n| llama.cpp /extras/tokenize/count | p50 (ms) | max (ms) |\n|---|---:|---:|")
            print(f"| server idle | {statistics.median(idle):.1f} | {max(idle):.1f} |")
            waits = f"{statistics.median(busy):,.0f} | {max(busy):,.0f}"
            print(f"| while a completion runs | {waits} |")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    asyncio.run(main())
