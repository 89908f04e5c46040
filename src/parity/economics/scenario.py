"""A cost scenario built from plain inputs and the catalog, with the source of every figure.

``CostInputs`` mirrors ``parity cost``'s flags; ``build_scenario`` fills the gaps from the catalog
(API prices, GPU lease, model size, measured throughput) or from docs/sources.md, and returns the
assumption table that the CLI prints next to the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.catalog.hardware import GpuSpec, estimate_memory, gpus_needed
from parity.catalog.registry import Catalog
from parity.economics.tco import ApiPricing, Lease, Power, Purchase, SelfHostPlan, Workload

__all__ = [
    "DEFAULT_ENGINEER_USD",
    "SEED_TOKENS_PER_S_PER_GPU",
    "Assumption",
    "CostInputs",
    "Scenario",
    "build_scenario",
]

SEED_TOKENS_PER_S_PER_GPU = 500_000 / 60 / 8  # docs/sources.md S1: 8xH100 handles ~500K tokens/min
SEED_GPUS_PER_REPLICA = 2  # docs/sources.md S1: Llama 3.1 70B on 2xH100
DEFAULT_ENGINEER_USD = 200_000.0  # placeholder fully loaded cost per FTE-year, not from sources.md


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one cost comparison depends on."""

    pricing: ApiPricing
    plan: SelfHostPlan
    workload: Workload


@dataclass(frozen=True, slots=True)
class Assumption:
    """One figure in a scenario, and where it came from."""

    name: str
    value: str
    source: str


@dataclass(frozen=True, slots=True)
class CostInputs:
    """What a user may state; ``None`` means 'take it from the catalog or docs/sources.md'."""

    tokens_per_day: float
    output_per_input: float = 0.5
    peak_to_average: float = 1.0
    api_model: str = "gpt-4o"
    api_input_price: float | None = None
    api_output_price: float | None = None
    gpu: str = "h100"
    local_model: str | None = None
    precision: str = "bf16"
    context: int = 8192
    gpus_per_replica: int | None = None
    throughput_per_gpu: float | None = None
    max_utilisation: float = 1.0
    lease_per_gpu_month: float | None = None
    purchase_per_gpu: float | None = None
    amortisation_years: float = 3.0
    cost_of_capital: float = 0.0
    hosting_per_gpu_month: float = 0.0
    kwh_price: float | None = None
    power_watts: float | None = None
    pue: float = 1.0
    idle_fraction: float = 0.3
    engineer_fte: float = 0.0
    engineer_cost: float = DEFAULT_ENGINEER_USD
    other_per_year: float = 0.0


def _pricing(catalog: Catalog, i: CostInputs) -> tuple[ApiPricing, Assumption]:
    card = catalog.card(i.api_model)
    if i.api_input_price is not None and i.api_output_price is not None:
        pricing = ApiPricing(card.id, i.api_input_price, i.api_output_price)
        source = "--api-input-price, --api-output-price"
    elif card.price is None:
        raise ValueError(f"{card.id} has no API price; give both --api-*-price options")
    else:
        pricing = ApiPricing(
            card.id,
            card.price.input if i.api_input_price is None else i.api_input_price,
            card.price.output if i.api_output_price is None else i.api_output_price,
        )
        source = card.price.source
    value = f"{card.id}: ${pricing.input_per_m:g} in / ${pricing.output_per_m:g} out per 1M"
    return pricing, Assumption("API price", value, source)


def _replica(catalog: Catalog, i: CostInputs, gpu: GpuSpec) -> tuple[int, Assumption]:
    if i.gpus_per_replica is not None:
        count, source = i.gpus_per_replica, "--gpus-per-replica"
    elif i.local_model is not None:
        card = catalog.card(i.local_model)
        estimate = estimate_memory(card, catalog.precision(i.precision), context=i.context)
        count = gpus_needed(estimate, gpu)
        source = f"{card.id} at {i.precision}, {i.context:,} context (catalog hardware fit)"
    else:
        count, source = SEED_GPUS_PER_REPLICA, "docs/sources.md S1: Llama 3.1 70B on 2xH100"
    return count, Assumption("GPUs per replica", f"{count} x {gpu.name}", source)


