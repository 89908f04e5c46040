"""What one request costs on each model: from the label file's ``cost`` field or from prices.

The label file may record what each answer cost (USD per request); that is used first. Else a
price in USD per million tokens (``--cost MODEL=USD``) is turned into a per-request cost with
the request's size: the prompt plus the model's answer when the labels have it, counted as
one token per four characters, or a fixed ``tokens_per_request`` when given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from parity.errors import ConfigError
from parity.training.labels import LabelRecord

__all__ = ["RequestCosts", "parse_prices", "priced", "request_costs", "request_tokens"]

_CHARS_PER_TOKEN = 4.0


@dataclass(frozen=True)
class RequestCosts:
    """Mean USD per request for each model, and where the figures came from."""

    usd: Mapping[str, float]
    source: str

    def of(self, model: str) -> float:
        return self.usd[model]


def parse_prices(flags: Iterable[str]) -> dict[str, float]:
    """``MODEL=USD_PER_1M`` flags as a mapping (split at the last ``=``)."""
    prices: dict[str, float] = {}
    for flag in flags:
        model, sep, value = flag.rpartition("=")
        try:
            price = float(value)
        except ValueError:
            price = -1.0
        if not sep or not model or price < 0:
            raise ConfigError(f"--cost wants MODEL=USD_PER_1M_TOKENS, got {flag!r}")
        prices[model] = price
    return prices


def request_costs(
    records: Sequence[LabelRecord],
    models: Sequence[str],
    prices: Mapping[str, float],
    tokens_per_request: float | None = None,
) -> RequestCosts | None:
    """Per-request costs for ``models``; None when neither labels nor prices cover them all."""
    if records and all(all(m in r.cost for m in models) for r in records):
        usd = {m: sum(r.cost[m] for r in records) / len(records) for m in models}
        return RequestCosts(usd, "label file 'cost' field")
    return priced(prices, request_tokens(records, models), tokens_per_request)


def priced(
    prices: Mapping[str, float],
    tokens: Mapping[str, float],
    tokens_per_request: float | None = None,
) -> RequestCosts | None:
    """Costs from USD-per-1M-token prices and tokens per request (None: a price is missing)."""
    if not tokens or not all(m in prices for m in tokens):
        return None
    usd = {m: prices[m] * (tokens_per_request or tokens[m]) / 1e6 for m in tokens}
    how = f"{tokens_per_request:g} tokens" if tokens_per_request else "chars/4 of prompt+answer"
    return RequestCosts(usd, f"--cost prices (USD per 1M tokens) x {how}")


def request_tokens(records: Sequence[LabelRecord], models: Sequence[str]) -> dict[str, float]:
    """Mean tokens per request for each model: prompt plus its answer, at four chars a token."""
    if not records:
        return {m: 0.0 for m in models}
    out = {}
    for model in models:
        chars = sum(len(r.text) + len(r.responses.get(model, "")) for r in records)
        out[model] = round(chars / len(records) / _CHARS_PER_TOKEN, 1)
    return out
