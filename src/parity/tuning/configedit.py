"""Change a parity.yaml for the user: show the change as a unified diff, or write it.

The file is read and written with PyYAML, which keeps no comments: writing keeps the old file
as ``parity.yaml.bak`` and says so, and the diff shows exactly what would change.
"""

from __future__ import annotations

import copy
import difflib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from parity.config import load_settings
from parity.errors import ConfigError

__all__ = ["ConfigChange", "change_config"]

ConfigChange = Callable[[dict[str, Any]], None]


def change_config(path: Path, change: ConfigChange, *, write: bool) -> tuple[str, Path | None]:
    """(the unified diff, the backup written or None); the new config is validated first."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a YAML mapping")
    new = copy.deepcopy(data)
    change(new)
    new_text = yaml.safe_dump(new, sort_keys=False, allow_unicode=True)
    candidate = path.with_name(f".{path.name}.candidate")
    candidate.write_text(new_text, encoding="utf-8")
    try:
        load_settings(candidate, env={})  # never write a config that would not load
    finally:
        candidate.unlink()
    diff = "".join(
        difflib.unified_diff(
            text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=str(path),
            tofile=f"{path} (changed)",
        )
    )
    if not write or not diff:
        return diff, None
    backup = path.with_name(path.name + ".bak")
    shutil.copy2(path, backup)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)
    return diff, backup
