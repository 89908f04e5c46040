"""Reference, validity and code judges, alone and combined per category through the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.errors import ConfigError
from parity.evaluation.judges import registry
from parity.evaluation.judges.base import JudgeContext, parse_judge_option
from parity.evaluation.judges.reference import extract_choice, extract_number, normalise
from parity.evaluation.records import Answer, Item, Verdict
from tests.evaluation.helpers import csv_file


def _score(kind: str, item: Item, text: str, **options: str) -> float | None:
    judge = registry()[kind](dict(options), JudgeContext())
    answer = Answer(item=item.id, model="m", text=text)
    verdicts: list[Verdict] = asyncio.run(judge.judge(item, {"m": answer}))
    return verdicts[0].score if verdicts else None


def _item(reference: str | None = None, **meta: object) -> Item:
    return Item(
        id="1", messages=[{"role": "user", "content": "q"}], reference=reference, meta=dict(meta)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so 9 * 2 = 18.\n#### 18", 18.0),
        ("She pays $1,250.50 in total.", 1250.5),
        ("The answer is 42. Check: 40 + 2 = 42 and 3 apples", 42.0),
        ("\\boxed{-3}", -3.0),
        ("no digits here", None),
    ],
)
def test_extract_number(text: str, expected: float | None) -> None:
    assert extract_number(text) == expected


def test_numeric_rules_differ_only_where_documented() -> None:
    item = _item("Half of 40 is <<40/2=20>>20.\n#### 20")
    assert _score("numeric", item, "The net profit is $20.00") == 1.0
    assert _score("numeric", item, "The net profit is $20.00", rule="last_integer") == 0.0
    assert _score("numeric", item, "#### 21") == 0.0
    assert _score("numeric", _item(None), "20") is None  # no reference: no verdict
    with pytest.raises(ConfigError):
        registry()["numeric"]({"rule": "nearest"}, JudgeContext())


def test_exact_normalised_regex_choice() -> None:
    assert _score("exact", _item("Paris"), "  Paris\n") == 1.0
    assert _score("exact", _item("Paris"), "paris") == 0.0
    assert normalise("The Eiffel-Tower!") == "eiffeltower"
    assert _score("normalised", _item("the Paris"), "PARIS.") == 1.0
    assert _score("normalised", _item("Paris"), "It is Paris, of course", contains="true") == 1.0
    assert _score("regex", _item(r"\b4\d{3}\b"), "code 4021 ok") == 1.0
    assert _score("regex", _item("x"), "anything", pattern="^any") == 1.0
    assert extract_choice("Let me think... The answer is (C).") == "C"
    assert _score("choice", _item("B"), "B. Because the others are wrong") == 1.0
    assert _score("choice", _item("B"), "I pick (D)") == 0.0


def test_json_schema_and_tool_calls() -> None:
    schema = {"type": "object", "required": ["total"], "properties": {"total": {"type": "number"}}}
    item = _item(schema=schema)
    assert _score("json", item, '```json\n{"total": 12.5}\n```') == 1.0
    assert _score("json", item, '{"total": "12"}') == 0.0
    assert _score("json", item, "not json") == 0.0
    assert _score("json", item, '```json\n{"total": 1}\n```', strict="true") == 0.0

    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "required": ["city"],
                    "properties": {"city": {"type": "string"}},
                },
            },
        }
    ]
    judge = registry()["tool-calls"]({}, JudgeContext())
    tool_item = _item(tools=tools)

    def calls(*functions: dict[str, object]) -> float | None:
        answer = Answer(
            item="1",
            model="m",
            tool_calls=[
                {"id": f"c{i}", "type": "function", "function": f} for i, f in enumerate(functions)
            ],
        )
        (verdict,) = asyncio.run(judge.judge(tool_item, {"m": answer}))
        return verdict.score

    assert calls({"name": "get_weather", "arguments": '{"city": "Oslo"}'}) == 1.0
    assert calls({"name": "get_weather", "arguments": '{"town": "Oslo"}'}) == 0.0
    assert calls({"name": "get_weather", "arguments": "{city: Oslo"}) == 0.0
    assert calls({"name": "delete_all", "arguments": "{}"}) == 0.0
    assert calls() == 0.0


def test_code_judge_runs_tests_under_limits() -> None:
    tests = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
    item = _item(tests)
    good = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\n"
    assert _score("code", item, good) == 1.0
    assert _score("code", item, "```python\ndef add(a, b):\n    return a - b\n```") == 0.0
    forever = "```python\nwhile True:\n    pass\n```"
    assert _score("code", item, forever, timeout="1") == 0.0
    hog = "```python\nblock = bytearray(2_000_000_000)\ndef add(a, b):\n    return a + b\n```"
    assert _score("code", item, hog, memory_mb="256") == 0.0


def test_judge_option_syntax() -> None:
    assert parse_judge_option("math=numeric:rule=final") == ("math", "numeric", {"rule": "final"})
    assert parse_judge_option("llm-pairwise:model=gpt-4o") == (
        None,
        "llm-pairwise",
        {"model": "gpt-4o"},
    )
    with pytest.raises(ConfigError):
        parse_judge_option("numeric:rule")


def test_judges_combine_per_category_through_the_cli(tmp_path: Path) -> None:
    rows = [
        {
            "id": "m1",
            "category": "math",
            "prompt": "2+2?",
            "reference": "#### 4",
            "tests": "",
            "cheap_response": "It is 4",
            "frontier_response": "#### 4",
        },
        {
            "id": "m2",
            "category": "math",
            "prompt": "3*3?",
            "reference": "#### 9",
            "tests": "",
            "cheap_response": "8",
            "frontier_response": "9",
        },
        {
            "id": "c1",
            "category": "code",
            "prompt": "Write sq(x).",
            "reference": "",
            "tests": "assert sq(3) == 9",
            "cheap_response": "```python\ndef sq(x):\n    return x * x\n```",
            "frontier_response": "```python\ndef sq(x):\n    return x ** 3\n```",
        },
        {
            "id": "j1",
            "category": "extract",
            "prompt": "Give JSON",
            "reference": "",
            "tests": "",
            "cheap_response": '{"total": 3}',
            "frontier_response": "total: 3",
        },
    ]
    prompts = csv_file(tmp_path / "prompts.csv", rows)
    schema = tmp_path / "total.schema.json"
    schema.write_text(json.dumps({"type": "object", "required": ["total"]}))
    judges = tmp_path / "judges.yaml"
    judges.write_text(
        "judges: [numeric]\n"
        "categories:\n"
        "  code: [{kind: code, timeout: 5}]\n"
        f"  extract: [{{kind: json, schema: {schema}}}]\n"
    )
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "gaptest",
            "run",
            str(prompts),
            "--models",
            "cheap,frontier",
            "--judges",
            str(judges),
            "--out",
            str(out),
            "--json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").read_text().splitlines()]
    got = {(v["item"], v["model"]): (v["judge"], v["score"]) for v in verdicts}
    assert got[("m1", "cheap")] == ("numeric", 1.0)
    assert got[("m2", "cheap")] == ("numeric", 0.0)
    assert got[("c1", "cheap")] == ("code:timeout=5", 1.0)
    assert got[("c1", "frontier")] == ("code:timeout=5", 0.0)
    assert got[("j1", "frontier")][1] == 0.0
    # By default each item is decided by the judge of its category.
    report = runner.invoke(app, ["gaptest", "report", str(out), "--json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.stdout)
    assert data["primary_judge"].startswith("auto")
    (pair,) = data["pairs"]
    assert (pair["a"], pair["b"], pair["n"]) == ("cheap", "frontier", 4)
    assert (pair["wins"], pair["ties"], pair["losses"]) == (2, 1, 1)
    assert set(pair["categories"]) == {"math", "code", "extract"}
    assert pair["conclusion"].startswith("too few prompts to conclude")
    # One judge alone decides only what it judged.
    only = runner.invoke(app, ["gaptest", "report", str(out), "--judge", "numeric", "--json"])
    assert json.loads(only.stdout)["pairs"][0]["n"] == 2
