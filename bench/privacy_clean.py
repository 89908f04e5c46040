"""Precision of the privacy detector on clean text this repository already holds.

    python bench/privacy_clean.py [--show] [--out bench/results/privacy_clean.json]

GSM8K questions, reference answers and both recorded models' answers (many numbers, no one's
data), MT-bench questions and the judge's prompts and judgements, and the look-alike sentences
of the committed privacy corpora. None of it was written to test the detector; every finding
in it is a false positive or a public fact (the White House's street address). Prints how many
texts of each source were flagged, and by which entity types.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from parity.privacy.detector import PrivacyDetector, PrivacySettings

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data" / "routellm"
CORPORA = (ROOT / "bench" / "data" / "privacy" / "corpus.jsonl",
           ROOT / "bench" / "data" / "privacy" / "heldout.jsonl")  # fmt: skip
OUT = ROOT / "bench" / "results" / "privacy_clean.json"


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def texts() -> Iterator[tuple[str, str]]:
    """(source, text) for every clean text."""
    for row in _jsonl(DATA / "gsm8k_test.jsonl"):
        yield "gsm8k question", row["question"]
        yield "gsm8k answer", row["answer"]
    csv.field_size_limit(1 << 26)
    with (DATA / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            for key, value in record.items():
                if key.endswith("_response") and value:
                    yield "gsm8k model answer", value
    for row in _jsonl(DATA / "mt_bench_questions.jsonl"):
        for turn in row["turns"]:
            yield "mt-bench question", turn
    for row in _jsonl(DATA / "mt_bench_judgements.jsonl"):
        yield "mt-bench judge prompt", row["user_prompt"]
        if row.get("judgment"):
            yield "mt-bench judgement", row["judgment"]
    for path in CORPORA:
        for row in _jsonl(path):
            if row["kind"] == "negative":
                yield "privacy corpus look-alike", row["text"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print each finding in context")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    detector = PrivacyDetector(PrivacySettings())
    total: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    types: Counter[str] = Counter()
    findings: list[dict[str, str]] = []
    for source, text in texts():
        total[source] += 1
        result = detector.scan([text])
        if not result.sensitive:
            continue
        flagged[source] += 1
        for entity in result.entities:
            types[entity.type] += 1
            around = text[max(0, entity.start - 40) : entity.end + 40]
            findings.append({"source": source, "type": entity.type, "context": around})
            if args.show:
                print(f"{source}: {entity.type}: {around!r}")
    print("| source | texts | flagged |\n|---|---|---|")
    for source, count in total.items():
        print(f"| {source} | {count} | {flagged[source]} |")
    print(f"| all | {sum(total.values())} | {sum(flagged.values())} |")
    print("\nfindings by type: " + ", ".join(f"{k} {v}" for k, v in types.most_common()))
    report = {"meta": {"python": sys.version.split()[0]}, "texts": dict(total),
              "flagged": dict(flagged), "types": dict(types), "findings": findings}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
