"""Model cards: one model's openness, licence, size, context, prices and benchmark claims.

Every figure sits in a small group that names its ``source``; a figure nobody has published stays
``None`` rather than being guessed. Cards are immutable and validated once, when the catalog loads.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parity.catalog.license import LicenseTerms

__all__ = [
    "ApiPrice",
    "Architecture",
    "Benchmark",
    "ContextWindow",
    "Lifecycle",
    "LifecycleDate",
    "LifecycleStatus",
    "ModelCard",
    "Params",
    "Throughput",
    "Tier",
]


class Tier(StrEnum):
    """The four openness tiers (docs/sources.md S1, 'The practical spectrum')."""

    FULLY_OPEN = "fully_open"  # weights + code + data + licence (OLMo)
    OPEN_WEIGHTS_PERMISSIVE = "open_weights_permissive"  # weights, Apache/MIT (Mistral, Qwen)
    OPEN_WEIGHTS_RESTRICTED = "open_weights_restricted"  # weights, custom commercial limits (Llama)
    CLOSED_API = "closed_api"  # nothing released (GPT-4o, Claude, Gemini)

    @property
    def label(self) -> str:
        """The tier's name as the seed writes it."""
        return _TIER_LABELS[self]

    @property
    def self_hostable(self) -> bool:
        """Whether the weights can be downloaded and run on your own hardware."""
        return self is not Tier.CLOSED_API


_TIER_LABELS = {
    Tier.FULLY_OPEN: "Fully open",
    Tier.OPEN_WEIGHTS_PERMISSIVE: "Open weights (permissive)",
    Tier.OPEN_WEIGHTS_RESTRICTED: "Open weights (restricted)",
    Tier.CLOSED_API: "Closed with API",
}


class _Sourced(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1, description="Where the figures were read, with a date.")


class Params(_Sourced):
    """Parameter counts in billions; ``active_b`` differs from ``total_b`` for MoE models."""

    total_b: float = Field(gt=0)
    active_b: float | None = Field(None, gt=0)

    @property
    def active(self) -> float:
        """Parameters used per token (the total for dense models)."""
        return self.active_b or self.total_b


class ContextWindow(_Sourced):
    """The longest prompt + completion the model accepts, in tokens; and the longest answer.

    ``max_output`` is the vendor's published cap on one answer's tokens (None: unpublished, or
    no cap but the window itself), from the same ``source``.
    """

    tokens: int = Field(gt=0)
    max_output: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _output_fits(self) -> ContextWindow:
        if self.max_output is not None and self.max_output > self.tokens:
            raise ValueError("max_output cannot exceed the context window")
        return self


class Architecture(_Sourced):
    """What the KV cache depends on.

    Grouped-query attention caches ``2 x kv_heads x head_dim`` values per token per layer;
    multi-head latent attention (DeepSeek V3/R1) caches ``kv_latent_dim`` instead. Where some
    layers attend only to a sliding window or chunk, ``global_layers`` is the number of layers that
    see the whole context and the others cache at most ``attention_window`` tokens.
    """

    layers: int = Field(gt=0)
    kv_heads: int | None = Field(None, gt=0)
    head_dim: int | None = Field(None, gt=0)
    kv_latent_dim: int | None = Field(None, gt=0)
    attention_window: int | None = Field(None, gt=0)
    global_layers: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> Architecture:
        gqa = self.kv_heads is not None and self.head_dim is not None
        if gqa == (self.kv_latent_dim is not None):
            raise ValueError("give kv_heads and head_dim (GQA/MHA) or kv_latent_dim (MLA)")
        if (self.attention_window is None) != (self.global_layers is None):
            raise ValueError("attention_window and global_layers go together")
        if self.global_layers is not None and self.global_layers > self.layers:
            raise ValueError("global_layers cannot exceed layers")
        return self

    @property
    def kv_values_per_token_per_layer(self) -> int:
        """Cached numbers per token in one layer (K and V together)."""
        if self.kv_latent_dim is not None:
            return self.kv_latent_dim
        assert self.kv_heads is not None and self.head_dim is not None
        return 2 * self.kv_heads * self.head_dim


class ApiPrice(_Sourced):
    """USD per one million tokens on the vendor's own API, in force from ``as_of`` on.

    ``as_of`` is the vendor's effective date where it prints one, else the day the page was read
    (the first day the catalog knows the price held). An undated price (the articles quote none)
    applies to every day before the first dated one.
    """

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    as_of: date | None = Field(None, description="The day the price took effect; None: undated.")
    note: str | None = None

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The cost in USD of these tokens at this price."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


class Benchmark(_Sourced):
    """A benchmark score as a source states it (an article's claim keeps the article as source)."""

    name: str
    score: float
    unit: str = Field("%", description="'%' or 'points' (e.g. MT-Bench out of 10).")


class Throughput(_Sourced):
    """Tokens per second one GPU sustains for this model (input + output, at batch)."""

    gpu: str
    tokens_per_s_per_gpu: float = Field(gt=0)
    note: str | None = None


