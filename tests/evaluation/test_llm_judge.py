"""LLM judges through a real provider: both orders, ties, 1-10 scores, what is recorded,
sensitive prompts kept from vendor judges, and agreement with a human."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from tests.evaluation.helpers import csv_file, write_config
from tests.evaluation.judge_server import judge_server


@pytest.fixture
def judge(tmp_path: Path) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    with judge_server() as (url, calls):
        config = write_config(
            tmp_path / "parity.yaml",
            [
                {
                    "id": name,
                    "provider": "openai",
                    "base_url": url,
                    "upstream_model": upstream,
                    "residency": residency,
                }
                for name, upstream, residency in (
                    ("fair", "judge-fair", "on_prem"),
                    ("fair-vendor", "judge-fair", "vendor"),
                    ("biased", "judge-first", "on_prem"),
                    ("garbled", "judge-garbled", "on_prem"),
                )
            ],
        )
        yield config, calls


@pytest.fixture
def run(tmp_path: Path) -> Path:
    rows = []
    for i in range(12):
        good, bad = f"The answer is {i * 7}.", "I am not sure."
        open_text, closed_text = (
            (good, good) if i % 3 == 0 else (bad, good) if i % 3 == 1 else (good, bad)
        )
        rows.append(
            {
                "id": f"q{i}",
                "prompt": f"What is 7 times {i}?",
                "reference": str(i * 7),
                "data_classes": "pii" if i == 11 else "",
                "open_response": open_text,
                "closed_response": closed_text,
            }
        )
    data = csv_file(tmp_path / "recorded.csv", rows)
    out = tmp_path / "run"
    assert CliRunner().invoke(app, ["gaptest", "run", str(data), "--out", str(out)]).exit_code == 0
    return out


def _score(run: Path, config: Path, *judges: str) -> dict[str, Any]:
    args = ["gaptest", "score", str(run), "--config", str(config), "--json"]
    for spec in judges:
        args += ["--judge", spec]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _verdicts(run: Path, judge: str) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in (run / "verdicts.jsonl").read_text().splitlines()]
    return [v for v in lines if v["judge"] == judge]


def test_pairwise_asks_both_orders_and_records_how(
    run: Path, judge: tuple[Path, list[dict[str, Any]]]
) -> None:
    config, calls = judge
    summary = _score(run, config, "llm-pairwise:model=fair")
    assert summary["verdicts"] == {"llm-pairwise:model=fair": 12}
    assert len(calls) == 24  # every pair asked twice, once in each order
    verdicts = {v["item"]: v for v in _verdicts(run, "llm-pairwise:model=fair")}
    assert verdicts["q0"]["winner"] == "tie"  # both right
    assert verdicts["q1"]["winner"] == "closed"
    assert verdicts["q2"]["winner"] == "open"
    meta = verdicts["q1"]["meta"]
    assert meta["judge_model"] == "fair" and meta["prompt_version"] == "parity-judge-v1"
    assert len(meta["prompt_sha"]) == 12 and len(meta["replies"]) == 2
    record = json.loads((run / "run.json").read_text())["judge_prompts"]["llm-pairwise:model=fair"]
    assert record["model"] == "fair" and record["sha"] == meta["prompt_sha"]
    assert "[[TIE]]" in record["template"] and record["version"] == "parity-judge-v1"
    # Each pair is asked twice with the answers swapped.
    asked = []
    for call in calls:
        text = call["messages"][-1]["content"]
        sides = [text.split(f"[Answer {x}]\n")[1].split("\n[End")[0] for x in "AB"]
        asked.append((text.split("\n")[1], sides[0], sides[1]))
        assert call["temperature"] == 0
    assert sorted(asked) == sorted((q, b, a) for q, a, b in asked)


def test_position_bias_cancels_out_and_garbage_is_not_a_verdict(
    run: Path, judge: tuple[Path, list[dict[str, Any]]]
) -> None:
    config, _ = judge
    _score(run, config, "llm-pairwise:model=biased")
    assert {v["winner"] for v in _verdicts(run, "llm-pairwise:model=biased")} == {"tie"}
    summary = _score(run, config, "llm-single:model=garbled")
    assert summary["verdicts"] == {"llm-single:model=garbled": 0}
    assert summary["failed"] == {"llm-single:model=garbled": 24}


def test_single_scores_and_vendor_judges_never_see_sensitive_prompts(
    run: Path, judge: tuple[Path, list[dict[str, Any]]]
) -> None:
    config, calls = judge
    summary = _score(run, config, "llm-single:model=fair-vendor")
    assert summary["withheld"] == {"llm-single:model=fair-vendor": 1}
    assert not any("7 times 11" in c["messages"][-1]["content"] for c in calls)
    scores = {
        (v["item"], v["model"]): v["score"] for v in _verdicts(run, "llm-single:model=fair-vendor")
    }
    assert scores[("q1", "closed")] == pytest.approx(8 / 9)  # rated 9 of 10
    assert scores[("q1", "open")] == pytest.approx(1 / 9)  # rated 2 of 10
    assert ("q11", "open") not in scores


def test_agreement_with_a_human_from_the_documented_file_format(
    run: Path, judge: tuple[Path, list[dict[str, Any]]]
) -> None:
    config, _ = judge
    _score(run, config, "llm-pairwise:model=fair")
    # What the web dashboard would append: the same lines as the terminal writes.
    with (run / "human.jsonl").open("a") as handle:
        for i in range(12):
            winner = "tie" if i % 3 == 0 else "closed" if i % 3 == 1 else "open"
            if i == 5:
                winner = "closed"  # one disagreement with the LLM judge
            shown = ["open", "closed"] if i % 2 else ["closed", "open"]
            choice = "tie" if winner == "tie" else "A" if shown[0] == winner else "B"
            handle.write(
                json.dumps(
                    {
                        "v": 1,
                        "item": f"q{i}",
                        "judge": "human:web-user",
                        "shown": shown,
                        "choice": choice,
                        "winner": winner,
                        "ui": "web",
                        "ts": time.time(),
                    }
                )
                + "\n"
            )
    result = CliRunner().invoke(app, ["gaptest", "report", str(run), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (agreement,) = report["agreement"]
    assert agreement["judges"] == ["human:web-user", "llm-pairwise:model=fair"]
    assert agreement["n"] == 12 and agreement["agreement"] == pytest.approx(11 / 12)
    assert 0.8 < agreement["kappa"] < 1.0
    (differ,) = agreement["differ"]
    assert differ["item"] == "q5"
    assert (differ["human:web-user"], differ["llm-pairwise:model=fair"]) == ("closed", "open")
    assert (
        "Where human:web-user and llm-pairwise:model=fair differ"
        in (run / "report" / "report.html").read_text()
    )
