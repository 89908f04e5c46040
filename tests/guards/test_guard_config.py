"""Guard configuration errors stop the start, each at its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from parity.config import check_config_file, load_settings
from parity.errors import ConfigError


def _config(**changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "models": [
            {"id": "open", "provider": "openai", "base_url": "http://127.0.0.1:9/v1",
             "residency": "on_prem"},
            {"id": "closed", "provider": "openai", "base_url": "http://127.0.0.1:9/v1"},
            {"id": "guard", "provider": "openai", "base_url": "http://127.0.0.1:9/v1",
             "residency": "on_prem"},
        ],
        "guards": {"safety": {"deployment": "guard", "format": "llama_guard"}},
        "routes": {
            "parity/auto": {
                "default": "open",
                "guard": {"guard": "safety", "check": "both",
                          "categories": {"S1": "block", "S10": {"reroute": "closed"}}},
            }
        },
    }  # fmt: skip
    for key, value in changes.items():
        config[key] = value
    return config


def _problems(tmp_path: Path, config: dict[str, Any]) -> list[str]:
    path = tmp_path / "parity.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return [str(p) for p in check_config_file(path)]


def _line_of(tmp_path: Path, needle: str) -> int:
    lines = (tmp_path / "parity.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_a_good_guard_config_loads(tmp_path: Path) -> None:
    assert _problems(tmp_path, _config()) == []
    settings = load_settings(tmp_path / "parity.yaml")
    guard = settings.routes["parity/auto"].guard
    assert guard is not None and guard.on_guard_error == "fail_closed"  # the default


def test_an_unknown_guard_format_is_an_error_at_its_line(tmp_path: Path) -> None:
    config = _config(guards={"safety": {"deployment": "guard", "format": "shieldgemma"}})
    problems = _problems(tmp_path, config)
    assert len(problems) == 1
    assert f":{_line_of(tmp_path, 'shieldgemma')}:" in problems[0]
    assert "llama_guard" in problems[0] and "openai_moderation" in problems[0]


def test_an_unknown_category_is_an_error_at_its_line(tmp_path: Path) -> None:
    config = _config()
    config["routes"]["parity/auto"]["guard"]["categories"] = {"S1": "block", "violence": "flag"}
    problems = _problems(tmp_path, config)
    assert len(problems) == 1
    assert f":{_line_of(tmp_path, 'violence')}:" in problems[0]
    assert "unknown llama_guard category 'violence'" in problems[0]
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "parity.yaml")
    assert caught.value.line == _line_of(tmp_path, "violence")


def test_moderation_categories_are_checked_against_their_own_list(tmp_path: Path) -> None:
    config = _config(guards={"safety": {"deployment": "guard", "format": "openai_moderation"}})
    problems = _problems(tmp_path, config)  # S1 and S10 are Llama Guard codes
    assert "unknown openai_moderation category 'S1'" in problems[0]
    config["routes"]["parity/auto"]["guard"]["categories"] = {"violence/graphic": "block"}
    assert _problems(tmp_path, config) == []


def test_a_vendor_guard_is_refused_while_sensitive_data_stays_local(tmp_path: Path) -> None:
    config = _config(
        guards={"safety": {"deployment": "closed", "format": "llama_guard"}},
        enforce={"sensitive_to_vendor": "on_prem"},
    )
    problems = _problems(tmp_path, config)
    assert len(problems) == 1
    assert f":{_line_of(tmp_path, 'deployment: closed')}:" in problems[0]
    assert "vendor deployment" in problems[0] and "sensitive" in problems[0]
    config["enforce"] = {"sensitive_to_vendor": "allow"}
    assert _problems(tmp_path, config) == []  # the owner allowed data to leave
    config["routes"]["parity/auto"]["default"] = {"route": "open", "keep_on_prem": True}
    problems = _problems(tmp_path, config)
    assert "keeps data on premises" in problems[0]


def test_guard_references_must_exist(tmp_path: Path) -> None:
    config = _config()
    config["routes"]["parity/auto"]["guard"]["guard"] = "nope"
    assert "guard 'nope', which is not under guards" in _problems(tmp_path, config)[0]
    config = _config()
    config["routes"]["parity/auto"]["guard"]["categories"]["S10"] = {"reroute": "gone"}
    assert "re-route target 'gone' is not a listed model" in _problems(tmp_path, config)[0]
    config = _config(guards={"safety": {"deployment": "missing", "format": "llama_guard"}})
    assert "'missing', which is not a listed model" in _problems(tmp_path, config)[0]
    config = _config()
    config["routes"]["parity/auto"]["guard"]["on_guard_error"] = "ignore"
    assert "fail_closed" in _problems(tmp_path, config)[0]
