"""Tokenise chat examples for training: loss on the assistant's answer only.

Each example is rendered with the base model's own chat template. The prompt part (every
message but the last, plus the template's generation prompt) is exactly what the model sees at
inference time, and gets label -100; the answer part (the answer and the template's end-of-turn
tokens, so the model learns to stop) carries the labels. The two parts are tokenised apart, so
the boundary is the one inference will use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parity.errors import ConfigError
from parity.tuning.examples import Example

__all__ = ["IGNORE", "Tokenised", "collate", "tokenise"]

IGNORE = -100


@dataclass(slots=True)
class Tokenised:
    """Input ids and labels of the examples that fit, and how many were cut to fit."""

    rows: list[dict[str, list[int]]]
    truncated: int
    answer_tokens: int


def _split_text(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, str]:
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    prompt = tokenizer.apply_chat_template(
        messages[:-1], tokenize=False, add_generation_prompt=True
    )
    if not isinstance(full, str) or not isinstance(prompt, str) or not full.startswith(prompt):
        raise ConfigError(
            "the base model's chat template does not render the prompt as a prefix of the "
            "conversation, so the answer tokens cannot be found"
        )
    return prompt, full[len(prompt) :]


def tokenise(tokenizer: Any, examples: Sequence[Example], max_length: int) -> Tokenised:
    """Ids and labels per example; an answer longer than the room left is cut at the end."""
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError("the base model has no chat template")
    rows: list[dict[str, list[int]]] = []
    truncated = answer_tokens = 0
    for example in examples:
        prompt, answer = _split_text(tokenizer, example.messages)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
        if len(prompt_ids) + len(answer_ids) > max_length:
            truncated += 1
            answer_ids = answer_ids[: max(0, max_length - len(prompt_ids))]
        if not answer_ids:
            continue  # the prompt alone fills the context: nothing to learn from it
        answer_tokens += len(answer_ids)
        rows.append(
            {
                "input_ids": [*prompt_ids, *answer_ids],
                "labels": [IGNORE] * len(prompt_ids) + list(answer_ids),
            }
        )
    return Tokenised(rows, truncated, answer_tokens)


def collate(rows: Sequence[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    """Pad a batch to its longest row (right padding; padded labels are ignored)."""
    import torch

    width = max(len(r["input_ids"]) for r in rows)
    ids = [r["input_ids"] + [pad_id] * (width - len(r["input_ids"])) for r in rows]
    labels = [r["labels"] + [IGNORE] * (width - len(r["labels"])) for r in rows]
    mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
    return {
        "input_ids": torch.tensor(ids, dtype=torch.long),
        "labels": torch.tensor(labels, dtype=torch.long),
        "attention_mask": torch.tensor(mask, dtype=torch.long),
    }
