"""Total cost of ownership: a vendor API, self-hosted GPUs, and a hybrid of the two.

Volume is counted as docs/sources.md S1 counts it: *input* tokens per day, with output tokens a
fixed ratio of input (S1: "10M input tokens/day ... If half the tokens are output ... add $50/day"
makes 10M input + 5M output, so ``output_per_input = 0.5``). All costs are USD per year.

Self-hosting is a step function of volume: replicas of ``gpus_per_replica`` GPUs are added when
the peak token rate exceeds what the running replicas serve at ``max_utilisation``. Each GPU costs
its lease, or its purchase price amortised (with an optional cost of capital) plus hosting and
power; engineering time is a fixed cost of running anything at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from parity.catalog.deployment import Price

__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "ApiCost",
    "ApiPricing",
    "Comparison",
    "HybridCost",
    "Lease",
    "Power",
    "Purchase",
    "SelfHostCost",
    "SelfHostPlan",
    "Workload",
    "api_cost",
    "compare",
    "hybrid_cost",
    "implied_price_per_m",
    "self_host_cost",
]

DAYS_PER_YEAR = 365  # the arithmetic of docs/sources.md S1: $75/day x 365 = $27,375/year
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
SECONDS_PER_DAY = 86_400
HOURS_PER_YEAR = DAYS_PER_YEAR * 24
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Workload:
    """A daily token volume and its shape."""

    input_tokens_per_day: float
    output_per_input: float = 0.5
    peak_to_average: float = 1.0

    def __post_init__(self) -> None:
        if self.input_tokens_per_day < 0:
            raise ValueError("input_tokens_per_day must be >= 0")
        if self.output_per_input < 0:
            raise ValueError("output_per_input must be >= 0")
        if self.peak_to_average < 1:
            raise ValueError("peak_to_average must be >= 1 (the peak is at least the average)")

    @property
    def output_tokens_per_day(self) -> float:
        return self.input_tokens_per_day * self.output_per_input

    @property
    def total_tokens_per_day(self) -> float:
        return self.input_tokens_per_day + self.output_tokens_per_day

    @property
    def average_tokens_per_s(self) -> float:
        return self.total_tokens_per_day / SECONDS_PER_DAY

    @property
    def peak_tokens_per_s(self) -> float:
        return self.average_tokens_per_s * self.peak_to_average

    def at(self, input_tokens_per_day: float) -> Workload:
        """The same shape at another volume."""
        return Workload(input_tokens_per_day, self.output_per_input, self.peak_to_average)


@dataclass(frozen=True, slots=True)
class ApiPricing:
    """A vendor's list price, USD per one million tokens."""

    name: str
    input_per_m: float
    output_per_m: float

    @classmethod
    def from_price(cls, name: str, price: Price) -> ApiPricing:
        return cls(name, price.input, price.output)

    def daily_cost(self, workload: Workload) -> float:
        return (
            workload.input_tokens_per_day * self.input_per_m
            + workload.output_tokens_per_day * self.output_per_m
        ) / 1e6

    def annual_cost(self, workload: Workload) -> float:
        return self.daily_cost(workload) * DAYS_PER_YEAR

    def blended_per_m(self, output_per_input: float) -> float:
        """USD per 1M tokens, input and output together, at this mix."""
        return (self.input_per_m + output_per_input * self.output_per_m) / (1 + output_per_input)


