"""Route rules' `when:` checked at load: every signal, operator and value type, with its line.

A misspelt signal in a privacy rule used to pass `parity config check`; the rule then never
fired and `route explain` sent a card number to the vendor. These tests write the typos a user
makes (the issue's own, and generated ones) into the shipped hybrid policy and check that each
is refused with the line of the typo and a hint, and that pydantic's internals never show.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from parity.config import check_config_file, load_settings
from parity.config.conditions import SIGNAL_FIELDS
from parity.errors import ConfigError
from tests.cli.test_core_commands import parity

HYBRID = Path("examples/policies/hybrid.yaml")
PRIVATE_RULE = "        when: {privacy.sensitive: true}\n"
CARD = "My card is 4111 1111 1111 1111"
INTERNALS = ("function-after", "Input should", "instance of", "[type=", "Then]", "Value error")


def _hybrid_with(tmp_path: Path, when: str) -> tuple[Path, int]:
    """The hybrid policy with its privacy rule's condition replaced; the file and that line."""
    text = HYBRID.read_text()
    assert PRIVATE_RULE in text
    line = text[: text.index(PRIVATE_RULE)].count("\n") + 1
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(PRIVATE_RULE, f"        when: {when}\n"))
    return path, line


@pytest.mark.parametrize(
    ("typo", "hint"),
    [("privacy.sensitiv", "privacy.sensitive"), ("privcy.sensitive", "privacy.sensitive")],
)
def test_the_issues_typos_fail_the_check_with_line_and_hint(
    tmp_path: Path, typo: str, hint: str
) -> None:
    path, line = _hybrid_with(tmp_path, f"{{{typo}: true}}")
    done = parity("config", "check", str(path))
    assert done.returncode == 1, done.stdout
    assert done.stdout.startswith(f"{path}:{line}: "), done.stdout
    assert f"did you mean '{hint}'?" in done.stdout
    # the gateway and route explain refuse the same config instead of routing around the rule
    explained = parity("route", "explain", "--config", str(path), CARD)
    assert explained.returncode != 0
    assert f"{path}:{line}" in explained.stderr and "gpt-4o" not in explained.stdout


def test_the_correct_rule_keeps_the_card_on_premises(tmp_path: Path) -> None:
    path, _ = _hybrid_with(tmp_path, "{privacy.sensitive: true}")
    assert parity("config", "check", str(path)).returncode == 0
    explained = parity("route", "explain", "--config", str(path), CARD, "--json")
    assert explained.returncode == 0, explained.stderr
    assert "private-stays-local" in explained.stdout


def _typos(word: str, rng: random.Random) -> set[str]:
    """A dropped, a doubled, a swapped and a replaced letter, each somewhere in ``word``."""
    i = rng.randrange(1, len(word) - 1)
    found = {
        word[:i] + word[i + 1 :],
        word[:i] + word[i] + word[i:],
        word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :],
        word[:i] + rng.choice("aeioxz") + word[i + 1 :],
    }
    return found - {word}


def _every_path() -> list[str]:
    return [f"{signal}.{name}" for signal, fields in SIGNAL_FIELDS.items() for name in fields]


def test_generated_typos_of_every_signal_path_are_refused_with_a_hint(tmp_path: Path) -> None:
    rng = random.Random(17)
    known = set(_every_path()) | {"difficulty"}
    tried = 0
    for path in _every_path():
        for typo in _typos(path, rng):
            if typo in known or "." not in typo.strip("."):
                continue
            config, line = _hybrid_with(tmp_path, f"{{'{typo}': true}}")
            problems = [p for p in check_config_file(config) if p.level == "error"]
            assert problems, f"{typo} passed the check"
            first = problems[0]
            assert first.line == line, (typo, str(first))
            assert "unknown signal" in first.message, (typo, first.message)
            tried += 1
    assert tried > 150


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ("{difficulty: {gtee: 0.5}}", ["unknown operator 'gtee'", "did you mean 'gte'?"]),
        ("{privacy.sensitive: 'yes'}", ["'privacy.sensitive' is true or false"]),
        ("{privacy.sensitive: {gt: 1}}", ["'gt' compares numbers"]),
        ("{difficulty.score: {gte: high}}", ["'gte' needs a number"]),
        ("{privacy.classes: pii.emial}", ["no data class", "did you mean 'pii.email'?"]),
        ("{privacy.classes: {in: [pii]}}", ["compares the whole list"]),
        ("{shape.response_format: json}", ["never 'json'", "did you mean 'json_object'?"]),
        ("{shape.fits: gpt4o}", ["no listed model", "did you mean 'gpt-4o'?"]),
        ("{any: {shape.json: true}}", ["'any' takes a non-empty list"]),
        ("{}", ["empty condition always matches"]),
        ("{privacy: true}", ["'privacy' alone is not a value"]),
        ("{shape.json.strict: true}", ["not a mapping"]),
        ("{difficulty: []}", ["empty list", "never matches"]),
        ("[{privacy.sensitive: true}]", ["must be a mapping (key: value), got a list"]),
    ],
)
def test_operators_and_value_types_are_checked(tmp_path: Path, when: str, words: list[str]) -> None:
    path, line = _hybrid_with(tmp_path, when)
    problems = [p for p in check_config_file(path) if p.level == "error"]
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].line in (line, line + 1), str(problems[0])
    for word in words:
        assert word in problems[0].message


