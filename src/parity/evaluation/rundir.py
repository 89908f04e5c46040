"""A run directory: the one place a gap test keeps its prompts, answers, verdicts and report.

Layout (every ``.jsonl`` file is one JSON object per line, appended as work finishes, so a
killed run loses at most the line being written)::

    RUN/run.json         manifest: models, prices, parameters, status, spend
    RUN/items.jsonl      the prompts, as loaded
    RUN/answers.jsonl    one line per answer (the last line for an item and model wins)
    RUN/verdicts.jsonl   automatic judges' verdicts
    RUN/human.jsonl      blind human verdicts (terminal or web; see docs/gaptest.md)
    RUN/report/          report.html, report.md, report.json
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from parity.errors import InputError
from parity.evaluation.records import Answer, Item, Verdict

__all__ = ["NEXT_STEP", "JsonlWriter", "Manifest", "ModelInfo", "RunDir", "read_jsonl"]

NEXT_STEP = (
    "judge it with 'parity gaptest score RUN --judge numeric' (a reference judge) "
    "or blind with 'parity gaptest judge RUN'"
)
"""What to do with a run that has no verdicts ('RUN' stands for its folder)."""

FORMAT_VERSION = 1


class ModelInfo(BaseModel):
    """What the run knew about one model when it ran."""

    model_config = ConfigDict(extra="ignore")

    id: str
    provider: str | None = None
    residency: str | None = None
    price_input: float | None = Field(None, description="USD per 1M input tokens, if known.")
    price_output: float | None = Field(None, description="USD per 1M output tokens, if known.")
    recorded: bool = Field(False, description="Answers came from the dataset, not a live call.")


class Manifest(BaseModel):
    """run.json: what was run, how, and how far it got."""

    model_config = ConfigDict(extra="ignore")

    version: int = FORMAT_VERSION
    created: float = Field(default_factory=time.time)
    source: str = ""
    models: list[ModelInfo] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    judges: list[str] = Field(default_factory=list)
    judge_prompts: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="LLM judges: model, prompt version and exact text."
    )
    items: int = 0
    status: str = "new"
    spent_usd: float = 0.0
    max_cost_usd: float | None = None

    def model(self, model_id: str) -> ModelInfo | None:
        """The info of ``model_id``, if it was in the run."""
        return next((m for m in self.models if m.id == model_id), None)

    @property
    def model_ids(self) -> list[str]:
        """The models in the order they were given."""
        return [m.id for m in self.models]


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Each JSON object in a JSONL file; a torn last line (from a kill) is skipped."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        lines = handle.read().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if number == len(lines):
                return  # a write cut short by a kill; the work is redone on resume
            raise InputError(f"line {number} is not JSON: {exc}", path=str(path)) from exc
        if not isinstance(data, dict):
            raise InputError(f"line {number} is not a JSON object", path=str(path))
        yield data


class JsonlWriter:
    """Appends JSON lines and flushes each one to disk, so finished work survives a kill."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair(path)
        self._handle = path.open("ab")

    @staticmethod
    def _repair(path: Path) -> None:
        """Cut a torn last line left by a kill, so new lines start clean."""
        if not path.exists() or path.stat().st_size == 0:
            return
        data = path.read_bytes()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        with path.open("r+b") as handle:
            handle.truncate(cut)

    def write(self, data: dict[str, Any], *, sync: bool = True) -> None:
        """Append one object; with ``sync``, make it durable before returning."""
        self._handle.write(orjson.dumps(data) + b"\n")
        if sync:
            self.sync()

    def sync(self) -> None:
        """Flush everything written so far to disk."""
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Flush and close the file."""
        self.sync()
        self._handle.close()


class RunDir:
    """Reads and writes the files of one run directory."""

    def __init__(self, path: Path):
        self.path = path

    @property
    def manifest_path(self) -> Path:
        return self.path / "run.json"

    @property
    def items_path(self) -> Path:
        return self.path / "items.jsonl"

    @property
    def answers_path(self) -> Path:
        return self.path / "answers.jsonl"

    @property
    def verdicts_path(self) -> Path:
        return self.path / "verdicts.jsonl"

    @property
    def human_path(self) -> Path:
        return self.path / "human.jsonl"

    @property
    def report_dir(self) -> Path:
        return self.path / "report"

    def exists(self) -> bool:
        """True when a run has been started here."""
        return self.manifest_path.is_file()

    def require(self) -> RunDir:
        """This run, or a InputError saying it is not one."""
        if not self.exists():
            raise InputError(f"{self.path} is not a gap-test run (no run.json)")
        return self

    def read_manifest(self) -> Manifest:
        """run.json."""
        self.require()
        return Manifest.model_validate_json(self.manifest_path.read_bytes())

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace run.json atomically."""
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_suffix(".tmp")
        tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(self.manifest_path)

    def write_items(self, items: Iterable[Item]) -> None:
        """Replace items.jsonl."""
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.items_path.with_suffix(".tmp")
        tmp.write_bytes(b"".join(orjson.dumps(i.to_json()) + b"\n" for i in items))
        tmp.replace(self.items_path)

    def items(self) -> list[Item]:
        """The prompts of this run."""
        return [Item.from_json(d) for d in read_jsonl(self.items_path)]

    def answers(self) -> dict[tuple[str, str], Answer]:
        """The latest answer for each (item, model)."""
        latest: dict[tuple[str, str], Answer] = {}
        for data in read_jsonl(self.answers_path):
            answer = Answer.from_json(data)
            latest[(answer.item, answer.model)] = answer
        return latest

    def verdicts(self) -> list[Verdict]:
        """Automatic verdicts, in the order they were written."""
        return [Verdict.from_json(d) for d in read_jsonl(self.verdicts_path)]

    def replace_verdicts(self, verdicts: Iterable[Verdict], judges: set[str]) -> None:
        """Drop earlier verdicts of ``judges`` and write ``verdicts`` in their place."""
        kept = [v for v in self.verdicts() if v.judge not in judges]
        tmp = self.verdicts_path.with_suffix(".tmp")
        tmp.write_bytes(b"".join(orjson.dumps(v.to_json()) + b"\n" for v in [*kept, *verdicts]))
        tmp.replace(self.verdicts_path)
