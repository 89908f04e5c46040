"""Build a fine-tuning dataset: privacy policy, duplicates, a held-out split, stats, manifest.

The held-out split is drawn by near-duplicate group, so no held-out prompt has an exact or near
duplicate among the training prompts; within the held-out split one example per group is kept,
so evaluation items are independent. Everything is checked before anything is written: a
dataset that fails a check leaves no files behind.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from parity.errors import ConfigError
from parity.tuning.dedupe import clusters
from parity.tuning.examples import Example, write_examples
from parity.tuning.privacy import PrivacyPolicy

__all__ = [
    "FORMAT",
    "BuiltDataset",
    "Source",
    "TokenCounter",
    "build_dataset",
    "content_hash",
    "estimate_counter",
    "length_stats",
    "read_manifest",
    "write_dataset",
]

FORMAT = "openai-chat-jsonl"
TokenCounter = Callable[[str], int]


def estimate_counter(text: str) -> int:
    """About four characters a token, when no tokenizer is loaded."""
    return (len(text) + 3) // 4


@dataclass(slots=True)
class Source:
    """One source's examples, what it left out, and how it describes itself in the manifest."""

    describe: dict[str, Any]
    examples: list[Example]
    excluded: Counter[str] = field(default_factory=Counter)
    read: int = 0


@dataclass(slots=True)
class BuiltDataset:
    """The two splits and the manifest, ready to write."""

    train: list[Example]
    heldout: list[Example]
    manifest: dict[str, Any]


def length_stats(values: Sequence[int]) -> dict[str, float]:
    """Count, mean, median, p90, p99 and max of token lengths."""
    if not values:
        return {"n": 0}
    arr = np.asarray(values, dtype=np.float64)
    return {
        "n": len(values),
        "mean": round(float(arr.mean()), 1),
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p90": round(float(np.percentile(arr, 90)), 1),
        "p99": round(float(np.percentile(arr, 99)), 1),
        "max": float(arr.max()),
    }


def content_hash(train: bytes, heldout: bytes) -> str:
    """SHA-256 over both files: the dataset's identity in lineage cards."""
    return hashlib.sha256(train + b"\x00" + heldout).hexdigest()


def _split(
    examples: list[Example], groups: list[int], share: float, seed: int
) -> tuple[list[Example], list[Example], int]:
    order = list(dict.fromkeys(groups))
    random.Random(seed).shuffle(order)
    target = max(1, round(len(examples) * share))
    held_groups: set[int] = set()
    count = Counter(groups)
    taken = 0
    for group in order:
        if taken >= target:
            break
        if held_groups and taken + count[group] > target * 1.5:
            continue  # a large group would overfill the split; it stays in training
        held_groups.add(group)
        taken += count[group]
    train = [e for e, g in zip(examples, groups, strict=True) if g not in held_groups]
    heldout: list[Example] = []
    seen: set[int] = set()
    dropped = 0
    for example, group in zip(examples, groups, strict=True):
        if group in held_groups:
            if group in seen:
                dropped += 1
                continue
            seen.add(group)
            heldout.append(example)
    return train, heldout, dropped


def _dedupe(examples: list[Example], why: Counter[str]) -> list[Example]:
    seen: set[str] = set()
    out: list[Example] = []
    for example in examples:
        if example.key in seen:
            why["exact duplicate"] += 1
            continue
        seen.add(example.key)
        out.append(example)
    return out


def _tokens(examples: Sequence[Example], count: TokenCounter) -> dict[str, Any]:
    prompts = [count(e.prompt) for e in examples]
    answers = [count(e.answer) for e in examples]
    return {
        "prompt": length_stats(prompts),
        "answer": length_stats(answers),
        "total": length_stats([p + a for p, a in zip(prompts, answers, strict=True)]),
    }


def build_dataset(
    sources: Sequence[Source],
    policy: PrivacyPolicy,
    *,
    heldout: float,
    near: float,
    min_examples: int,
    seed: int = 0,
    count_tokens: TokenCounter = estimate_counter,
    tokenizer_name: str = "estimate (4 characters a token)",
    describe: dict[str, Any] | None = None,
) -> BuiltDataset:
    """Apply the policy, remove duplicates, split, count; a ConfigError when too few are left."""
    why: Counter[str] = Counter()
    examples: list[Example] = []
    for source in sources:
        why.update(source.excluded)
        examples.extend(source.examples)
    candidates = len(examples)
    examples = _dedupe(policy.apply(examples, why), why)
    groups = clusters([e.prompt for e in examples], near, seed=seed)
    train, held, dropped = _split(examples, groups, heldout, seed)
    if dropped:
        why["near duplicate within the held-out split"] += dropped
    kept = len(train) + len(held)
    left_out = ", ".join(f"{n} {reason}" for reason, n in why.most_common()) or "none"
    if kept < min_examples or not train or not held:
        raise ConfigError(
            f"only {kept} examples left after the filters, fewer than the minimum of "
            f"{min_examples} (--min-examples, tune.min_examples); left out: {left_out}"
        )
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "created": datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="seconds"),
        **(describe or {}),
        "sources": [s.describe | {"read": s.read, "examples": len(s.examples)} for s in sources],
        "privacy": policy.describe() | policy.tally.as_dict(),
        "dedupe": {
            "exact": "SHA-256 of the normalised prompt (lower case, white space collapsed)",
            "near": "Jaccard of character 5-grams, MinHash 16x4 candidates, exact check",
            "near_threshold": near,
            "near_groups": len(set(groups)),
        },
        "split": {"heldout_share": heldout, "seed": seed, "by": "near-duplicate group"},
        "counts": {
            "candidates": candidates,
            "kept": kept,
            "train": len(train),
            "heldout": len(held),
            "corrected_by_feedback": sum(e.corrected for e in [*train, *held]),
        },
        "excluded": dict(why.most_common()),
        "tokens": {"tokenizer": tokenizer_name, **_tokens([*train, *held], count_tokens)},
    }
    return BuiltDataset(train=train, heldout=held, manifest=manifest)


def write_dataset(out: Path, built: BuiltDataset) -> dict[str, Any]:
    """train.jsonl, heldout.jsonl, origins.jsonl and manifest.json in ``out``; the manifest."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {out}: {exc.strerror}") from exc
    train = write_examples(out / "train.jsonl", built.train)
    held = write_examples(out / "heldout.jsonl", built.heldout)
    origins = [
        {"split": split, "line": n, "source": e.source, "origin": e.origin, "prompt": e.key}
        for split, rows in (("train", built.train), ("heldout", built.heldout))
        for n, e in enumerate(rows, 1)
    ]
    (out / "origins.jsonl").write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in origins))
    manifest = built.manifest | {
        "files": {
            "train.jsonl": hashlib.sha256(train).hexdigest(),
            "heldout.jsonl": hashlib.sha256(held).hexdigest(),
        },
        "content_hash": content_hash(train, held),
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    tmp.replace(out / "manifest.json")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """A dataset folder's manifest.json, or a ConfigError saying it is not a dataset."""
    path = folder / "manifest.json"
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigError(
            f"{folder} is not a parity tune dataset (no readable manifest.json)"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a parity tune dataset manifest")
    return data
