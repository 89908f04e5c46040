"""Deterministic embeddings: each word hashes to a fixed random vector; a text is their sum.

Texts that share words get similar vectors, so router tests see a meaningful geometry without
any model.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import struct
from typing import Any

__all__ = [
    "DEFAULT_DIMENSIONS",
    "MAX_DIMENSIONS",
    "MAX_INPUT_TOKENS",
    "embed",
    "embeddings",
    "input_problem",
]

DEFAULT_DIMENSIONS = 256
MAX_INPUT_TOKENS = 8192
"""text-embedding-3's context; the fake counts a word a token."""
MAX_INPUTS = 2048
MAX_DIMENSIONS = 8192
"""The gateway's bound; OpenAI's own models stop at 3072, each at its own width."""
_WORD = re.compile(r"\w+")


def embed(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """A unit vector for ``text``; the same text always gives the same vector."""
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()) or [""]:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big")
        rng = random.Random(seed)
        for i in range(dimensions):
            vector[i] += rng.gauss(0.0, 1.0)
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _texts(value: Any) -> list[str] | None:
    """The inputs as strings; token-id arrays are embedded by their numbers' text."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(v, int) for v in value):
        return [" ".join(map(str, value))]
    texts: list[str] = []
    for item in value:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, list) and all(isinstance(v, int) for v in item):
            texts.append(" ".join(map(str, item)))
        else:
            return None
    return texts


def input_problem(value: Any) -> str | int | None:
    """Why OpenAI would refuse ``input``: "invalid", an input's tokens over the limit, or None.

    It takes one string (even empty), or 1 to 2048 non-empty strings or token arrays.
    """
    texts = _texts(value)
    if texts is None or len(texts) > MAX_INPUTS:
        return "invalid"
    if isinstance(value, list) and not all(texts):
        return "invalid"
    longest = max(len(t.split()) for t in texts)
    return longest if longest > MAX_INPUT_TOKENS else None


def _encode(vector: list[float], encoding: Any) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def embeddings(body: dict[str, Any]) -> dict[str, Any] | None:
    """The ``/v1/embeddings`` answer for a request body, or None when its input is invalid."""
    texts = _texts(body.get("input"))
    dimensions = body.get("dimensions")
    dimensions = DEFAULT_DIMENSIONS if dimensions is None else dimensions
    if texts is None or not isinstance(dimensions, int) or dimensions < 1:
        return None
    encoding = body.get("encoding_format")
    data = [
        {"object": "embedding", "index": i, "embedding": _encode(embed(t, dimensions), encoding)}
        for i, t in enumerate(texts)
    ]
    tokens = sum(max(1, len(t.split())) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
