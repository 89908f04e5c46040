"""The closed-form break-even against a brute-force scan, on the seeds' case and random ones."""

from __future__ import annotations

import random

import pytest

from parity.economics.breakeven import break_even, cost_line, hybrid_break_even
from parity.economics.tco import (
    ApiPricing,
    Lease,
    Power,
    Purchase,
    SelfHostPlan,
    Workload,
    api_cost,
    hybrid_cost,
    self_host_cost,
)

GPT_4O = ApiPricing("gpt-4o", 2.50, 10.00)


def _gap(pricing: ApiPricing, plan: SelfHostPlan, shape: Workload, volume: float) -> float:
    """Self-hosting minus API at ``volume``, through the public cost functions."""
    work = shape.at(volume)
    return self_host_cost(plan, work).total - api_cost(pricing, work).total


def _scan(pricing: ApiPricing, plan: SelfHostPlan, shape: Workload, top: float,
          steps: int = 50_000) -> float | None:  # fmt: skip
    """The first volume on a uniform grid where self-hosting costs no more than the API."""
    for i in range(1, steps + 1):
        volume = top * i / steps
        if _gap(pricing, plan, shape, volume) <= 0:
            return volume
    return None


def test_matches_a_scan_on_the_seed_server() -> None:
    plan = SelfHostPlan("H100", 500_000 / 60 / 8, Lease(2_500), gpus_per_replica=2,
                        engineer_fte=0.5, engineer_usd_per_year=200_000)  # fmt: skip
    shape = Workload(1, 0.5, peak_to_average=2.0)
    be = break_even(GPT_4O, plan, shape)
    assert be.input_tokens_per_day is not None
    top = 400e6
    scanned = _scan(GPT_4O, plan, shape, top)
    assert scanned is not None
    assert scanned - top / 50_000 * 1.000001 <= be.input_tokens_per_day <= scanned * (1 + 1e-12)
    assert _gap(GPT_4O, plan, shape, be.input_tokens_per_day) == pytest.approx(0, abs=1e-6)
    assert _gap(GPT_4O, plan, shape, be.input_tokens_per_day * (1 - 1e-9)) > 0


def test_saw_tooth_permanent_crossover_matches_a_scan() -> None:
    # Replicas cost nearly what they save, so each new one briefly makes self-hosting dearer.
    plan = SelfHostPlan("H100", 500, Lease(2_500), gpus_per_replica=2,
                        engineer_fte=1, engineer_usd_per_year=100_000)  # fmt: skip
    shape = Workload(1, 0.5, peak_to_average=2.0)
    be = break_even(GPT_4O, plan, shape)
    assert be.input_tokens_per_day is not None and be.permanent_from is not None
    assert be.permanent_from > be.input_tokens_per_day
    top = be.permanent_from * 3
    steps = 60_000
    last_dearer = max(
        (top * i / steps for i in range(1, steps + 1)
         if _gap(GPT_4O, plan, shape, top * i / steps) > 0),
        default=0.0,
    )  # fmt: skip
    assert last_dearer <= be.permanent_from <= last_dearer + top / steps * 1.01


def test_never_when_a_replica_cannot_earn_its_cost() -> None:
    plan = SelfHostPlan("H100", 10, Lease(2_500), gpus_per_replica=2)  # 10 tokens/s per GPU
    be = break_even(GPT_4O, plan, Workload(1, 0.5))
    assert not be.exists
    assert "never pays" in be.reason
    assert _scan(GPT_4O, plan, Workload(1, 0.5), 1e10, steps=20_000) is None


def _random_case(rng: random.Random) -> tuple[ApiPricing, SelfHostPlan, Workload]:
    pricing = ApiPricing("api", rng.uniform(0.1, 15), rng.uniform(0.4, 75))
    hosting: Lease | Purchase
    power = None
    if rng.random() < 0.5:
        hosting = Lease(rng.uniform(800, 4_000))
    else:
        hosting = Purchase(rng.uniform(15_000, 40_000), rng.uniform(2, 5), rng.uniform(0, 0.12),
                           rng.uniform(0, 300))  # fmt: skip
        power = Power(rng.uniform(300, 700), rng.uniform(0.05, 0.3), rng.uniform(1, 1.6),
                      rng.uniform(0.1, 0.5))  # fmt: skip
    plan = SelfHostPlan(
        "gpu", rng.uniform(200, 5_000), hosting, gpus_per_replica=rng.choice((1, 2, 4, 8)),
        max_utilisation=rng.uniform(0.5, 1), min_replicas=rng.choice((1, 1, 2)), power=power,
        engineer_fte=rng.choice((0, 0.25, 1)), engineer_usd_per_year=rng.uniform(0, 250_000),
        other_usd_per_year=rng.uniform(0, 20_000),
    )  # fmt: skip
    shape = Workload(1, rng.uniform(0, 2), rng.uniform(1, 5))
    return pricing, plan, shape


@pytest.mark.parametrize("seed", range(40))
def test_random_cases_match_a_scan(seed: int) -> None:
    pricing, plan, shape = _random_case(random.Random(seed))
    be = break_even(pricing, plan, shape)
    line = cost_line(pricing, plan, shape)
    for volume in (1e5, 3e7, 9e8):  # the closed-form lines are the cost functions
        assert line.self_host(volume) == pytest.approx(self_host_cost(plan, shape.at(volume)).total)
    if not be.exists:
        assert _scan(pricing, plan, shape, 1e11, steps=6_000) is None
        return
    assert be.input_tokens_per_day is not None
    assert _gap(pricing, plan, shape, be.input_tokens_per_day) <= 1e-6 * max(
        1.0, be.annual_cost or 1
    )
    below = be.input_tokens_per_day * (1 - 1e-7)
    assert below <= 0 or _gap(pricing, plan, shape, below) > 0
    top = be.input_tokens_per_day * 1.5
    scanned = _scan(pricing, plan, shape, top, steps=6_000)
    assert scanned is not None
    step = top / 6_000
    assert scanned - step * 1.000001 <= be.input_tokens_per_day <= scanned * (1 + 1e-12)


def test_hybrid_break_even_is_the_plain_one_scaled() -> None:
    plan = SelfHostPlan("H100", 1_041.67, Lease(2_500), gpus_per_replica=2)
    shape = Workload(1, 0.5)
    plain = break_even(GPT_4O, plan, shape)
    hybrid = hybrid_break_even(GPT_4O, plan, shape, 0.2)
    assert plain.input_tokens_per_day is not None and hybrid.input_tokens_per_day is not None
    assert hybrid.input_tokens_per_day == pytest.approx(plain.input_tokens_per_day / 0.8)
    v = hybrid.input_tokens_per_day
    assert hybrid_cost(GPT_4O, plan, shape.at(v), 0.2).total == pytest.approx(
        api_cost(GPT_4O, shape.at(v)).total
    )
    with pytest.raises(ValueError, match="frontier_share"):
        hybrid_break_even(GPT_4O, plan, shape, 1.0)
