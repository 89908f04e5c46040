"""Decision time of a loaded router for a ~500-token prompt, per feature set and learner.

    python bench/router_latency.py [--calls 200] [--threads 2]

Each candidate is trained on the 1,307 GSM8K labels and loaded the way the gateway loads it;
then ``LoadedRouter.difficulty()`` is timed on distinct ~500-token prompts (each one new, so
the embedding cache never helps), and once more on a repeated prompt (a cache hit). The cascade
scorer's ``weak_ok()`` is timed on a prompt plus a real weak answer. Torch and BLAS get
``--threads`` threads (the target is 2 cores). Prints a table and writes
bench/results/router_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from parity.training.artifact import LoadedRouter, load_router
from parity.training.embeddings import CachedEmbedder, EmbedderSpec, MiniLMEmbedder
from parity.training.labels import LabelSet, read_labels
from parity.training.train import TrainConfig, train_router

STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
GSM8K = Path("examples/labels/gsm8k.jsonl")
CANDIDATES = [
    "tfidf/lr",
    "tfidf/knn",
    "tfidf-svd/gb",
    "embed/lr",
    "embed/knn",
    "tfidf-svd+embed/gb",
]


def long_prompts(labels: LabelSet, count: int, chars: int = 2000) -> list[str]:
    """Distinct prompts of about 500 tokens (2,000 characters), stitched from real problems."""
    texts = labels.texts()
    out = []
    for start in range(count):
        parts, size, i = [], 0, start
        while size < chars:
            parts.append(texts[i % len(texts)])
            size += len(parts[-1]) + 1
            i += 7
        out.append(" ".join(parts)[:chars])
    return out


def percentiles(call: Callable[[int], object], calls: int, warmup: int = 5) -> dict[str, float]:
    for i in range(warmup):
        call(i)
    times = []
    for i in range(warmup, warmup + calls):
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "calls": calls}


def _train(
    labels: LabelSet, work: Path, name: str, training_cache: CachedEmbedder | None
) -> LoadedRouter:
    spec = EmbedderSpec("minilm") if "embed" in name else None
    config = TrainConfig(
        strong=STRONG, weak=WEAK, candidates=(name,), embedder=spec, cascade=name == "tfidf/lr"
    )
    out = work / name.replace("/", "_")
    cache = training_cache if spec else None
    train_router(labels, config, out, embedder=cache)
    if cache is None:
        return load_router(out)
    # A fresh cache in front of the same model, so that the timings start cold.
    return load_router(out, embedder=CachedEmbedder(cache.inner))


def _time(router: LoadedRouter, name: str, prompts: list[str], calls: int) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    n = calls if "embed" not in name else max(20, calls // 4)
    rows[name] = percentiles(lambda i: router.difficulty(prompts[i]), n)
    if "embed" in name:
        rows[f"{name} (cache hit)"] = percentiles(lambda i: router.difficulty(prompts[0]), calls)
    if router.has_cascade:
        answer = read_labels(GSM8K).records[0].responses[WEAK]
        rows["cascade weak_ok"] = percentiles(lambda i: router.weak_ok(prompts[i], answer), calls)
    return rows


def run(calls: int, threads: int, embed: bool) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    labels = read_labels(GSM8K)
    prompts = long_prompts(labels, calls + 10)
    cache = CachedEmbedder(MiniLMEmbedder(), size=4096) if embed else None
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        for name in CANDIDATES if embed else CANDIDATES[:3]:
            router = _train(labels, Path(work), name, cache)
            rows |= _time(router, name, prompts, calls)
    return {
        "load_average_1m_at_end": os.getloadavg()[0],
        "prompt_chars": 2000,
        "threads": threads,
        "cpu": platform.processor() or platform.machine(),
        "cores_visible": os.cpu_count(),
        "results": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-embed", action="store_true", help="Skip the MiniLM candidates.")
    parser.add_argument("--out", type=Path, default=Path("bench/results/router_latency.json"))
    args = parser.parse_args()
    report = run(args.calls, args.threads, not args.no_embed)
    cores = report["cores_visible"]
    print(f"decision time, ~500-token prompt, {args.threads} threads ({cores} cores visible)")
    print(f"{'router':<32} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'calls':>6}")
    for name, row in report["results"].items():
        times = f"{row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f} {row['p99_ms']:>8.2f}"
        print(f"{name:<32} {times} {row['calls']:>6}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