def _throughput(catalog: Catalog, i: CostInputs, gpu: GpuSpec) -> tuple[float, Assumption]:
    tput = SEED_TOKENS_PER_S_PER_GPU
    source = 'docs/sources.md S1: "8xH100 ... handles ~500K tokens/min"'
    if i.throughput_per_gpu is not None:
        tput, source = i.throughput_per_gpu, "--throughput-per-gpu"
    elif i.local_model is not None:
        for item in catalog.card(i.local_model).throughput:
            if item.gpu == gpu.id:
                tput, source = item.tokens_per_s_per_gpu, item.source
    value = f"{tput:,.0f} tokens/s per GPU (input + output)"
    return tput, Assumption("throughput", value, source)


def _hosting(
    i: CostInputs, gpu: GpuSpec
) -> tuple[Lease | Purchase, Power | None, list[Assumption]]:
    if i.purchase_per_gpu is None:
        if i.lease_per_gpu_month is not None:
            lease, source = i.lease_per_gpu_month, "--lease-per-gpu-month"
        elif gpu.lease_usd_per_gpu_month is not None:
            lease, source = gpu.lease_usd_per_gpu_month, gpu.lease_source or gpu.source
        else:
            raise ValueError(
                f"no sourced lease price for {gpu.name}; give --lease-per-gpu-month or "
                "--purchase-per-gpu"
            )
        value = f"${lease:,.0f} per GPU-month, power and hosting included"
        return Lease(lease), None, [Assumption("GPU lease", value, source)]
    buy = Purchase(
        i.purchase_per_gpu, i.amortisation_years, i.cost_of_capital, i.hosting_per_gpu_month
    )
    rows = [
        Assumption(
            "GPU purchase",
            f"${buy.usd_per_gpu:,.0f}/GPU over {buy.amortisation_years:g} yr at "
            f"{buy.cost_of_capital:.1%}; hosting ${buy.hosting_usd_per_gpu_month:,.0f}/GPU-month",
            "--purchase-per-gpu, --amortisation-years, --cost-of-capital, --hosting-per-gpu-month",
        )
    ]
    if i.kwh_price is None:
        rows.append(Assumption("power", "not counted", "give --kwh-price to count electricity"))
        return buy, None, rows
    watts = i.power_watts or gpu.tdp_watts or 700.0
    power = Power(watts, i.kwh_price, i.pue, i.idle_fraction)
    rows.append(
        Assumption(
            "power",
            f"{watts:g} W/GPU, ${i.kwh_price:g}/kWh, PUE {i.pue:g}, idle at {i.idle_fraction:.0%}",
            gpu.source if i.power_watts is None else "--power-watts",
        )
    )
    return buy, power, rows


def build_scenario(catalog: Catalog, i: CostInputs) -> tuple[Scenario, list[Assumption]]:
    """The scenario for ``i``, with a row per assumption naming its source."""
    pricing, price_row = _pricing(catalog, i)
    workload = Workload(i.tokens_per_day, i.output_per_input, i.peak_to_average)
    gpu = catalog.gpu(i.gpu)
    per_replica, replica_row = _replica(catalog, i, gpu)
    tput, tput_row = _throughput(catalog, i, gpu)
    hosting, power, hosting_rows = _hosting(i, gpu)
    plan = SelfHostPlan(
        gpu=gpu.name,
        tokens_per_s_per_gpu=tput,
        hosting=hosting,
        gpus_per_replica=per_replica,
        max_utilisation=i.max_utilisation,
        power=power,
        engineer_fte=i.engineer_fte,
        engineer_usd_per_year=i.engineer_cost,
        other_usd_per_year=i.other_per_year,
    )
    people = i.engineer_fte * i.engineer_cost
    rows = [
        price_row,
        Assumption(
            "volume",
            f"{workload.input_tokens_per_day:,.0f} input tokens/day, "
            f"{workload.output_per_input:g} output per input",
            "--tokens-per-day, --output-per-input (docs/sources.md S1 counts output on top)",
        ),
        Assumption("peak / average", f"{workload.peak_to_average:g}", "--peak-to-average"),
        replica_row,
        tput_row,
        Assumption("max utilisation", f"{plan.max_utilisation:.0%} at peak", "--max-utilisation"),
        *hosting_rows,
        Assumption(
            "engineering",
            f"{i.engineer_fte:g} FTE x ${i.engineer_cost:,.0f}/yr = ${people:,.0f}/yr",
            "--engineer-fte, --engineer-cost (the default cost is a placeholder)",
        ),
    ]
    if i.other_per_year:
        rows.append(Assumption("other fixed", f"${i.other_per_year:,.0f}/yr", "--other-per-year"))
    return Scenario(pricing, plan, workload), rows
