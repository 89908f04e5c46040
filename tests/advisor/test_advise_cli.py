"""parity advise as a user runs it: flags, an answers file, prompts, and --write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner, Result

from parity.cli import advise
from parity.config import check_config_file
from tests.advisor.test_profiles import HOSPITAL, SCALE, STARTUP


def run(*args: str, stdin: str | None = None) -> Result:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """parity"""

    advise.register(app)
    return CliRunner().invoke(app, ["advise", *args], input=stdin, env={"COLUMNS": "200"})


def flags(answers: dict[str, Any]) -> list[str]:
    out: list[str] = []
    names = {"tokens_per_day": "--tokens-per-day", "regions": "--region"}
    for key, value in answers.items():
        flag = names.get(key, "--" + key.replace("_", "-"))
        for item in value if isinstance(value, list) else [value]:
            out += [flag, str(item)]
    return out


def test_flags_give_the_startup_a_closed_answer() -> None:
    result = run(*flags(STARTUP), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["recommendation"] == "closed"
    assert data["cost"]["api"]["annual_usd"] < data["cost"]["self_host"]["annual_usd"]
    assert {r["factor"] for r in data["reasons"]} >= {"volume", "team", "traffic"}
    assert data["catalog_as_of"] == "2026-12-07"


def test_an_answers_file_and_write(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(HOSPITAL))
    target = tmp_path / "parity.yaml"
    result = run("--answers", str(answers), "--write", str(target))
    assert result.exit_code == 0, result.output
    assert "Open: self-host" in result.stdout and "(valid)" in result.stdout
    assert check_config_file(target) == []
    again = run("--answers", str(answers), "--write", str(target))
    assert again.exit_code == 2 and "--force" in again.output
    assert run("--answers", str(answers), "--write", str(target), "--force").exit_code == 0


def test_an_existing_write_target_is_refused_before_the_questions(tmp_path: Path) -> None:
    target = tmp_path / "parity.yaml"
    target.write_text("keep me")
    result = run("--interactive", "--write", str(target), stdin="cloud_ok\n")
    assert result.exit_code == 2 and "--force" in result.output
    assert "sensitivity" not in result.output  # no question asked, no answer lost
    assert target.read_text() == "keep me"


def test_flags_override_the_file(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({**SCALE, "tokens_per_day": "1B"}))
    data = json.loads(run("--answers", str(answers), "--team", "none", "--json").stdout)
    assert data["answers"]["team"] == "none"
    assert data["recommendation"] == "closed"  # no one to run the open lane


def test_interactive_prompts_for_what_is_missing() -> None:
    typed = "\n".join(["some_sensitive", "50M", "steady", "devops", "none", "mixed", "standard"])
    result = run("--interactive", stdin=typed + "\n")
    assert result.exit_code == 0, result.output
    assert "Data sensitivity" in result.output and "Hybrid" in result.output


def test_missing_answers_without_a_terminal_name_the_flags() -> None:
    result = run("--tokens-per-day", "5M", "--no-interactive")
    assert result.exit_code == 2
    assert "--sensitivity" in result.output and "--regulation" in result.output
    bad = run(*flags({**STARTUP, "tokens_per_day": "many"}), "--no-interactive")
    assert bad.exit_code == 2


def test_without_write_nothing_is_written_and_it_says_how(tmp_path: Path) -> None:
    result = run(*flags(SCALE))
    assert result.exit_code == 0, result.output
    assert "nothing written: add --write parity.yaml" in result.stdout
    assert "nothing is written without it" in run("--help").stdout


def test_the_written_comments_are_words_not_python_dicts(tmp_path: Path) -> None:
    target = tmp_path / "parity.yaml"
    assert run(*flags(SCALE), "--write", str(target)).exit_code == 0
    comments = [line for line in target.read_text().splitlines() if line.startswith("#")]
    assert any(line.startswith("#   - when ") for line in comments), comments
    assert not any("{'" in line or "':" in line for line in comments), comments
