"""Reading parity.yaml with line numbers, layering environment and flags, and checking."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from parity.catalog.registry import default_catalog
from parity.config.defaults import frontier_deployments, local_deployment
from parity.config.lifecycle import lifecycle_findings
from parity.config.problems import explain
from parity.config.settings import Settings
from parity.errors import ConfigError

__all__ = ["ConfigProblem", "check_config_file", "lifecycle_problems", "load_settings"]


class ConfigProblem(BaseModel):
    """One error in a config file, for ``parity config check``."""

    path: str
    line: int | None
    location: str
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        line = f":{self.line}" if self.line is not None else ""
        where = f" ({self.location})" if self.location else ""
        kind = "warning: " if self.level == "warning" else ""
        return f"{self.path}{line}: {kind}{self.message}{where}"


def _node_line(root: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc``, or of its nearest ancestor."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _problems(error: ValidationError, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    return [
        ConfigProblem(
            path=path,
            line=_node_line(root, loc),
            location=".".join(str(p) for p in loc),
            message=message,
        )
        for loc, message in explain(error, Settings)
    ]


def _read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(path)) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(f"not valid YAML: {exc.problem}", line=line, path=str(path)) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", line=1, path=str(path))
    return data, root


def check_config_file(path: Path, *, today: date | None = None) -> list[ConfigProblem]:
    """Every problem in a config file, warnings included; no error means it is valid."""
    try:
        data, root = _read_yaml(path)
    except ConfigError as exc:
        return [ConfigProblem(path=str(path), line=exc.line, location="", message=exc.message)]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        return _problems(exc, root, str(path))
    return _lifecycle(settings, root, str(path), today)


def lifecycle_problems(settings: Settings, *, today: date | None = None) -> list[ConfigProblem]:
    """Retired (error) and retiring (warning) models in loaded settings, with their lines."""
    root: yaml.Node | None = None
    if settings.source is not None:
        _, root = _read_yaml(Path(settings.source))
    return _lifecycle(settings, root, settings.source or "settings", today)


def _lifecycle(
    settings: Settings, root: yaml.Node | None, path: str, today: date | None
) -> list[ConfigProblem]:
    findings = lifecycle_findings(
        settings.models,
        default_catalog(),
        today=today or datetime.now(UTC).date(),
        warn_days=settings.lifecycle.warn_days,
    )
    return [
        ConfigProblem(
            path=path,
            line=_node_line(root, f.loc),
            location=".".join(str(p) for p in f.loc),
            message=f.message,
            level=f.level,
        )
        for f in findings
    ]


def load_settings(
    config_path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the one Settings object from file, environment and flags.

    ``overrides`` holds flag values keyed like ``server.port``; None values are ignored.
    """
    env = os.environ if env is None else env
    path = config_path or (Path(env["PARITY_CONFIG"]) if env.get("PARITY_CONFIG") else None)
    data: dict[str, Any] = {}
    root: yaml.Node | None = None
    if path is not None:
        data, root = _read_yaml(path)
    layered: dict[str, Any] = {**data}
    for dotted, env_name in (
        ("server.host", "PARITY_HOST"),
        ("server.port", "PARITY_PORT"),
        ("ledger.url", "PARITY_LEDGER_URL"),
        ("limits.redis_url", "PARITY_REDIS_URL"),
    ):
        if env.get(env_name):
            _set(layered, dotted, env[env_name])
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set(layered, dotted, value)
    if path is None:
        layered.setdefault(
            "models",
            [local_deployment().model_dump(), *(d.model_dump() for d in frontier_deployments(env))],
        )
    layered["source"] = str(path) if path is not None else None
    try:
        return Settings.model_validate(layered)
    except ValidationError as exc:
        problems = _problems(exc, root, str(path or "settings"))
        first = problems[0]
        more = (
            f" (and {len(problems) - 1} more; run 'parity config check')"
            if len(problems) > 1
            else ""
        )
        raise ConfigError(
            f"{first.message} ({first.location}){more}",
            line=first.line,
            path=str(path or "settings"),
        ) from exc


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    head, _, tail = dotted.partition(".")
    section = data.setdefault(head, {})
    if not isinstance(section, dict):
        raise ConfigError(f"'{head}' must be a mapping")
    section[tail] = value
