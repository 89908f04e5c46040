"""Label files: any valid file is read; a bad line is named with its line number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.errors import ConfigError
from parity.training.answer_checks import CHECK_NAMES, answer_checks, safe_arithmetic
from parity.training.labels import read_labels, read_prompts, render_messages
from tests.training.conftest import GSM8K, MT_BENCH, STRONG, WEAK


def _write(path: Path, *objects: object) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return path


def test_the_shipped_label_files_read_and_match_routellm() -> None:
    gsm8k = read_labels(GSM8K)
    assert len(gsm8k) == 1307  # 1,319 problems less the 12 contaminated ones
    assert gsm8k.scores(WEAK).mean() == pytest.approx(0.637, abs=0.001)
    assert gsm8k.scores(STRONG).mean() == pytest.approx(0.858, abs=0.001)
    assert all(WEAK in r.responses for r in gsm8k.records)
    mt_bench = read_labels(MT_BENCH)
    assert len(mt_bench) == 80
    assert all(0 <= s <= 1 for r in mt_bench.records for s in r.scores.values())


def test_messages_records_and_optional_fields_are_accepted(tmp_path: Path) -> None:
    labels = read_labels(
        _write(
            tmp_path / "l.jsonl",
            {"id": "a", "prompt": "hi", "scores": {"m": 1}},
            {
                "id": 7,
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": [{"type": "text", "text": "sum 2 and 2"}]},
                ],
                "scores": {"m": 0.25, "n": 0.5},
                "cost": {"m": 0.001},
                "category": "math",
            },
        )
    )
    assert [r.id for r in labels.records] == ["a", "7"]
    assert labels.records[1].text == "system: be brief\n\nuser: sum 2 and 2"
    assert labels.models() == ["m", "n"]
    assert len(labels.with_models(["n"])) == 1
    assert render_messages([{"role": "user", "content": "x"}]) == "x"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "scores": {"m": 1}}', "needs a non-empty 'prompt'"),
        ('{"id": "a", "prompt": "p", "scores": {"m": 1.5}}', "between 0 and 1"),
        ('{"id": "a", "prompt": "p", "scores": {}}', "'scores' must be an object"),
        ('{"prompt": "p", "scores": {"m": 1}}', "'id' must be"),
        ('{"id": "a", "prompt": "p", "scores": {"m": 1}, "cost": {"m": -1}}', "non-negative"),
        ("not json", "not JSON"),
    ],
)
def test_bad_lines_name_their_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "prompt": "p", "scores": {"m": 1}}\n' + line + "\n")
    with pytest.raises(ConfigError) as caught:
        read_labels(path)
    assert caught.value.line == 2
    assert message in caught.value.message


def test_duplicate_ids_and_missing_files_are_errors(tmp_path: Path) -> None:
    row = {"id": "a", "prompt": "p", "scores": {"m": 1}}
    with pytest.raises(ConfigError, match="duplicate id"):
        read_labels(_write(tmp_path / "d.jsonl", row, row))
    with pytest.raises(ConfigError, match="cannot read"):
        read_labels(tmp_path / "missing.jsonl")


def test_prompt_files_default_ids_to_line_numbers(tmp_path: Path) -> None:
    prompts = read_prompts(
        _write(tmp_path / "p.jsonl", {"prompt": "x"}, {"id": "b", "prompt": "y"})
    )
    assert [(p.id, p.text) for p in prompts] == [("1", "x"), ("b", "y")]


def test_safe_arithmetic_evaluates_only_arithmetic() -> None:
    assert safe_arithmetic("2+3*4") == 14
    assert safe_arithmetic("1,200 / 4") == 300
    assert safe_arithmetic("__import__('os').getcwd()") is None
    assert safe_arithmetic("1/0") is None


def test_answer_checks_catch_wrong_arithmetic_and_a_missing_answer() -> None:
    checks = dict(
        zip(CHECK_NAMES, answer_checks("Ann has 3 bags of 4.", "3*4 = 13\n#### 13"), strict=True)
    )
    assert checks["calculations"] == 1
    assert checks["wrong_calculations"] == 1
    assert checks["has_final_answer"] == 1
    assert checks["prompt_numbers_used"] == 1.0
    right = dict(
        zip(CHECK_NAMES, answer_checks("Ann has 3 bags of 4.", "<<3*4=12>> so 12"), strict=True)
    )
    assert right["wrong_calculations"] == 0
    assert right["has_final_answer"] == 0
