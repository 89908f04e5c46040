"""Tokens per second of the embedded model: through the gateway against llama.cpp directly.

    .venv/bin/python bench/local_tokens.py [--runs 8] [--max-tokens 128]

Starts one llama.cpp server on SmolLM2-135M-Instruct and one `parity serve` in front of it,
then streams the same prompts alternately through each and reports output tokens per second
(from the first to the last content chunk) and time to first token. Target (issue 2): the
gateway keeps at least 95% of llama.cpp's tokens/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import start_gateway, start_llama_server  # noqa: E402

PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle stays upright.",
    "List ten uses for a paperclip, one per line.",
    "Describe the water cycle for a child.",
]


def stream_once(url: str, model: str, prompt: str, max_tokens: int) -> dict[str, float]:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
    }
    started = time.perf_counter()
    first = last = None
    chunks = 0
    with httpx.stream("POST", f"{url}/chat/completions", json=body, timeout=120) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[6:])
            choices = data.get("choices") or []
            if choices and (choices[0].get("delta") or {}).get("content"):
                now = time.perf_counter()
                first = first or now
                last = now
                chunks += 1
    if first is None or last is None or chunks < 2:
        raise RuntimeError("the model produced too little text to time")
    return {
        "tokens": chunks,
        "ttft_ms": (first - started) * 1000,
        "tokens_per_s": (chunks - 1) / (last - first),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--out", default=str(ROOT / "bench/results/local_tokens.json"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="parity-tokens-"))
    llama, base = start_llama_server(tmp / "llama.log")
    config = {
        "models": [
            {
                "id": "local/smollm2",
                "provider": "openai",
                "base_url": base,
                "upstream_model": "smollm2",
                "residency": "on_prem",
            }
        ]
    }
    gateway = start_gateway(tmp, config)
    results: dict[str, list[dict[str, float]]] = {"llama.cpp direct": [], "through Parity": []}
    try:
        for run in range(args.runs):
            prompt = PROMPTS[run % len(PROMPTS)]
            results["llama.cpp direct"].append(
                stream_once(base, "smollm2", prompt, args.max_tokens)
            )
            results["through Parity"].append(
                stream_once(gateway.v1, "local/smollm2", prompt, args.max_tokens)
            )
    finally:
        gateway.stop()
        llama.terminate()
        llama.wait(10)
    summary: dict[str, Any] = {}
    for name, runs in results.items():
        summary[name] = {
            "tokens_per_s": round(statistics.median(r["tokens_per_s"] for r in runs), 1),
            "ttft_ms": round(statistics.median(r["ttft_ms"] for r in runs), 1),
            "tokens": round(statistics.mean(r["tokens"] for r in runs), 1),
        }
    ratio = summary["through Parity"]["tokens_per_s"] / summary["llama.cpp direct"]["tokens_per_s"]
    summary["ratio"] = round(ratio, 3)
    print(
        f"SmolLM2-135M-Instruct Q4_1, {args.runs} streamed runs each, max_tokens {args.max_tokens}"
    )
    print(f"{'path':<18} {'tokens/s (median)':>18} {'first token ms':>15} {'tokens':>7}")
    for name in results:
        s = summary[name]
        print(f"{name:<18} {s['tokens_per_s']:>18} {s['ttft_ms']:>15} {s['tokens']:>7}")
    print(f"through Parity / direct = {ratio:.1%} (target >= 95%)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
