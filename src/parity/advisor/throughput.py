"""How many tokens a second one GPU serves for a model, precision and GPU: a documented model.

Decoding is bound by memory bandwidth: every step reads the weights once for the whole batch,
and each sequence's KV cache, so

    step      = max(bytes read / (GPUs x bandwidth x bandwidth_efficiency),
                    2 x active params x batch / (GPUs x BF16 FLOPS x compute_efficiency))
    bytes     = weights read + batch x KV cache of one sequence
    decode    = batch / step                       tokens a second, one replica
    prefill   = GPUs x BF16 FLOPS x compute_efficiency / (2 x active params)
    per GPU   = (1 + r) / (1 / prefill + r / decode) / GPUs    r: output tokens per input token

A dense model reads all its weights each step. A mixture-of-experts model reads the experts its
batch routes to: at most ``active x batch`` parameters, and never more than all of them (an
upper bound: a small batch of an MoE model reads fewer). The batch is as large as asked
(``batch``, default 32) or as fits beside the weights, whichever is smaller. FP8 and INT8 tensor
cores, speculative decoding and prefix caching are not counted, so the estimate is on the
conservative side for prefill; measured figures for your engine and prompt mix replace it
(``throughput`` on a catalog card, or ``parity cost --tokens-per-s-per-gpu``). The GPU figures
are the vendors' datasheet peaks (``GpuSpec.perf_source``); the efficiencies are assumptions,
printed with every estimate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from parity.catalog.cards import ModelCard
from parity.catalog.hardware import (
    DEFAULT_USABLE_FRACTION,
    GB,
    GpuSpec,
    Precision,
    kv_cache_bytes,
    weights_bytes,
)

__all__ = [
    "SEED_TOKENS_PER_S_PER_GPU",
    "ThroughputAssumptions",
    "ThroughputEstimate",
    "estimate_throughput",
]

SEED_TOKENS_PER_S_PER_GPU = 500_000 / 60 / 8
"""1,041.67: docs/sources.md S1, "Self-hosting on 8xH100 ($15K/mo lease) handles ~500K
tokens/min"; it names no model, precision, batch or source, so it is shown only beside the
estimate, for comparison."""


@dataclass(frozen=True, slots=True)
class ThroughputAssumptions:
    """The inputs of the model that no datasheet gives; each is printed with the estimate."""

    batch: int = 32  # sequences a replica decodes together (vLLM's default cap is 256)
    sequence_tokens: int = 2048  # tokens in each sequence's KV cache while it decodes, on average
    bandwidth_efficiency: float = 0.6  # share of peak memory bandwidth a decode step achieves
    compute_efficiency: float = 0.4  # share of peak BF16 FLOPS prefill achieves

    def to_json(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ThroughputEstimate:
    """One model at one precision on ``gpus`` x ``gpu``: the figures and how they were made."""

    model: str
    precision: str
    gpu: str
    gpus: int
    batch: int
    weights_read_gb: float
    kv_read_gb: float
    decode_tokens_per_s: float  # one replica
    prefill_tokens_per_s: float  # one replica
    tokens_per_s_per_gpu: float  # input + output, at the workload's mix
    bound: str  # "memory bandwidth" or "compute"
    source: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def describe(self) -> str:
        return (
            f"{self.tokens_per_s_per_gpu:,.0f} tokens/s per GPU ({self.model} {self.precision} "
            f"on {self.gpus}x {self.gpu}, batch {self.batch}: decode "
            f"{self.decode_tokens_per_s:,.0f} and prefill {self.prefill_tokens_per_s:,.0f} "
            f"tokens/s a replica, {self.bound}-bound)"
        )


def estimate_throughput(
    card: ModelCard,
    precision: Precision,
    gpu: GpuSpec,
    gpus: int,
    *,
    output_per_input: float,
    assumptions: ThroughputAssumptions | None = None,
) -> ThroughputEstimate | None:
    """The estimate, or None when the card or the GPU lacks a figure the model needs."""
    a = assumptions or ThroughputAssumptions()
    if card.params is None or gpu.memory_bandwidth_gb_s is None or gpu.bf16_tflops is None:
        return None
    total, active = card.params.total_b, card.params.active
    weights = weights_bytes(total, precision.bits_per_weight)
    per_sequence = (
        kv_cache_bytes(card.architecture, a.sequence_tokens) if card.architecture else 0.0
    )
    room = gpus * gpu.memory_bytes * DEFAULT_USABLE_FRACTION - weights
    fits = int(room // per_sequence) if per_sequence > 0 else a.batch
    batch = max(1, min(a.batch, fits))
    read = weights_bytes(min(total, active * batch), precision.bits_per_weight)
    kv = batch * per_sequence
    bandwidth = gpus * gpu.memory_bandwidth_gb_s * GB * a.bandwidth_efficiency
    flops = gpus * gpu.bf16_tflops * 1e12 * a.compute_efficiency
    memory_time = (read + kv) / bandwidth
    compute_time = 2 * active * 1e9 * batch / flops
    decode = batch / max(memory_time, compute_time)
    prefill = flops / (2 * active * 1e9)
    r = output_per_input
    per_gpu = (1 + r) / (1 / prefill + r / decode) / gpus
    return ThroughputEstimate(
        model=card.id,
        precision=precision.id,
        gpu=gpu.name,
        gpus=gpus,
        batch=batch,
        weights_read_gb=read / GB,
        kv_read_gb=kv / GB,
        decode_tokens_per_s=decode,
        prefill_tokens_per_s=prefill,
        tokens_per_s_per_gpu=per_gpu,
        bound="memory bandwidth" if memory_time >= compute_time else "compute",
        source=gpu.perf_source or gpu.source,
    )