@dataclass(frozen=True, slots=True)
class Lease:
    """Rented GPUs (cloud or colocation lease); power and hosting are in the price."""

    usd_per_gpu_month: float

    def annual_per_gpu(self) -> float:
        return self.usd_per_gpu_month * 12

    @property
    def includes_power(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Purchase:
    """Bought GPUs: the price (server share included) amortised over ``amortisation_years``.

    With a ``cost_of_capital`` the yearly charge is the annuity that repays the price with interest
    (``price x r / (1 - (1 + r)^-n)``); without one it is straight-line.
    """

    usd_per_gpu: float
    amortisation_years: float = 3.0
    cost_of_capital: float = 0.0
    hosting_usd_per_gpu_month: float = 0.0

    def __post_init__(self) -> None:
        if self.amortisation_years <= 0:
            raise ValueError("amortisation_years must be > 0")
        if self.cost_of_capital < 0:
            raise ValueError("cost_of_capital must be >= 0")

    def annual_per_gpu(self) -> float:
        r, n = self.cost_of_capital, self.amortisation_years
        capital = self.usd_per_gpu / n if r == 0 else self.usd_per_gpu * r / (1 - (1 + r) ** -n)
        return capital + self.hosting_usd_per_gpu_month * 12

    @property
    def includes_power(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Power:
    """Electricity for owned GPUs: draw rises from ``idle_fraction`` of board power to all of it."""

    watts_per_gpu: float
    usd_per_kwh: float
    pue: float = 1.0
    idle_fraction: float = 0.3

    def __post_init__(self) -> None:
        if not 0 <= self.idle_fraction <= 1:
            raise ValueError("idle_fraction must be within [0, 1]")
        if self.pue < 1:
            raise ValueError("pue must be >= 1")

    def _usd_per_watt_year(self) -> float:
        return self.pue * HOURS_PER_YEAR / 1000 * self.usd_per_kwh

    def idle_annual_per_gpu(self) -> float:
        return self.watts_per_gpu * self.idle_fraction * self._usd_per_watt_year()

    def dynamic_annual(self, busy_gpus: float) -> float:
        """Power above idle for ``busy_gpus`` GPU-equivalents of work, over a year."""
        return self.watts_per_gpu * (1 - self.idle_fraction) * busy_gpus * self._usd_per_watt_year()


@dataclass(frozen=True, slots=True)
class SelfHostPlan:
    """How an open model is served: GPU type, throughput, cost of a GPU, people."""

    gpu: str
    tokens_per_s_per_gpu: float
    hosting: Lease | Purchase
    gpus_per_replica: int = 1
    max_utilisation: float = 1.0
    min_replicas: int = 1
    power: Power | None = None
    engineer_fte: float = 0.0
    engineer_usd_per_year: float = 0.0
    other_usd_per_year: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens_per_s_per_gpu <= 0:
            raise ValueError("tokens_per_s_per_gpu must be > 0")
        if self.gpus_per_replica < 1 or self.min_replicas < 1:
            raise ValueError("gpus_per_replica and min_replicas must be >= 1")
        if not 0 < self.max_utilisation <= 1:
            raise ValueError("max_utilisation must be within (0, 1]")
        if self.engineer_fte < 0 or self.engineer_usd_per_year < 0 or self.other_usd_per_year < 0:
            raise ValueError("engineering and other costs must be >= 0")

    @property
    def replica_tokens_per_s(self) -> float:
        """Tokens per second one replica serves at the planned utilisation ceiling."""
        return self.tokens_per_s_per_gpu * self.gpus_per_replica * self.max_utilisation

    @property
    def fixed_per_gpu(self) -> float:
        """Yearly cost of one GPU whether busy or not (lease, or amortisation + hosting + idle)."""
        idle = 0.0
        if self.power is not None and not self.hosting.includes_power:
            idle = self.power.idle_annual_per_gpu()
        return self.hosting.annual_per_gpu() + idle

    @property
    def people_and_other(self) -> float:
        return self.engineer_fte * self.engineer_usd_per_year + self.other_usd_per_year

    def replicas_for(self, workload: Workload) -> int:
        needed = math.ceil(workload.peak_tokens_per_s / self.replica_tokens_per_s - _EPS)
        return max(self.min_replicas, needed)

    def dynamic_power(self, workload: Workload) -> float:
        if self.power is None or self.hosting.includes_power:
            return 0.0
        return self.power.dynamic_annual(workload.average_tokens_per_s / self.tokens_per_s_per_gpu)


@dataclass(frozen=True, slots=True)
class ApiCost:
    pricing: ApiPricing
    input_usd: float
    output_usd: float

    @property
    def total(self) -> float:
        return self.input_usd + self.output_usd


@dataclass(frozen=True, slots=True)
class SelfHostCost:
    plan: SelfHostPlan
    replicas: int
    gpus: int
    hardware_usd: float
    power_usd: float
    people_usd: float
    average_utilisation: float
    peak_utilisation: float

    @property
    def total(self) -> float:
        return self.hardware_usd + self.power_usd + self.people_usd


@dataclass(frozen=True, slots=True)
class HybridCost:
    frontier_share: float
    api: ApiCost
    self_host: SelfHostCost | None

    @property
    def total(self) -> float:
        return self.api.total + (self.self_host.total if self.self_host else 0.0)


@dataclass(frozen=True, slots=True)
class Comparison:
    workload: Workload
    api: ApiCost
    self_host: SelfHostCost
    hybrid: HybridCost | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def options(self) -> dict[str, float]:
        out = {"api": self.api.total, "self_host": self.self_host.total}
        if self.hybrid is not None:
            out["hybrid"] = self.hybrid.total
        return out

    @property
    def cheapest(self) -> str:
        return min(self.options.items(), key=lambda item: item[1])[0]


def api_cost(pricing: ApiPricing, workload: Workload) -> ApiCost:
    """Yearly cost of sending ``workload`` to a vendor API."""
    days = DAYS_PER_YEAR / 1e6
    return ApiCost(
        pricing,
        workload.input_tokens_per_day * pricing.input_per_m * days,
        workload.output_tokens_per_day * pricing.output_per_m * days,
    )


def self_host_cost(plan: SelfHostPlan, workload: Workload) -> SelfHostCost:
    """Yearly cost of serving ``workload`` on the plan's GPUs."""
    replicas = plan.replicas_for(workload)
    gpus = replicas * plan.gpus_per_replica
    capacity = gpus * plan.tokens_per_s_per_gpu
    return SelfHostCost(
        plan=plan,
        replicas=replicas,
        gpus=gpus,
        hardware_usd=gpus * plan.fixed_per_gpu,
        power_usd=plan.dynamic_power(workload),
        people_usd=plan.people_and_other,
        average_utilisation=workload.average_tokens_per_s / capacity,
        peak_utilisation=workload.peak_tokens_per_s / capacity,
    )


def hybrid_cost(
    pricing: ApiPricing, plan: SelfHostPlan, workload: Workload, frontier_share: float
) -> HybridCost:
    """``frontier_share`` of the tokens to the API, the rest to self-hosted GPUs."""
    if not 0 <= frontier_share <= 1:
        raise ValueError("frontier_share must be within [0, 1]")
    volume = workload.input_tokens_per_day
    api = api_cost(pricing, workload.at(volume * frontier_share))
    local = None
    if frontier_share < 1:
        local = self_host_cost(plan, workload.at(volume * (1 - frontier_share)))
    return HybridCost(frontier_share, api, local)


def compare(
    pricing: ApiPricing,
    plan: SelfHostPlan,
    workload: Workload,
    frontier_share: float | None = None,
) -> Comparison:
    """API, self-hosting and (when a share is given) hybrid, side by side."""
    hybrid = (
        None if frontier_share is None else hybrid_cost(pricing, plan, workload, frontier_share)
    )
    notes: list[str] = []
    if plan.engineer_fte == 0:
        notes.append(
            "no engineering time is counted for self-hosting (the worked examples of "
            "docs/sources.md S1 leave it out; S2 warns it is real): set engineer FTE and cost"
        )
    return Comparison(
        workload, api_cost(pricing, workload), self_host_cost(plan, workload), hybrid, tuple(notes)
    )


def implied_price_per_m(usd_per_month: float, total_tokens_per_day: float) -> float:
    """The USD-per-1M-token price that a monthly bill at a daily volume implies."""
    if total_tokens_per_day <= 0:
        raise ValueError("total_tokens_per_day must be > 0")
    return usd_per_month / (total_tokens_per_day * DAYS_PER_MONTH) * 1e6
