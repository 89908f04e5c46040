"""Self-hosting cost parts, hybrid cost, the scenario builder and the sensitivity table."""

from __future__ import annotations

import pytest

from parity.catalog.registry import default_catalog
from parity.economics.scenario import CostInputs, build_scenario
from parity.economics.sensitivity import sensitivity
from parity.economics.tco import (
    ApiPricing,
    Lease,
    Power,
    Purchase,
    SelfHostPlan,
    Workload,
    compare,
    hybrid_cost,
    self_host_cost,
)

GPT_4O = ApiPricing("gpt-4o", 2.50, 10.00)


def test_purchase_is_straight_line_or_an_annuity() -> None:
    assert Purchase(30_000, 3).annual_per_gpu() == pytest.approx(10_000)
    # 30,000 at 8% over 3 years: 30,000 x 0.08 / (1 - 1.08^-3) = 11,641.01
    assert Purchase(30_000, 3, 0.08).annual_per_gpu() == pytest.approx(11_641.01, abs=0.01)
    assert Purchase(30_000, 3, 0, hosting_usd_per_gpu_month=100).annual_per_gpu() == 11_200
    with pytest.raises(ValueError, match="amortisation"):
        Purchase(1, 0)


def test_power_counts_idle_for_every_gpu_and_the_rest_for_the_work() -> None:
    power = Power(watts_per_gpu=700, usd_per_kwh=0.10, pue=1.5, idle_fraction=0.3)
    plan = SelfHostPlan("H100", 1_000, Purchase(30_000, 3), gpus_per_replica=2, power=power)
    # 86.4M tokens/day = 1,000 tokens/s on average: one GPU-equivalent busy.
    cost = self_host_cost(plan, Workload(86_400_000, 0))
    idle = 2 * 700 * 0.3 * 1.5 * 8760 / 1000 * 0.10
    busy = 1 * 700 * 0.7 * 1.5 * 8760 / 1000 * 0.10
    assert cost.hardware_usd == pytest.approx(2 * 10_000 + idle)
    assert cost.power_usd == pytest.approx(busy)
    assert cost.average_utilisation == pytest.approx(0.5)
    leased = SelfHostPlan("H100", 1_000, Lease(2_500), gpus_per_replica=2, power=power)
    assert self_host_cost(leased, Workload(86_400_000, 0)).power_usd == 0  # in the lease


def test_replicas_follow_the_peak_and_the_utilisation_cap() -> None:
    plan = SelfHostPlan("H100", 1_000, Lease(2_500), gpus_per_replica=2, max_utilisation=0.5)
    # 1,000 tokens/s per replica at the cap; 2,500 tokens/s average x 2 peak = 5 replicas.
    cost = self_host_cost(plan, Workload(2_500 * 86_400, 0, peak_to_average=2))
    assert (cost.replicas, cost.gpus) == (5, 10)
    assert cost.peak_utilisation == pytest.approx(0.5)
    exact = self_host_cost(plan, Workload(1_000 * 86_400, 0))
    assert exact.replicas == 1  # exactly at capacity needs no extra replica


def test_hybrid_splits_tokens_between_the_lanes() -> None:
    plan = SelfHostPlan("H100", 1_041.67, Lease(2_500), gpus_per_replica=2)
    work = Workload(100_000_000, 0.5)
    hybrid = hybrid_cost(GPT_4O, plan, work, 0.2)
    assert hybrid.api.total == pytest.approx(273_750 * 0.2)
    assert hybrid.self_host is not None and hybrid.self_host.total == 60_000
    assert hybrid.total == pytest.approx(54_750 + 60_000)
    assert hybrid_cost(GPT_4O, plan, work, 1.0).self_host is None
    with pytest.raises(ValueError, match="frontier_share"):
        hybrid_cost(GPT_4O, plan, work, 1.5)
    comparison = compare(GPT_4O, plan, work, 0.2)
    assert comparison.cheapest == "self_host"
    assert set(comparison.options) == {"api", "self_host", "hybrid"}
    assert any("engineering" in note for note in comparison.notes)


def test_workloads_reject_impossible_shapes() -> None:
    with pytest.raises(ValueError, match="peak"):
        Workload(1, 0.5, peak_to_average=0.5)
    with pytest.raises(ValueError, match="input_tokens_per_day"):
        Workload(-1)
    with pytest.raises(ValueError, match="max_utilisation"):
        SelfHostPlan("H100", 1, Lease(1), max_utilisation=0)


def test_scenario_fills_gaps_from_the_catalog_and_names_every_source() -> None:
    scenario, rows = build_scenario(default_catalog(), CostInputs(tokens_per_day=10e6))
    assert scenario.pricing.input_per_m == 2.5 and scenario.pricing.output_per_m == 10
    assert scenario.plan.gpus_per_replica == 2
    assert scenario.plan.hosting == Lease(2_500)
    sources = {r.name: r.source for r in rows}
    assert sources["API price"].startswith("docs/sources.md S1")
    assert (
        "docs/sources.md S1" in sources["GPU lease"]
        and "docs/sources.md S1" in sources["throughput"]
    )
    assert all(r.source for r in rows)


def test_scenario_sizes_a_named_local_model() -> None:
    inputs = CostInputs(tokens_per_day=1e6, local_model="llama-3.1-70b", precision="int4")
    scenario, rows = build_scenario(default_catalog(), inputs)
    assert scenario.plan.gpus_per_replica == 1
    assert any("hardware fit" in r.source for r in rows)
    with pytest.raises(ValueError, match="lease"):
        build_scenario(default_catalog(), CostInputs(tokens_per_day=1, gpu="l40s"))


def test_sensitivity_moves_one_assumption_at_a_time() -> None:
    scenario, _ = build_scenario(default_catalog(), CostInputs(tokens_per_day=50e6,
                                                               engineer_fte=0.5))  # fmt: skip
    rows = sensitivity(scenario)
    base = rows[0]
    assert base.parameter == "base case"
    by = {(r.parameter, r.value): r for r in rows}
    cheap_api = by[("API price", "x0.5")]
    assert cheap_api.api_usd == pytest.approx(base.api_usd / 2)
    assert cheap_api.break_even_input_tokens_per_day is not None
    assert base.break_even_input_tokens_per_day is not None
    assert cheap_api.break_even_input_tokens_per_day > base.break_even_input_tokens_per_day
    assert by[("engineer FTE", "0")].self_host_usd < base.self_host_usd
    assert by[("GPU cost", "x2")].self_host_usd > base.self_host_usd
