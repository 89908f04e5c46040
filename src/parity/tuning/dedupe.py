"""Exact and near duplicates among prompts: MinHash candidates, checked by exact Jaccard.

Two prompts are near duplicates when the Jaccard similarity of their character 5-gram sets
(lower case, white space collapsed) reaches a threshold. Candidates come from 16 bands of 4
MinHash values (a pair at similarity 0.85 is a candidate with probability above 0.999), and
every candidate pair is confirmed on the exact sets, so the result has no false positives.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from parity.tuning.examples import normalise

__all__ = ["clusters", "jaccard", "shingles"]

_BANDS, _ROWS = 16, 4
_PRIME = (1 << 61) - 1
_K = 5


def shingles(text: str, k: int = _K) -> frozenset[int]:
    """The CRC-32s of a text's character k-grams (the whole text when shorter)."""
    norm = normalise(text)
    if len(norm) <= k:
        return frozenset({zlib.crc32(norm.encode())})
    return frozenset(zlib.crc32(norm[i : i + k].encode()) for i in range(len(norm) - k + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / |a ∪ b| (1.0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def _signatures(sets: Sequence[frozenset[int]], seed: int) -> npt.NDArray[np.uint64]:
    rng = np.random.default_rng(seed)
    count = _BANDS * _ROWS
    # a, b < 2^31 and x < 2^32: a*x + b < 2^63 never wraps in uint64.
    a = rng.integers(1, 1 << 31, size=count, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, size=count, dtype=np.uint64)
    out = np.empty((len(sets), count), dtype=np.uint64)
    for index, values in enumerate(sets):
        x = np.fromiter(values, dtype=np.uint64, count=len(values))
        out[index] = ((np.outer(x, a) + b) % _PRIME).min(axis=0)
    return out


def clusters(texts: Sequence[str], threshold: float, *, seed: int = 0) -> list[int]:
    """A cluster id per text: texts linked by near-duplicate pairs share one (union-find)."""
    sets = [shingles(t) for t in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(texts) > 1:
        signatures = _signatures(sets, seed)
        checked: set[tuple[int, int]] = set()
        for band in range(_BANDS):
            buckets: dict[bytes, list[int]] = defaultdict(list)
            part = signatures[:, band * _ROWS : (band + 1) * _ROWS]
            for index in range(len(texts)):
                buckets[part[index].tobytes()].append(index)
            for members in buckets.values():
                for place, first in enumerate(members):
                    for other in members[place + 1 :]:
                        if (first, other) in checked or root(first) == root(other):
                            continue
                        checked.add((first, other))
                        if jaccard(sets[first], sets[other]) >= threshold:
                            parent[root(other)] = root(first)
    return [root(i) for i in range(len(texts))]
