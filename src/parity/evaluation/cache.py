"""The answer cache: a finished answer is never paid for twice.

An answer is found by a key that hashes the model (its id and the name its upstream knows it
by), the messages and every request parameter. The cache is a JSONL file of answers, by
default the run's own answers.jsonl, so re-running a run costs nothing for what it finished;
``--cache FILE`` shares one file between runs. Failures are not cached: they are tried again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson

from parity.evaluation.records import Answer
from parity.evaluation.rundir import JsonlWriter, read_jsonl

__all__ = ["AnswerCache", "cache_key"]


def cache_key(model: str, wire_model: str, body: dict[str, Any]) -> str:
    """The key of one request: model identity plus the whole request body, canonicalised."""
    canonical = orjson.dumps(
        {"model": model, "wire_model": wire_model, "body": body}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


class AnswerCache:
    """Successful answers by key, read from a JSONL file and appended to as answers arrive."""

    def __init__(self, path: Path | None):
        self.path = path
        self._answers: dict[str, Answer] = {}
        self._writer: JsonlWriter | None = None
        if path is not None:
            for data in read_jsonl(path):
                answer = Answer.from_json(data)
                if answer.ok and answer.key:
                    self._answers[answer.key] = answer

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: str) -> Answer | None:
        """The cached answer for ``key``, if one succeeded before."""
        return self._answers.get(key)

    def put(self, answer: Answer) -> None:
        """Remember a successful answer (and append it to the shared file, if any)."""
        if not answer.ok or not answer.key:
            return
        self._answers[answer.key] = answer
        if self.path is not None:
            if self._writer is None:
                self._writer = JsonlWriter(self.path)
            self._writer.write(answer.to_json())

    def close(self) -> None:
        """Close the shared file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
