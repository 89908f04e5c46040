"""Token counts for dataset statistics: the base model's tokenizer, or an estimate."""

from __future__ import annotations

from parity.tuning.base import load_tokenizer, resolve_base
from parity.tuning.dataset import TokenCounter, estimate_counter

__all__ = ["token_counter"]


def token_counter(name: str) -> tuple[TokenCounter, str]:
    """A counting function and its name: 'estimate', or a base model's tokenizer."""
    if name == "estimate":
        return estimate_counter, "estimate (4 characters a token)"
    base = resolve_base(name)
    tokenizer = load_tokenizer(base)

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count, f"{base.name} tokenizer"
