"""Label files (contract: docs/router.md): one JSON object per line, a prompt and its scores.

Any valid label file is accepted, whoever wrote it: the RouteLLM-derived files in
``examples/labels/`` and ``parity gaptest labels`` produce the same format.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError

__all__ = [
    "LabelRecord",
    "LabelSet",
    "PromptRecord",
    "read_labels",
    "read_prompts",
    "render_messages",
    "text_key",
    "write_labels",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PromptRecord:
    """A prompt to score: its id and the text the router sees."""

    id: str
    text: str
    answer: str | None = None


@dataclass(frozen=True)
class LabelRecord:
    """One labelled prompt: quality per model on a 0-1 scale, and optionally answers and costs."""

    id: str
    text: str
    scores: Mapping[str, float]
    responses: Mapping[str, str] = field(default_factory=dict)
    cost: Mapping[str, float] = field(default_factory=dict)
    category: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class LabelSet:
    """The records of one label file and the SHA-256 of its bytes."""

    records: tuple[LabelRecord, ...]
    sha256: str
    path: str

    def __len__(self) -> int:
        return len(self.records)

    def models(self) -> list[str]:
        """Every model that has a score somewhere in the file, sorted."""
        return sorted({m for r in self.records for m in r.scores})

    def with_models(self, models: Iterable[str]) -> LabelSet:
        """Only the records that score every one of ``models``."""
        wanted = list(models)
        kept = tuple(r for r in self.records if all(m in r.scores for m in wanted))
        return LabelSet(kept, self.sha256, self.path)

    def scores(self, model: str) -> FloatArray:
        """The scores of ``model`` in record order (every record must have one)."""
        return np.array([r.scores[model] for r in self.records], dtype=np.float64)

    def texts(self) -> list[str]:
        return [r.text for r in self.records]


def render_messages(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text a router sees for a chat: a lone user message is its content, unchanged.

    Longer chats keep their roles so that the same chat always renders the same way, in
    training and in the gateway.
    """
    parts: list[tuple[str, str]] = []
    for message in messages:
        role = str(message.get("role", "user"))
        parts.append((role, _content_text(message.get("content"))))
    if len(parts) == 1 and parts[0][0] == "user":
        return parts[0][1]
    return "\n\n".join(f"{role}: {text}" for role, text in parts)


def text_key(text: str) -> str:
    """A stable key for a prompt text (the embedding cache and train/evaluate overlap use it)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def read_labels(path: str | Path) -> LabelSet:
    """Read and validate a label file; a bad line raises ``ConfigError`` naming the line."""
    file = Path(path)
    data = _read_bytes(file)
    records: list[LabelRecord] = []
    seen: set[str] = set()
    for number, obj in _json_lines(data, file):
        record = _label_record(obj, number, str(file))
        if record.id in seen:
            raise ConfigError(f"duplicate id {record.id!r}", path=str(file), line=number)
        seen.add(record.id)
        records.append(record)
    if not records:
        raise ConfigError("the label file has no records", path=str(file))
    return LabelSet(tuple(records), hashlib.sha256(data).hexdigest(), str(file))


def read_prompts(path: str | Path) -> list[PromptRecord]:
    """Read prompts to score: label-file lines without scores (``id`` defaults to the line)."""
    file = Path(path)
    out: list[PromptRecord] = []
    for number, obj in _json_lines(_read_bytes(file), file):
        ident = str(obj.get("id", number))
        answer = obj.get("answer")
        if answer is not None and not isinstance(answer, str):
            raise ConfigError("'answer' must be a string", path=str(file), line=number)
        out.append(PromptRecord(ident, _record_text(obj, number, str(file)), answer))
    return out


def write_labels(records: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write label objects one per line; returns how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for obj in records:
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            count += 1
    return count


def _read_bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=str(file)) from exc


def _json_lines(data: bytes, file: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not JSON: {exc.msg}", path=str(file), line=number) from exc
        if not isinstance(obj, dict):
            raise ConfigError("each line must be a JSON object", path=str(file), line=number)
        yield number, obj


def _label_record(obj: dict[str, Any], line: int, path: str) -> LabelRecord:
    ident = obj.get("id")
    if not isinstance(ident, str | int) or isinstance(ident, bool) or str(ident) == "":
        raise ConfigError("'id' must be a non-empty string", path=path, line=line)
    category = obj.get("category")
    if category is not None and not isinstance(category, str):
        raise ConfigError("'category' must be a string", path=path, line=line)
    return LabelRecord(
        id=str(ident),
        text=_record_text(obj, line, path),
        scores=_number_map(obj.get("scores"), "scores", line, path, unit=True, required=True),
        responses=_string_map(obj.get("responses"), line, path),
        cost=_number_map(obj.get("cost"), "cost", line, path, unit=False, required=False),
        category=category,
        raw=obj,
    )


def _record_text(obj: Mapping[str, Any], line: int, path: str) -> str:
    prompt, messages = obj.get("prompt"), obj.get("messages")
    if isinstance(prompt, str) and prompt.strip():
        return prompt
    if isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages):
        return render_messages(messages)
    raise ConfigError(
        "needs a non-empty 'prompt' string or a 'messages' list", path=path, line=line
    )


def _number_map(
    value: Any, name: str, line: int, path: str, *, unit: bool, required: bool
) -> dict[str, float]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or (required and not value):
        raise ConfigError(f"'{name}' must be an object of model -> number", path=path, line=line)
    out: dict[str, float] = {}
    for model, number in value.items():
        ok = isinstance(number, int | float) and not isinstance(number, bool)
        if not ok or not math.isfinite(number) or number < 0 or (unit and number > 1):
            bound = "between 0 and 1" if unit else "a non-negative number"
            raise ConfigError(f"'{name}.{model}' must be {bound}", path=path, line=line)
        out[str(model)] = float(number)
    return out


def _string_map(value: Any, line: int, path: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError("'responses' must be an object of model -> text", path=path, line=line)
    return {str(k): v for k, v in value.items()}


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        texts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "\n".join(t for t in texts if isinstance(t, str))
    return ""
