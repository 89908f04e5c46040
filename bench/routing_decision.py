"""Decision latency: signals + policy for one request, without any model call.

    .venv/bin/python bench/routing_decision.py [--n 300] [--out bench/results/routing_decision.json]

Runs the policy of examples/policies/hybrid.yaml (privacy, shape, licence and difficulty signals,
three rules and guards) on short prompts and on ~4k-token prompts, with and without sensitive
data, and prints p50/p95/p99 in milliseconds. Target (issue 3): p95 under 2 ms for the privacy +
shape + policy path on a 4k-token prompt.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from parity.config import load_settings
from parity.routing.plan import Caller, RouteRequest
from parity.routing.router import PolicyRouter

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    "the",
    "order",
    "shipped",
    "late",
    "and",
    "the",
    "customer",
    "asked",
    "for",
    "a",
    "refund",
    "because",
    "the",
    "box",
    "was",
    "damaged",
    "please",
    "summarise",
    "the",
    "ticket",
    "and",
    "suggest",
    "a",
    "reply",
    "that",
    "is",
    "polite",
    "and",
    "short",
    "we",
    "value",
    "your",
    "business",
    "and",
    "will",
    "look",
    "into",
    "the",
    "delivery",
    "partner",
    "performance",
    "this",
    "quarter",
]


def prose(tokens: int, rng: random.Random) -> str:
    """About ``tokens`` tokens of plain support-ticket text (~1.3 words a token)."""
    return " ".join(rng.choice(WORDS) for _ in range(int(tokens / 1.3)))


def cases(rng: random.Random) -> dict[str, str]:
    secret = " Contact me at jane.doe@example.com or +44 20 7946 0958, card 4111 1111 1111 1111."
    return {
        "short, clean": "Summarise this ticket: the parcel arrived damaged; they want a refund.",
        "short, sensitive": "Summarise this ticket." + secret,
        "4k tokens, clean": prose(4000, rng),
        "4k tokens, sensitive": prose(2000, rng) + secret + prose(2000, rng),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(router: PolicyRouter, text: str, n: int) -> dict[str, Any]:
    body = {"model": "parity/auto", "messages": [{"role": "user", "content": text}]}
    for _ in range(20):  # warm caches and code paths
        router.plan(RouteRequest("parity/auto", body, Caller()))
    times: list[float] = []
    plan = None
    for _ in range(n):
        started = time.perf_counter()
        plan = router.plan(RouteRequest("parity/auto", body, Caller()))
        times.append((time.perf_counter() - started) * 1000)
    assert plan is not None
    privacy_us = plan.trace["signals"].get("privacy", {}).get("us")
    return {
        "rule": plan.rule,
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(percentile(times, 0.95), 3),
        "p99_ms": round(percentile(times, 0.99), 3),
        "privacy_us_last": privacy_us,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--config", default=str(ROOT / "examples/policies/hybrid.yaml"))
    parser.add_argument("--out", default=str(ROOT / "bench/results/routing_decision.json"))
    args = parser.parse_args()
    settings = load_settings(Path(args.config), env={})
    router = PolicyRouter(settings, rng=random.Random(0))
    rng = random.Random(7)
    results = {name: measure(router, text, args.n) for name, text in cases(rng).items()}
    print(f"Decision latency, {args.n} requests each (policy: {Path(args.config).name})")
    print(f"{'case':<22} {'rule':<22} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, r in results.items():
        print(f"{name:<22} {r['rule']:<22} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"n": args.n, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
