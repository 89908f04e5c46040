"""Derive Parity label files from RouteLLM's GSM8K and MT-Bench data.

    python bench/router_labels.py [--data examples/data/routellm] [--out examples/labels]

GSM8K: one record per problem, score 1/0 for whether each model's answer was right, and both
answers (the cascade scorer trains on the weak one). The prompts RouteLLM lists as contaminated
(``gsm8k_contaminated_prompts.jsonl``) are left out. MT-Bench: one record per question, routed
on its first turn as RouteLLM does, scored by the mean of the GPT-4 judge's two turn scores
mapped from 1-10 onto 0-1 as (score - 1) / 9. Prints a table and writes a JSON summary.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from parity.training.labels import write_labels

STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def gsm8k_records(data: Path) -> tuple[list[dict[str, Any]], int]:
    """GSM8K label records, and how many contaminated prompts were dropped."""
    contaminated = {
        json.loads(line)["eval_prompt"]
        for line in (data / "gsm8k_contaminated_prompts.jsonl").read_text().splitlines()
        if line.strip()
    }
    records, dropped = [], 0
    with (data / "gsm8k_responses.csv").open(newline="", encoding="utf-8") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            if row["prompt"] in contaminated:
                dropped += 1
                continue
            records.append(
                {
                    "id": f"gsm8k-{index:04d}",
                    "prompt": row["prompt"],
                    "scores": {m: 1.0 if row[m] == "True" else 0.0 for m in (STRONG, WEAK)},
                    "responses": {m: row[f"{m}_response"].strip() for m in (STRONG, WEAK)},
                    "category": "math",
                }
            )
    return records, dropped


def mt_bench_records(data: Path) -> list[dict[str, Any]]:
    """MT-Bench label records: first-turn prompt, judge scores averaged over both turns."""
    scores: dict[tuple[int, str], list[float]] = defaultdict(list)
    for line in (data / "mt_bench_judgements.jsonl").read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            if float(item["score"]) >= 1:  # the judge writes -1 when it gave no score
                scores[(int(item["question_id"]), item["model"])].append(float(item["score"]))
    records = []
    for line in (data / "mt_bench_questions.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        question = json.loads(line)
        qid = int(question["question_id"])
        per_model = {m: scores.get((qid, m), []) for m in (STRONG, WEAK)}
        if not all(per_model.values()):
            continue
        records.append(
            {
                "id": f"mt-bench-{qid}",
                "prompt": question["turns"][0],
                "scores": {m: round((sum(v) / len(v) - 1) / 9, 4) for m, v in per_model.items()},
                "category": question["category"],
            }
        )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("examples/data/routellm"))
    parser.add_argument("--out", type=Path, default=Path("examples/labels"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    gsm8k, dropped = gsm8k_records(args.data)
    mt_bench = mt_bench_records(args.data)
    summary = {
        "gsm8k": {
            "records": write_labels(gsm8k, args.out / "gsm8k.jsonl"),
            "contaminated_dropped": dropped,
            "weak_quality": _mean(gsm8k, WEAK),
            "strong_quality": _mean(gsm8k, STRONG),
        },
        "mt_bench": {
            "records": write_labels(mt_bench, args.out / "mt_bench.jsonl"),
            "weak_quality": _mean(mt_bench, WEAK),
            "strong_quality": _mean(mt_bench, STRONG),
        },
    }
    print(f"{'file':<10} {'records':>8} {'weak':>7} {'strong':>7}")
    for name, row in summary.items():
        weak, strong = row["weak_quality"], row["strong_quality"]
        print(f"{name:<10} {row['records']:>8} {weak:>7.3f} {strong:>7.3f}")
    print(f"GSM8K contaminated prompts left out: {dropped}")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def _mean(records: list[dict[str, Any]], model: str) -> float:
    return float(sum(r["scores"][model] for r in records)) / len(records)


if __name__ == "__main__":
    main()
