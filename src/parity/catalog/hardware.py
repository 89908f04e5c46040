"""Hardware fit: the memory a model needs at a precision, and which GPUs hold it.

    weights  = parameters x bits-per-weight / 8
    KV cache = 2 x layers x kv_heads x head_dim x context x batch x bytes-per-value
               (MLA models cache kv_latent_dim per layer instead of 2 x kv_heads x head_dim;
                windowed layers cache at most their window)
    fits     = weights + KV cache <= GPUs x memory x usable_fraction

Model sizes are in decimal GB (1e9 bytes), as model cards quote them; GPU capacities are the
vendors' nominal sizes, which are binary (an "80 GB" H100 holds 80 GiB). The usable fraction
(default 0.90, vLLM's default ``gpu_memory_utilization``) leaves room for activations, the CUDA
context and fragmentation. Mixture-of-experts models must hold *all* experts in memory: active
parameters set the compute per token, total parameters set the memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from parity.catalog.cards import Architecture, ModelCard

__all__ = [
    "DEFAULT_USABLE_FRACTION",
    "TP_SIZES",
    "FitResult",
    "GpuSelection",
    "GpuSpec",
    "MemoryEstimate",
    "Precision",
    "estimate_memory",
    "fit",
    "gpus_needed",
    "kv_cache_bytes",
    "weights_bytes",
]

DEFAULT_USABLE_FRACTION = 0.90
GIB = 1024**3
GB = 1e9
# Tensor-parallel group sizes engines accept (they must divide the attention heads); past one
# 8-GPU node, whole nodes are added (pipeline parallel).
TP_SIZES = (1, 2, 4, 8)


class GpuSpec(BaseModel):
    """One GPU model: memory, power and, where a source gives one, a lease price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    memory_gib: float = Field(gt=0, description="Nominal memory (binary GiB).")
    tdp_watts: float | None = Field(None, gt=0, description="Board power (SXM where applicable).")
    native_fp8: bool = Field(False, description="FP8 tensor cores (Ada, Hopper and later).")
    aliases: tuple[str, ...] = ()
    source: str = Field(min_length=1)
    lease_usd_per_gpu_month: float | None = Field(None, gt=0)
    lease_source: str | None = None
    memory_bandwidth_gb_s: float | None = Field(
        None, gt=0, description="Peak memory bandwidth, decimal GB/s (the datasheet's)."
    )
    bf16_tflops: float | None = Field(
        None, gt=0, description="Peak dense BF16 tensor TFLOPS (without structured sparsity)."
    )
    perf_source: str | None = Field(None, description="Where bandwidth and FLOPS come from.")

    @property
    def memory_bytes(self) -> float:
        return self.memory_gib * GIB


class Precision(BaseModel):
    """A weight format and its storage cost in bits per weight (block scales included)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    bits_per_weight: float = Field(gt=0)
    aliases: tuple[str, ...] = ()
    source: str = Field(min_length=1)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class GpuSelection:
    """A count of one GPU type, e.g. 2 x H100."""

    gpu: GpuSpec
    count: int = 1

    @property
    def memory_bytes(self) -> float:
        return self.gpu.memory_bytes * self.count

    def __str__(self) -> str:
        return f"{self.count}x {self.gpu.name}" if self.count > 1 else self.gpu.name


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Bytes for the weights and the KV cache of one model replica."""

    model: str
    precision: Precision
    weights_bytes: float
    kv_bytes: float | None
    context: int
    batch: int
    kv_note: str

    @property
    def total_bytes(self) -> float:
        """Weights plus KV cache (weights only when the KV cache cannot be computed)."""
        return self.weights_bytes + (self.kv_bytes or 0.0)

    @property
    def kv_known(self) -> bool:
        return self.kv_bytes is not None


@dataclass(frozen=True, slots=True)
class FitResult:
    """Whether an estimate fits a selection of GPUs, and the numbers behind the answer."""

    fits: bool
    need_bytes: float
    usable_bytes: float
    selection: GpuSelection
    reason: str


