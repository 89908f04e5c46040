"""The advisor's throughput model, by hand, and what it changes in the advice."""

from __future__ import annotations

import json

import pytest

from parity.advisor.framework import ModelChoice, _model_notes
from parity.advisor.throughput import (
    SEED_TOKENS_PER_S_PER_GPU,
    ThroughputAssumptions,
    estimate_throughput,
)
from parity.catalog.hardware import GB, kv_cache_bytes
from parity.catalog.registry import default_catalog
from tests.advisor.test_advise_cli import flags, run
from tests.advisor.test_profiles import SCALE, _advise

CATALOG = default_catalog()


def test_a_dense_model_decodes_at_its_bandwidth_by_hand() -> None:
    card, bf16, h100 = CATALOG.card("llama-3.1-70b"), CATALOG.precision("bf16"), CATALOG.gpu("h100")
    a = ThroughputAssumptions(batch=8)
    got = estimate_throughput(card, bf16, h100, 2, output_per_input=0.5, assumptions=a)
    assert got is not None and got.bound == "memory bandwidth" and got.batch == 8
    assert card.params is not None and card.architecture is not None
    weights = card.params.total_b * 1e9 * 2
    kv = 8 * kv_cache_bytes(card.architecture, a.sequence_tokens)
    step = (weights + kv) / (2 * 3350 * GB * 0.6)  # both GPUs' bandwidth, at 60%
    assert got.decode_tokens_per_s == pytest.approx(8 / step)
    prefill = 2 * 989.5e12 * 0.4 / (2 * card.params.total_b * 1e9)
    assert got.prefill_tokens_per_s == pytest.approx(prefill)
    blended = 1.5 / (1 / prefill + 0.5 / (8 / step)) / 2
    assert got.tokens_per_s_per_gpu == pytest.approx(blended)


def test_throughput_depends_on_model_precision_and_gpu() -> None:
    llama = CATALOG.card("llama-3.1-70b")

    def speed(card_id: str, precision: str, gpu: str, count: int) -> float:
        card = CATALOG.card(card_id)
        got = estimate_throughput(card, CATALOG.precision(precision), CATALOG.gpu(gpu), count,
                                  output_per_input=0.5)  # fmt: skip
        assert got is not None
        return got.tokens_per_s_per_gpu

    assert speed("llama-3.1-70b", "fp8", "h100", 2) > speed("llama-3.1-70b", "bf16", "h100", 2)
    assert speed("llama-3.1-70b", "bf16", "h200", 2) > speed("llama-3.1-70b", "bf16", "h100", 2)
    assert speed("llama-3.1-8b", "bf16", "h100", 1) > 5 * speed("llama-3.1-70b", "bf16", "h100", 2)
    # an MoE model at batch 1 reads only its active experts
    one = ThroughputAssumptions(batch=1)
    moe = estimate_throughput(
        CATALOG.card("qwen3-235b-a22b"),
        CATALOG.precision("int4"),
        CATALOG.gpu("h100"),
        2,
        output_per_input=0.5,
        assumptions=one,
    )
    assert moe is not None and moe.weights_read_gb == pytest.approx(22 * 0.5)
    assert llama.params is not None  # every figure differs from the one seed number
    assert speed("llama-3.1-70b", "bf16", "h100", 2) != pytest.approx(SEED_TOKENS_PER_S_PER_GPU)


def test_the_biggest_int4_model_is_not_the_default_pick() -> None:
    advice = _advise(SCALE)  # 2xH100: Qwen3-235B-A22B fits only at int4
    top = advice.open_models[0]
    assert top.precision != "int4"
    assert advice.comparison is not None and top.throughput is not None
    plan = advice.comparison.self_host.plan
    assert plan.tokens_per_s_per_gpu == top.throughput.tokens_per_s_per_gpu
    assert any("self-hosting capacity" in n and "1,041.67" in n for n in advice.notes)


def test_a_quantized_pick_carries_the_caveat_and_its_gap_test() -> None:
    card = CATALOG.card("qwen3-235b-a22b")
    closed = _advise(SCALE).closed_models
    notes = _model_notes(ModelChoice(card, "open", "fits", "int4", "2xh100"), list(closed))
    caveat = next(n for n in notes if "int4" in n and "gap-test" in n)
    assert "lose measurable quality" in caveat
    assert "parity gaptest run YOUR_PROMPTS.jsonl --models qwen3-235b-a22b," in caveat
    full = _model_notes(ModelChoice(card, "open", "fits", "bf16", "8xh100"), list(closed))
    assert not any("gap-test" in n for n in full)


def test_staffing_and_peak_are_inputs_printed_in_json_and_text() -> None:
    default = json.loads(run(*flags(SCALE), "--json").stdout)["assumptions"]
    assert default["peak_factor"] == 2.0 and default["peak_factor_given"] is False
    assert default["engineer_fte"] == 0.25 and default["throughput"]["batch"] == 32
    assert default["seed_tokens_per_s_per_gpu_for_comparison"] == pytest.approx(1041.67, abs=0.01)
    given = run(*flags(SCALE), "--peak-factor", "3", "--engineer-fte", "2", "--json")
    data = json.loads(given.stdout)
    assert data["assumptions"]["peak_factor"] == 3.0 and data["assumptions"]["peak_factor_given"]
    assert data["assumptions"]["engineer_fte"] == 2.0
    before = json.loads(run(*flags(SCALE), "--json").stdout)["cost"]["self_host"]["annual_usd"]
    assert data["cost"]["self_host"]["annual_usd"] > before  # more staff, more peak: dearer
    text = run(*flags(SCALE), "--engineer-fte", "2").stdout
    assert "Assumptions (inputs with defaults)" in text and "2 (given)" in text