def test_every_problem_in_one_condition_is_reported(tmp_path: Path) -> None:
    path, line = _hybrid_with(
        tmp_path, "{all: [{privcy.sensitive: true}, {difficulty: {gtee: 1}}, {task.nam: x}]}"
    )
    problems = [p for p in check_config_file(path) if p.level == "error"]
    assert [p.line for p in problems] == [line] * 3
    assert len({p.location for p in problems}) == 3


def test_a_valid_nested_metadata_path_is_accepted(tmp_path: Path) -> None:
    path, _ = _hybrid_with(tmp_path, "{caller.metadata.team: search, difficulty: {gte: 0.2}}")
    assert [p for p in check_config_file(path) if p.level == "error"] == []


def _policy(tmp_path: Path, mutate: Any) -> Path:
    data = yaml.safe_load(HYBRID.read_text())
    mutate(data)
    path = tmp_path / "mutated.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (
            lambda d: d["routes"]["parity/auto"].update(default=["llama-3.1-70b"]),
            "must be a string or a mapping (key: value), got a list",
        ),
        (
            lambda d: d["routes"]["parity/auto"]["rules"][2].update(then=["gpt-4o"]),
            "must be a mapping (key: value), got a list",
        ),
        (
            lambda d: d["routes"]["parity/auto"].update(default={"rout": "gpt-4o"}),
            "unknown field 'rout'; did you mean 'route'?",
        ),
        (
            lambda d: d["routes"]["parity/auto"].update(
                default={"route": "gpt-4o", "cascade": ["x"]}
            ),
            "give exactly one of route, pool, cascade or reject",
        ),
        (lambda d: d.update(models={"id": "x"}), "must be a list, got a mapping"),
        (
            lambda d: d["enforce"].update(sensitive_to_vendor="onprem"),
            "must be one of allow, reject, redact, on_prem, got 'onprem'; did you mean 'on_prem'?",
        ),
        (lambda d: d.update(routs={}), "unknown field 'routs'; did you mean 'routes'?"),
        (
            lambda d: d["models"][0].update(residncy="on_prem"),
            "unknown field 'residncy'; did you mean 'residency'?",
        ),
        (
            lambda d: d["routes"]["parity/auto"]["rules"][0].update(than={}),
            "unknown field 'than'; did you mean 'then'?",
        ),
    ],
)
def test_structure_errors_are_said_in_plain_words(
    tmp_path: Path, mutate: Any, words: str | None
) -> None:
    path = _policy(tmp_path, mutate)
    done = parity("config", "check", str(path))
    assert done.returncode == 1
    for internal in INTERNALS:
        assert internal not in done.stdout, done.stdout
    assert all(
        line.startswith(f"{path}:") and line.split(":")[1].isdigit()
        for line in done.stdout.splitlines()
    ), done.stdout
    if words is not None:
        assert words in done.stdout, done.stdout


def test_serve_and_load_settings_give_the_same_plain_message(tmp_path: Path) -> None:
    path, line = _hybrid_with(tmp_path, "{privcy.sensitive: true}")
    with pytest.raises(ConfigError) as refused:
        load_settings(path)
    assert refused.value.line == line
    assert "did you mean 'privacy.sensitive'?" in refused.value.message
