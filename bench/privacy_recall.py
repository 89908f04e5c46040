"""Recall and precision of the privacy detector per entity type, against the reference engines.

    python bench/privacy_recall.py [--corpus bench/data/privacy/corpus.jsonl]
        [--out bench/results/privacy_recall.json]

Systems compared on the labelled corpus (see bench/privacy_corpus.py):
- fast: the fast path alone (confirm_with_presidio: false);
- fast+presidio: the default detector (Presidio confirms what the fast path cannot settle);
- reference: Presidio's AnalyzerEngine alone (pattern recognizers, no NLP model) for PII, and
  detect-secrets' plugins alone (analyze_string over the whole text) for secrets. Neither has
  street addresses or PHI, so those rows have no reference figure.
A prediction counts when it has the gold span's type and overlaps it; every system uses the
same score threshold (min_score). Prints a Markdown table and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from parity.routing.signals.privacy import PrivacyDetector, PrivacySettings
from parity.routing.signals.privacy_presidio import PresidioChecker
from parity.routing.signals.privacy_secrets import load_plugins, plugin_entity

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "bench" / "data" / "privacy" / "corpus.jsonl"
OUT = ROOT / "bench" / "results" / "privacy_recall.json"
PRESIDIO_TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN",
                  "UK_NINO", "IP_ADDRESS")  # fmt: skip
SECRET_TYPES = ("API_KEY", "ACCESS_TOKEN", "PRIVATE_KEY", "PASSWORD")

Span = tuple[str, int, int]
System = Callable[[str], list[Span]]


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def detector_system(detector: PrivacyDetector) -> System:
    def run(text: str) -> list[Span]:
        findings = detector.scan([text])
        if findings.failed:
            raise RuntimeError(findings.reason)
        return [(e.type, e.start, e.end) for e in findings.entities]

    return run


def reference_system(min_score: float) -> System:
    """Presidio alone for PII, detect-secrets alone for secrets, as each is used on its own."""
    settings = PrivacySettings()
    presidio = PresidioChecker(PRESIDIO_TYPES, phone_regions=settings.phone_regions)
    plugins = load_plugins(settings.secret_plugins)

    def run(text: str) -> list[Span]:
        spans = [(c.type, c.start, c.end) for c in presidio.analyze(text) if c.score >= min_score]
        for name, plugin in plugins.items():
            for secret in plugin.analyze_string(text):
                at = text.find(secret) if isinstance(secret, str) and secret else -1
                if at != -1:
                    spans.append((plugin_entity(name), at, at + len(secret)))
        return spans

    return run


def score(rows: Iterable[dict[str, Any]], system: System) -> dict[str, Any]:
    """Per-type recall and precision, sentence-level sensitivity, and the time it took."""
    gold_n: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    flagged = {"positive": 0, "negative": 0}
    sentences = Counter[str]()
    began = time.perf_counter()
    for row in rows:
        gold: list[Span] = [(s["type"], s["start"], s["end"]) for s in row["spans"]]
        found = system(row["text"])
        sentences[row["kind"]] += 1
        flagged[row["kind"]] += bool(found)
        for kind, start, end in gold:
            gold_n[kind] += 1
            hit[kind] += any(_overlaps(p, (kind, start, end)) for p in found)
        for p in found:
            predicted[p[0]] += 1
            correct[p[0]] += any(_overlaps(p, g) for g in gold)
    seconds = time.perf_counter() - began
    types = sorted(gold_n)
    return {
        "recall": {t: hit[t] / gold_n[t] for t in types},
        "precision": {t: correct[t] / predicted[t] if predicted[t] else None for t in types},
        "gold": dict(gold_n),
        "extra_types": {t: n for t, n in predicted.items() if t not in gold_n},
        "sensitive_recall": flagged["positive"] / max(1, sentences["positive"]),
        "negative_flag_rate": flagged["negative"] / max(1, sentences["negative"]),
        "seconds": round(seconds, 3),
        "ms_per_sentence": round(seconds * 1000 / max(1, sum(sentences.values())), 3),
    }


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    types = sorted(results[names[0]]["gold"])
    head = ["type", "n"] + [f"recall {n}" for n in names] + [f"precision {n}" for n in names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in types:
        covered = {n: n != "reference" or t in PRESIDIO_TYPES or t in SECRET_TYPES for n in names}
        cells = [t, str(results[names[0]]["gold"][t])]
        cells += [_pct(results[n]["recall"][t]) if covered[n] else "—" for n in names]
        cells += [_pct(results[n]["precision"][t]) if covered[n] else "—" for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| system | sentences flagged (positives) | look-alikes flagged | ms/sentence |")
    lines.append("|---|---|---|---|")
    for n in names:
        r = results[n]
        lines.append(
            f"| {n} | {_pct(r['sensitive_recall'])}% | {_pct(r['negative_flag_rate'])}% "
            f"| {r['ms_per_sentence']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = load(args.corpus)
    settings = PrivacySettings()
    systems: dict[str, System] = {
        "fast": detector_system(PrivacyDetector(PrivacySettings(confirm_with_presidio=False))),
        "fast+presidio": detector_system(PrivacyDetector(settings)),
        "reference": reference_system(settings.min_score),
    }
    results = {name: score(rows, system) for name, system in systems.items()}
    print(table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"corpus": str(args.corpus), "sentences": len(rows),
            "min_score": settings.min_score, "python": sys.version.split()[0]}  # fmt: skip
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