def weights_bytes(params_b: float, bits_per_weight: float) -> float:
    """Bytes to store ``params_b`` billion parameters at ``bits_per_weight``."""
    return params_b * 1e9 * bits_per_weight / 8


def kv_cache_bytes(arch: Architecture, context: int, batch: int = 1, kv_bits: float = 16) -> float:
    """KV-cache bytes for ``batch`` sequences of ``context`` tokens."""
    per_layer_token = arch.kv_values_per_token_per_layer * kv_bits / 8
    if arch.attention_window is not None and arch.global_layers is not None:
        windowed = arch.layers - arch.global_layers
        token_layers = arch.global_layers * context + windowed * min(context, arch.attention_window)
    else:
        token_layers = arch.layers * context
    return per_layer_token * token_layers * batch


def estimate_memory(
    card: ModelCard,
    precision: Precision,
    *,
    context: int = 8192,
    batch: int = 1,
    kv_bits: float = 16,
) -> MemoryEstimate:
    """Weights at ``precision`` plus the KV cache at ``kv_bits`` for context x batch."""
    if card.params is None:
        raise ValueError(f"{card.id} has no published parameter count (closed API?)")
    if context <= 0 or batch <= 0:
        raise ValueError("context and batch must be positive")
    weights = weights_bytes(card.params.total_b, precision.bits_per_weight)
    if card.context_tokens is not None and context > card.context_tokens:
        raise ValueError(
            f"context {context:,} exceeds {card.id}'s window of {card.context_tokens:,} tokens"
        )
    if card.architecture is None:
        return MemoryEstimate(
            card.id,
            precision,
            weights,
            None,
            context,
            batch,
            "KV cache unknown: the card lacks layers / kv-heads / head-dim; weights only",
        )
    kv = kv_cache_bytes(card.architecture, context, batch, kv_bits)
    arch = card.architecture
    kind = "MLA latent" if arch.kv_latent_dim else f"{arch.kv_heads} KV heads x {arch.head_dim}"
    note = f"{arch.layers} layers, {kind}, {kv_bits:g}-bit cache"
    if arch.attention_window is not None:
        note += (
            f"; {arch.global_layers} global layers, others windowed to {arch.attention_window:,}"
        )
    return MemoryEstimate(card.id, precision, weights, kv, context, batch, note)


def fit(
    estimate: MemoryEstimate,
    selection: GpuSelection,
    usable_fraction: float = DEFAULT_USABLE_FRACTION,
) -> FitResult:
    """Whether one replica fits ``selection``, split evenly across its GPUs."""
    usable = selection.memory_bytes * usable_fraction
    need = estimate.total_bytes
    verdict = "fits" if need <= usable else "does not fit"
    reason = (
        f"{estimate.model} at {estimate.precision.id} needs {need / GB:,.1f} GB "
        f"({estimate.weights_bytes / GB:,.1f} weights"
        + (f" + {estimate.kv_bytes / GB:,.1f} KV cache" if estimate.kv_bytes is not None else "")
        + f"); {selection} offers {usable / GB:,.1f} GB usable: {verdict}"
    )
    if not estimate.kv_known:
        reason += " (KV cache not counted: unknown architecture)"
    return FitResult(need <= usable, need, usable, selection, reason)


def gpus_needed(
    estimate: MemoryEstimate,
    gpu: GpuSpec,
    usable_fraction: float = DEFAULT_USABLE_FRACTION,
) -> int:
    """The smallest tensor-parallel-friendly GPU count (1, 2, 4, 8, then whole nodes) that fits."""
    per_gpu = gpu.memory_bytes * usable_fraction
    raw = max(1, math.ceil(estimate.total_bytes / per_gpu - 1e-12))
    for size in TP_SIZES:
        if raw <= size:
            return size
    return math.ceil(raw / TP_SIZES[-1]) * TP_SIZES[-1]
