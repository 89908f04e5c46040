"""More than two models: the cheapest model predicted to be good enough gets the prompt.

RouteLLM's data has two models, so this label file is built for the test: three kinds of
prompt that three models (cheap, mid, dear) handle differently, as a gap test would record.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from parity.cli.main import app
from parity.training.artifact import load_router

COUNTRIES = [
    "France",
    "Peru",
    "Japan",
    "Kenya",
    "Chile",
    "Spain",
    "Egypt",
    "Nepal",
    "Ghana",
    "Laos",
]
THINGS = ["primes", "squares", "graphs", "groups", "rings", "fields", "lattices", "sets", "maps"]


def _labels(path: Path) -> Path:
    rows = []
    for i in range(30):
        easy = f"What is the capital of {COUNTRIES[i % 10]}? Answer briefly."
        add = f"Add {i + 13} and {2 * i + 7}, then multiply the total by {i % 7 + 2}."
        prove = f"Prove rigorously that the {THINGS[i % 9]} lemma {i} holds in general."
        rows.append(("easy", easy, {"cheap": 1.0, "mid": 1.0, "dear": 1.0}))
        rows.append(("sum", add, {"cheap": 0.0, "mid": 1.0, "dear": 1.0}))
        rows.append(("proof", prove, {"cheap": 0.0, "mid": 0.0, "dear": 1.0}))
    lines = [
        json.dumps({"id": f"{kind}-{n}", "prompt": prompt, "scores": scores, "category": kind})
        for n, (kind, prompt, scores) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_three_models_route_to_the_cheapest_good_enough(tmp_path: Path) -> None:
    out = tmp_path / "artifact"
    result = CliRunner().invoke(
        app,
        [
            "router", "train", str(_labels(tmp_path / "labels.jsonl")), "--strong", "dear",
            "--weak", "cheap", "--also", "mid", "--out", str(out), "--learner", "lr",
            "--cost", "cheap=0.1", "--cost", "mid=1", "--cost", "dear=10", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = json.loads(result.stdout)
    assert summary["quality_threshold"] is not None
    chosen = summary["calibration"]["portfolio"]
    assert chosen["quality_share"] >= 0.95 and chosen["saving"] > 0.3

    router = load_router(out)
    assert router.models == ["dear", "cheap", "mid"]
    assert router.choose("What is the capital of Italy? Answer briefly.") == "cheap"
    assert router.choose("Add 40 and 9, then multiply the total by 3.") == "mid"
    assert router.choose("Prove rigorously that the spaces lemma 3 holds in general.") == "dear"
    qualities = router.qualities("Add 40 and 9, then multiply the total by 3.")
    assert qualities["mid"] > qualities["cheap"]


def test_more_models_without_costs_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "router", "train", str(_labels(tmp_path / "labels.jsonl")), "--strong", "dear",
            "--weak", "cheap", "--also", "mid", "--out", str(tmp_path / "a"),
        ],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "needs costs" in str(result.exception)
