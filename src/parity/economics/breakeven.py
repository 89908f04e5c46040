"""The volume at which self-hosting becomes cheaper than the API, solved in closed form.

With V the input tokens per day, the API costs ``a·V`` a year. Self-hosting with n replicas
costs ``n·G + E + b·V``: G is the yearly fixed cost of one replica (its GPUs' lease, or their
amortisation, hosting and idle power), E the people and other fixed costs, b the power above idle
per unit of volume. n is the smallest count whose capacity C (input tokens/day per replica at the
planned peak utilisation) covers V, and never below ``min_replicas``.

On the segment where n replicas run, ``V ∈ ((n-1)·C, n·C]``, both costs are affine, so they cross
at ``V* = (n·G + E) / (a - b)``. That crossing lies inside the segment exactly when
``n·(C·(a - b) - G) >= E``; the smallest such n is ``ceil(E / (C·(a - b) - G))``. If
``C·(a - b) <= G`` a full replica never earns back its own cost and self-hosting never pays.

Just after each new replica starts, self-hosting can briefly cost more than the API again (a
saw-tooth). It stays cheaper for good from segment m, the smallest n with
``n·(C·(a - b) - G) >= E + C·(a - b)``; ``permanent_from`` reports where that stretch begins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.economics.tco import (
    SECONDS_PER_DAY,
    ApiPricing,
    SelfHostPlan,
    Workload,
    api_cost,
)

__all__ = ["BreakEven", "CostLine", "break_even", "cost_line", "hybrid_break_even"]


@dataclass(frozen=True, slots=True)
class CostLine:
    """The coefficients of both cost curves for one workload shape (V = input tokens/day)."""

    api_per_volume: float  # a: USD/year per input token/day
    replica_fixed: float  # G: USD/year per replica
    fixed: float  # E: USD/year regardless of replicas
    power_per_volume: float  # b: USD/year per input token/day (power above idle)
    replica_capacity: float  # C: input tokens/day one replica serves at peak
    min_replicas: int

    @property
    def margin(self) -> float:
        """What one full replica saves against the API per year: C·(a - b) - G."""
        return (
            self.replica_capacity * (self.api_per_volume - self.power_per_volume)
            - self.replica_fixed
        )

    def self_host(self, volume: float) -> float:
        """Self-hosting cost at ``volume`` (the same as ``self_host_cost`` computes)."""
        replicas = max(self.min_replicas, math.ceil(volume / self.replica_capacity - 1e-9))
        return replicas * self.replica_fixed + self.fixed + self.power_per_volume * volume

    def api(self, volume: float) -> float:
        return self.api_per_volume * volume


@dataclass(frozen=True, slots=True)
class BreakEven:
    """Where self-hosting first costs no more than the API, and from where it always does."""

    input_tokens_per_day: float | None
    permanent_from: float | None
    replicas: int | None
    annual_cost: float | None
    reason: str

    @property
    def exists(self) -> bool:
        return self.input_tokens_per_day is not None


def cost_line(pricing: ApiPricing, plan: SelfHostPlan, shape: Workload) -> CostLine:
    """Both curves' coefficients for the plan and the shape's mix and peak factor."""
    tokens_per_input = 1 + shape.output_per_input
    api_per_volume = api_cost(pricing, shape.at(1.0)).total
    capacity = (
        plan.replica_tokens_per_s * SECONDS_PER_DAY / (tokens_per_input * shape.peak_to_average)
    )
    power_per_volume = plan.dynamic_power(shape.at(1.0))
    return CostLine(
        api_per_volume=api_per_volume,
        replica_fixed=plan.fixed_per_gpu * plan.gpus_per_replica,
        fixed=plan.people_and_other,
        power_per_volume=power_per_volume,
        replica_capacity=capacity,
        min_replicas=plan.min_replicas,
    )


def break_even(pricing: ApiPricing, plan: SelfHostPlan, shape: Workload) -> BreakEven:
    """The input tokens/day at which self-hosting stops costing more than ``pricing``."""
    line = cost_line(pricing, plan, shape)
    slope = line.api_per_volume - line.power_per_volume
    if slope <= 0:
        return BreakEven(None, None, None, None, "power alone costs more per token than the API")
    margin = line.margin
    if margin < 0 or (margin == 0 and line.fixed > 0):
        per_replica = line.replica_capacity * slope
        return BreakEven(
            None,
            None,
            None,
            None,
            f"a full replica saves ${per_replica:,.0f}/yr of API spend but costs "
            f"${line.replica_fixed:,.0f}/yr, so self-hosting never pays at these assumptions",
        )
    first_n = (
        line.min_replicas if margin == 0 else max(line.min_replicas, _ceil(line.fixed / margin))
    )
    volume = (first_n * line.replica_fixed + line.fixed) / slope
    if margin == 0:
        permanent = volume
    else:
        stay_n = max(first_n + 1, _ceil((line.fixed + line.replica_capacity * slope) / margin))
        permanent = ((stay_n - 1) * line.replica_fixed + line.fixed) / slope
    annual = line.api(volume)
    tokens = shape.at(volume).total_tokens_per_day
    return BreakEven(
        volume,
        permanent,
        first_n,
        annual,
        f"self-hosting on {first_n} replica(s) of {plan.gpus_per_replica} x {plan.gpu} costs the "
        f"same as {pricing.name} at {volume / 1e6:,.1f}M input tokens/day "
        f"({tokens / 1e6:,.1f}M total), ${annual:,.0f}/yr each",
    )


def hybrid_break_even(
    pricing: ApiPricing, plan: SelfHostPlan, shape: Workload, frontier_share: float
) -> BreakEven:
    """Where a hybrid that keeps ``frontier_share`` on the API beats sending everything there.

    The API share costs the same either way, so the hybrid wins exactly when the self-hosted share
    ``(1 - s)·V`` passes the plain break-even: ``V = V* / (1 - s)``.
    """
    if not 0 <= frontier_share < 1:
        raise ValueError("frontier_share must be within [0, 1)")
    plain = break_even(pricing, plan, shape)
    if plain.input_tokens_per_day is None or plain.permanent_from is None:
        return plain
    scale = 1 / (1 - frontier_share)
    volume = plain.input_tokens_per_day * scale
    return BreakEven(
        volume,
        plain.permanent_from * scale,
        plain.replicas,
        api_cost(pricing, shape.at(volume)).total,
        f"with {frontier_share:.0%} of tokens kept on {pricing.name}, the hybrid matches all-API "
        f"at {volume / 1e6:,.1f}M input tokens/day",
    )


def _ceil(value: float) -> int:
    return max(1, math.ceil(value - 1e-9))
