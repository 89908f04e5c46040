"""The gap-test runs under the dashboard's runs folder, found and named safely.

A run is named by its path relative to the runs folder (``first`` or ``team/first``). Names come
from URLs, so ``resolve_run`` accepts only a name that stays inside the folder and holds a
``run.json``: a crafted name cannot reach any other directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from parity.errors import ConfigError
from parity.evaluation.rundir import Manifest, RunDir

__all__ = ["RunSummary", "list_runs", "read_report", "resolve_run", "summarise"]

MAX_DEPTH = 3


@dataclass(slots=True)
class RunSummary:
    """What the runs table shows about one run."""

    name: str
    run: RunDir
    manifest: Manifest | None
    problem: str = ""
    human_lines: int = 0
    report: dict[str, Any] | None = None
    pairs: list[dict[str, Any]] = field(default_factory=list)


def resolve_run(root: Path, name: str) -> RunDir | None:
    """The run called ``name`` under ``root``, or None when there is no such run."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or any(p in ("..", ".", "") for p in parts):
        return None
    path = root.joinpath(*parts)
    try:
        resolved = path.resolve()
    except OSError:
        return None
    if not resolved.is_relative_to(root.resolve()):
        return None
    run = RunDir(resolved)
    return run if run.exists() else None


def _line_count(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def read_report(run: RunDir) -> dict[str, Any] | None:
    """The run's report.json, if a report was written."""
    path = run.report_dir / "report.json"
    if not path.is_file():
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def summarise(root: Path, run: RunDir) -> RunSummary:
    """Manifest, human verdict count and report of one run (a broken run.json is reported)."""
    name = run.path.relative_to(root.resolve()).as_posix()
    try:
        manifest = run.read_manifest()
    except (ConfigError, ValueError) as exc:
        return RunSummary(name, run, None, problem=str(exc))
    report = read_report(run)
    pairs = list(report.get("pairs") or []) if report else []
    return RunSummary(name, run, manifest, "", _line_count(run.human_path), report, pairs)


def list_runs(root: Path) -> list[RunSummary]:
    """Every run under ``root`` (up to three folders deep), newest first."""
    if not root.is_dir():
        return []
    found: list[RunSummary] = []
    base = root.resolve()

    def walk(folder: Path, depth: int) -> None:
        if RunDir(folder).exists():
            found.append(summarise(base, RunDir(folder)))
            return
        if depth >= MAX_DEPTH:
            return
        try:
            children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            return
        for child in children:
            if not child.name.startswith("."):
                walk(child, depth + 1)

    walk(base, 0)
    found.sort(key=lambda s: -(s.manifest.created if s.manifest else 0.0))
    return found