class LifecycleStatus(StrEnum):
    """Where a model stands with its vendor on a given day."""

    ACTIVE = "active"
    DEPRECATED = "deprecated"  # announced for retirement; still answers
    RETIRED = "retired"  # requests fail


class LifecycleDate(_Sourced):
    """One dated lifecycle event and the public page that states it."""

    day: date


class Lifecycle(BaseModel):
    """When the vendor released, deprecated and retired the model, each date with its source.

    A date nobody has published stays ``None``; ``checked`` then says which page was read and
    when, so "no date" is a statement about the source, not a guess. ``replacement`` is the
    vendor's recommended successor (a card id where the catalog has one).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    released: LifecycleDate | None = None
    deprecated: LifecycleDate | None = None
    retired: LifecycleDate | None = None
    replacement: str | None = None
    checked: str = Field(min_length=1, description="Where the absent dates were looked for.")

    @model_validator(mode="after")
    def _ordered(self) -> Lifecycle:
        dates = [d.day for d in (self.released, self.deprecated, self.retired) if d is not None]
        if dates != sorted(dates):
            raise ValueError("lifecycle dates must run released <= deprecated <= retired")
        return self

    def status(self, today: date) -> LifecycleStatus:
        """Retired once the retirement date has come; deprecated from the announcement on (or,
        with no announcement date, as soon as a retirement date is known)."""
        if self.retired is not None and self.retired.day <= today:
            return LifecycleStatus.RETIRED
        if self.deprecated is not None:
            announced = self.deprecated.day <= today
            return LifecycleStatus.DEPRECATED if announced else LifecycleStatus.ACTIVE
        return LifecycleStatus.DEPRECATED if self.retired else LifecycleStatus.ACTIVE

    def days_left(self, today: date) -> int | None:
        """Days until retirement (negative once past); None without a retirement date."""
        return None if self.retired is None else (self.retired.day - today).days


class ModelCard(BaseModel):
    """One model as the docs/sources.md articles and its publishers describe it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$", description="Stable catalog id.")
    name: str
    vendor: str
    family: str
    tier: Tier
    tier_source: str = Field(min_length=1, description="Why the card sits in its tier.")
    license: LicenseTerms
    params: Params | None = None
    context: ContextWindow | None = None
    architecture: Architecture | None = None
    price: ApiPrice | None = Field(None, description="The newest list price.")
    earlier_prices: tuple[ApiPrice, ...] = Field(
        (), description="Prices before ``price``, each in force from its own as_of date."
    )
    benchmarks: tuple[Benchmark, ...] = ()
    throughput: tuple[Throughput, ...] = ()
    lifecycle: Lifecycle = Field(
        default_factory=lambda: Lifecycle(checked="no lifecycle recorded for this card"),
        description="Released, deprecated and retired dates, each with its source.",
    )
    aliases: tuple[str, ...] = Field(
        (), description="Vendor model ids and snapshots that name this card's model."
    )
    modalities: tuple[str, ...] = ("text",)
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> ModelCard:
        if self.tier.self_hostable != self.license.weights_available:
            raise ValueError(
                f"tier {self.tier.value} disagrees with licence {self.license.id} "
                "(weights_available)"
            )
        if self.params and self.params.active_b and self.params.active_b > self.params.total_b:
            raise ValueError("active parameters cannot exceed total parameters")
        if self.earlier_prices and self.price is None:
            raise ValueError("earlier_prices need a current price")
        dated = [p.as_of for p in self.prices if p.as_of is not None]
        if len(dated) != len(set(dated)) or sum(p.as_of is None for p in self.prices) > 1:
            raise ValueError("two prices take effect on the same day")
        return self

    @property
    def prices(self) -> tuple[ApiPrice, ...]:
        """Every known price, oldest first (an undated one counts as the oldest)."""
        found = (*self.earlier_prices, *((self.price,) if self.price else ()))
        return tuple(sorted(found, key=lambda p: p.as_of or date.min))

    def price_on(self, day: date) -> ApiPrice | None:
        """The price in force on ``day``: the newest one dated on or before it.

        A new price never applies backwards; None when the day precedes every dated price.
        """
        current: ApiPrice | None = None
        for price in self.prices:
            if price.as_of is None or price.as_of <= day:
                current = price
        return current

    @property
    def released(self) -> date | None:
        """The release date, when a source states it."""
        return self.lifecycle.released.day if self.lifecycle.released else None

    def names(self) -> tuple[str, ...]:
        """The card id and every vendor model id that names the same model."""
        return (self.id, *self.aliases)

    @property
    def context_tokens(self) -> int | None:
        """The context window in tokens, when known."""
        return self.context.tokens if self.context else None

    def benchmark(self, name: str) -> Benchmark | None:
        """The first score for a benchmark (case-insensitive), if the card has one."""
        for item in self.benchmarks:
            if item.name.lower() == name.lower():
                return item
        return None
