"""The semantic cache: an exact miss may still be served when the last user message is similar.

Only the last user message is compared, by the cosine of its all-MiniLM-L6-v2 embedding (the
local model of ``parity[embed]``); everything else of the request, earlier turns, system prompt,
sampling parameters, tools, the tenant and the deployment, must be identical (it is hashed into
the vector's group). The vectors live in this process (``max_entries`` at most, oldest first
out); each points at an exact entry of the backend, so an expired entry is never served.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from parity.config.cache import SemanticCacheSettings
from parity.gateway.cache.keys import normalised

__all__ = ["Match", "SemanticIndex", "Sentence"]

Vector = npt.NDArray[np.float32]


class _Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> Any: ...


@dataclass(slots=True, frozen=True)
class Sentence:
    """What a request brings to the index: its group and its last user message."""

    group: str
    text: str


@dataclass(slots=True, frozen=True)
class Match:
    """The stored request nearest to this one: its exact key, and how close it is."""

    key: str
    score: float


def sentence(tenant: str, deployment: str, body: dict[str, Any]) -> Sentence | None:
    """The request's group and last user text; None when it does not end with user text."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return None
    last = messages[-1]
    text = _text(last.get("content")) if last.get("role") == "user" else None
    if not text:
        return None
    rest = {**body, "messages": [*messages[:-1], {**last, "content": None}]}
    digest = hashlib.sha256(f"{len(tenant)}:{tenant}{len(deployment)}:{deployment}".encode())
    digest.update(normalised(rest))
    return Sentence(digest.hexdigest(), text)


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if len(parts) == len(content):  # an image or a file makes it not comparable by text
            return "\n".join(p for p in parts if isinstance(p, str))
    return None


class SemanticIndex:
    """Unit vectors by group, in insertion order; thread-safe (embeddings run in threads)."""

    def __init__(self, settings: SemanticCacheSettings, embedder: _Embedder):
        self.settings = settings
        self._embedder = embedder
        self._entries: OrderedDict[tuple[str, str], Vector] = OrderedDict()  # (group, key)
        self._groups: dict[str, dict[str, Vector]] = {}
        self._lock = threading.Lock()

    def embed(self, text: str) -> Vector:
        """The text's unit vector (blocking: call it from a thread)."""
        vectors = np.asarray(self._embedder.embed([text]), dtype=np.float32)
        return vectors.reshape(-1)

    def nearest(self, group: str, vector: Vector) -> Match | None:
        """The closest stored request of ``group`` at or above the threshold."""
        with self._lock:
            members = self._groups.get(group)
            if not members:
                return None
            keys = list(members)
            matrix = np.stack([members[k] for k in keys])
        scores = matrix @ vector
        best = int(np.argmax(scores))
        score = float(scores[best])
        return Match(keys[best], score) if score >= self.settings.threshold else None

    def add(self, group: str, key: str, vector: Vector) -> None:
        """Remember a stored request's vector; the oldest go past ``max_entries``."""
        with self._lock:
            self._entries[(group, key)] = vector
            self._groups.setdefault(group, {})[key] = vector
            while len(self._entries) > self.settings.max_entries:
                (old_group, old_key), _ = self._entries.popitem(last=False)
                members = self._groups.get(old_group, {})
                members.pop(old_key, None)
                if not members:
                    self._groups.pop(old_group, None)

    def __len__(self) -> int:
        return len(self._entries)
