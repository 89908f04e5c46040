"""The GSM8K recorded run end to end: RouteLLM's file of GPT-4 and Mixtral answers, judged
against the GSM8K references, reported, and exported as labels."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parity.cli.main import app

DATA = Path(__file__).resolve().parents[2] / "examples" / "data" / "routellm"
RESPONSES = DATA / "gsm8k_responses.csv"
REFERENCES = DATA / "gsm8k_test.jsonl"
MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
GPT4 = "gpt-4-1106-preview"


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gsm8k") / "run"
    _invoke(
        "gaptest",
        "run",
        str(RESPONSES),
        "--references",
        str(REFERENCES),
        "--judge",
        "numeric:rule=last_integer",
        "--judge",
        "numeric",
        "--out",
        str(out),
        "--json",
    )
    return out


def _file_labels() -> dict[str, dict[str, bool]]:
    with RESPONSES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {m: {str(n): row[m] == "True" for n, row in enumerate(rows, 1)} for m in (MIXTRAL, GPT4)}


def _scores(run: Path, judge: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {MIXTRAL: {}, GPT4: {}}
    for line in (run / "verdicts.jsonl").read_text().splitlines():
        verdict = json.loads(line)
        if verdict["judge"] == judge:
            out[verdict["model"]][verdict["item"]] = verdict["score"]
    return out


def test_reference_judge_reproduces_the_file_on_all_1319_rows(run_dir: Path) -> None:
    scores = _scores(run_dir, "numeric:rule=last_integer")
    labels = _file_labels()
    for model, expected in (("mistralai/Mixtral-8x7B-Instruct-v0.1", 0.638), (GPT4, 0.857)):
        assert len(scores[model]) == 1319  # no row excluded
        accuracy = sum(scores[model].values()) / 1319
        assert round(accuracy, 3) == expected
        disagree = [i for i, s in scores[model].items() if (s == 1.0) != labels[model][i]]
        assert disagree == []


def test_value_comparison_is_reported_beside_the_files_rule(run_dir: Path) -> None:
    # The file's rule reads "$20.00" as 0 (the digits after the point): a value comparison
    # counts those right, so GPT-4 scores higher by it. Both are kept, with their names.
    scores = _scores(run_dir, "numeric")
    gpt4 = sum(scores[GPT4].values()) / 1319
    mixtral = sum(scores[MIXTRAL].values()) / 1319
    assert 0.88 < gpt4 < 0.90
    assert 0.63 < mixtral < 0.645


def test_report_and_labels(run_dir: Path, tmp_path: Path) -> None:
    report = json.loads(
        _invoke("gaptest", "report", str(run_dir), "--judge", "numeric:rule=last_integer", "--json")
    )
    assert report["primary_judge"] == "numeric:rule=last_integer"
    (pair,) = report["pairs"]
    assert (pair["a"], pair["b"], pair["n"]) == (MIXTRAL, GPT4, 1319)
    assert pair["wins"] + pair["ties"] + pair["losses"] == 1319
    assert pair["conclusion"].startswith(f"{GPT4} is better")
    assert pair["parity_rate"]["low"] < pair["parity_rate"]["value"] < pair["parity_rate"]["high"]
    quality = {m["model"]: m["quality"] for m in report["models"]}
    assert round(quality[MIXTRAL], 3) == 0.638 and round(quality[GPT4], 3) == 0.857
    kappa = {tuple(g["judges"]): g["kappa"] for g in report["agreement"]}
    assert kappa[("numeric:rule=last_integer", "recorded")] == pytest.approx(1.0)
    for name in ("report.html", "report.md", "report.json"):
        assert (run_dir / "report" / name).stat().st_size > 0

    lines = _invoke("gaptest", "labels", str(run_dir), "--judge", "recorded").splitlines()
    assert len(lines) == 1319
    first = json.loads(lines[0])
    assert first["prompt"].startswith("Janet")
    assert first["scores"] == {MIXTRAL: 1.0, GPT4: 1.0}
    assert set(first["responses"]) == {MIXTRAL, GPT4}
    # The router's own reader accepts the file (the label-file contract of docs/router.md).
    from parity.training.labels import read_labels

    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(lines) + "\n")
    label_set = read_labels(path)
    assert len(label_set) == 1319 and label_set.models() == sorted([MIXTRAL, GPT4])
    assert label_set.scores(GPT4).mean() == pytest.approx(1130 / 1319)


def test_a_sampled_run_keeps_the_recorded_labels_of_its_sample_only(tmp_path: Path) -> None:
    # The README's local run samples five problems: a recorded model judged on all 1,319 rows
    # beside a live one judged on five would compare two different sets of prompts.
    out = tmp_path / "sampled"
    _invoke(
        "gaptest", "run", str(RESPONSES), "--references", str(REFERENCES),
        "--sample", "5", "--judge", "numeric", "--out", str(out), "--json",
    )  # fmt: skip
    items = {json.loads(line)["id"] for line in (out / "items.jsonl").read_text().splitlines()}
    assert len(items) == 5
    recorded = _scores(out, "recorded")
    for model in (MIXTRAL, GPT4):
        assert set(recorded[model]) == items
    report = json.loads(_invoke("gaptest", "report", str(out), "--json"))
    for row in report["models"]:
        assert row["quality"] * 5 == pytest.approx(round(row["quality"] * 5))  # of five scores
