"""Settings: file + environment + flags, and line-numbered errors for bad configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.config import LOCAL_MODEL_ID, check_config_file, load_settings
from parity.errors import ConfigError

GOOD = """\
server:
  port: 9001
models:
  - id: local/smollm2
    provider: local
    residency: on_prem
  - id: gpt-4o
    provider: openai
    base_url: https://api.openai.com/v1
    api_key_env: OPENAI_API_KEY
    residency: vendor
    price: {input: 2.5, output: 10}
routes:
  parity/auto: {default: gpt-4o}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "parity.yaml"
    path.write_text(text)
    return path


def test_no_config_serves_the_local_model_only() -> None:
    settings = load_settings(None, env={})
    assert [m.id for m in settings.models] == [LOCAL_MODEL_ID]
    assert settings.auto_target == LOCAL_MODEL_ID
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000


def test_frontier_models_are_added_when_their_keys_are_set() -> None:
    settings = load_settings(None, env={"OPENAI_API_KEY": "sk-x", "ANTHROPIC_API_KEY": "sk-y"})
    ids = [m.id for m in settings.models]
    assert ids[0] == LOCAL_MODEL_ID
    assert {"gpt-5.4", "gpt-5.4-mini", "claude-sonnet-4-6", "claude-opus-4-7"} <= set(ids)
    gpt = settings.deployment("gpt-5.4")
    assert gpt is not None and gpt.price.input == 2.50 and gpt.residency.value == "vendor"


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    from_file = load_settings(path, env={})
    assert from_file.server.port == 9001
    from_env = load_settings(path, env={"PARITY_PORT": "9002"})
    assert from_env.server.port == 9002
    from_flag = load_settings(path, env={"PARITY_PORT": "9002"}, overrides={"server.port": 9003})
    assert from_flag.server.port == 9003
    assert from_flag.auto_target == "gpt-4o"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    settings = load_settings(None, env={"PARITY_CONFIG": str(path)})
    assert settings.source == str(path)
    assert settings.deployment("gpt-4o") is not None


def test_check_reports_each_error_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
server:
  port: 99999
models:
  - id: a
    provider: openai
    residency: vendor
  - id: b
    provider: carrier-pigeon
    price: {input: -1}
    colour: blue
routes:
  parity/auto: {default: nowhere}
""",
    )
    problems = check_config_file(path)
    by_location = {p.location: p for p in problems}
    assert by_location["server.port"].line == 2
    assert by_location["models.1.provider"].line == 8
    assert by_location["models.1.price.input"].line == 9
    assert by_location["models.1.colour"].line == 10
    assert "unknown field 'colour'" in by_location["models.1.colour"].message


def test_route_to_an_unlisted_model_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
models:
  - id: a
    provider: openai
    base_url: http://x/v1
routes:
  parity/auto:
    default: nowhere
""",
    )
    [problem] = check_config_file(path)
    assert problem.line == 7
    assert "nowhere" in problem.message


def test_bad_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "models:\n  - id: a\n    provider: [unclosed\n")
    [problem] = check_config_file(path)
    assert problem.line is not None and problem.line >= 3
    assert "YAML" in problem.message


def test_load_settings_raises_one_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "server:\n  port: nope\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert info.value.line == 2
    assert "server.port" in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_settings(tmp_path / "absent.yaml", env={})


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "models:\n  - {id: a, provider: local}\n  - {id: a, provider: openai, base_url: http://x}\n",
    )
    problems = check_config_file(path)
    assert any("duplicate model id 'a'" in p.message and p.line == 3 for p in problems)


def test_openai_deployment_without_base_url_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "models:\n  - id: a\n    provider: openai\n")
    [problem] = check_config_file(path)
    assert "base_url" in problem.message
    assert problem.line == 2


def test_drop_params_is_checked_at_its_line_with_a_hint(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
drop_params: [n, temprature]
models:
  - id: local/smollm2
    provider: local
    drop_param: true
  - id: b
    provider: openai
    base_url: http://x/v1
    drop_params: maybe
""",
    )
    by_location = {p.location: p for p in check_config_file(path)}
    assert by_location["drop_params.1"].line == 1
    assert "did you mean 'temperature'?" in by_location["drop_params.1"].message
    assert by_location["models.0.drop_param"].line == 5
    assert "did you mean 'drop_params'?" in by_location["models.0.drop_param"].message
    assert by_location["models.1.drop_params"].line == 9
    assert "true or false or a list" in by_location["models.1.drop_params"].message


def test_drop_params_takes_true_false_or_names(tmp_path: Path) -> None:
    path = write(tmp_path, "drop_params: [n, max_tokens]\n" + GOOD)
    assert load_settings(path, env={}).drop_params == ["n", "max_tokens"]
    assert load_settings(write(tmp_path, "drop_params: true\n" + GOOD), env={}).drop_params
