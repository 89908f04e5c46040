"""One training example in OpenAI's chat fine-tuning format, and the JSONL files that hold them.

A line is ``{"messages": [{"role": ..., "content": ...}, ...]}`` ending with the assistant's
answer: the format TRL, Axolotl, Unsloth and OpenAI's fine-tuning all read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from parity.errors import ConfigError

__all__ = [
    "ROLES",
    "Example",
    "normalise",
    "parse_example",
    "prompt_key",
    "read_examples",
    "write_examples",
]

ROLES = frozenset({"system", "user", "assistant"})
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case with runs of white space made one space: what duplicate checks compare."""
    return _SPACE.sub(" ", text.lower()).strip()


def prompt_key(messages: Sequence[dict[str, str]]) -> str:
    """SHA-256 of a conversation's prompt (every message but the last answer), normalised."""
    text = "\x1e".join(f"{m['role']}\x1f{normalise(m['content'])}" for m in messages[:-1])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(slots=True)
class Example:
    """A conversation whose last message is the answer to learn, and where it came from."""

    messages: list[dict[str, str]]
    source: str  # ledger, gaptest or jsonl
    origin: str  # the request id, the gap-test item id, or FILE:LINE
    corrected: bool = False  # the answer is a feedback correction
    data_classes: list[str] = field(default_factory=list)

    @property
    def prompt(self) -> str:
        """Every message but the answer, as one text (for similarity)."""
        return "\n".join(m["content"] for m in self.messages[:-1])

    @property
    def answer(self) -> str:
        """The assistant's answer."""
        return self.messages[-1]["content"]

    @property
    def key(self) -> str:
        """The normalised prompt's SHA-256 (exact duplicates share it)."""
        return prompt_key(self.messages)

    def to_json(self) -> dict[str, Any]:
        """The OpenAI chat fine-tuning line."""
        return {"messages": self.messages}


def parse_example(data: Any, where: str) -> list[dict[str, str]]:
    """The messages of one JSONL line, or a ConfigError naming what is wrong with it."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ConfigError(
            f"{where}: expected an object with a 'messages' list (OpenAI chat format)"
        )
    messages: list[dict[str, str]] = []
    for index, message in enumerate(data["messages"]):
        if not isinstance(message, dict):
            raise ConfigError(f"{where}: messages[{index}] is not an object")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ConfigError(f"{where}: messages[{index}].role must be system, user or assistant")
        if not isinstance(content, str) or not content.strip():
            raise ConfigError(f"{where}: messages[{index}].content must be non-empty text")
        messages.append({"role": str(role), "content": content})
    if len(messages) < 2 or messages[-1]["role"] != "assistant":
        raise ConfigError(f"{where}: the last message must be the assistant's answer")
    if not any(m["role"] == "user" for m in messages):
        raise ConfigError(f"{where}: no user message")
    return messages


def read_examples(path: Path, *, source: str = "jsonl") -> list[Example]:
    """Every example of a chat fine-tuning JSONL file; a ConfigError at the first bad line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    examples: list[Example] = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not JSON ({exc})") from exc
        examples.append(Example(parse_example(data, where), source=source, origin=where))
    if not examples:
        raise ConfigError(f"{path} holds no examples")
    return examples


def write_examples(path: Path, examples: Iterable[Example]) -> bytes:
    """Write a JSONL file atomically; return its bytes (for the content hash)."""
    data = b"".join(orjson.dumps(e.to_json()) + b"\n" for e in examples)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data
