"""How the answer moves when one assumption moves: a one-at-a-time sensitivity table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from parity.economics.breakeven import break_even
from parity.economics.scenario import Scenario
from parity.economics.tco import Lease, Purchase, api_cost, self_host_cost

__all__ = ["Scenario", "SensitivityRow", "sensitivity"]


@dataclass(frozen=True, slots=True)
class SensitivityRow:
    """One assumption at one value: the break-even and both yearly costs at the workload."""

    parameter: str
    value: str
    break_even_input_tokens_per_day: float | None
    api_usd: float
    self_host_usd: float

    @property
    def cheaper(self) -> str:
        return "self-host" if self.self_host_usd < self.api_usd else "api"


_Change = Callable[[Scenario], Scenario]


def _scale_api(factor: float) -> _Change:
    def change(s: Scenario) -> Scenario:
        p = s.pricing
        return replace(
            s,
            pricing=replace(
                p, input_per_m=p.input_per_m * factor, output_per_m=p.output_per_m * factor
            ),
        )

    return change


def _scale_gpu_cost(factor: float) -> _Change:
    def change(s: Scenario) -> Scenario:
        hosting = s.plan.hosting
        if isinstance(hosting, Lease):
            new: Lease | Purchase = Lease(hosting.usd_per_gpu_month * factor)
        else:
            new = replace(hosting, usd_per_gpu=hosting.usd_per_gpu * factor)
        return replace(s, plan=replace(s.plan, hosting=new))

    return change


def _scale_throughput(factor: float) -> _Change:
    def change(s: Scenario) -> Scenario:
        tput = s.plan.tokens_per_s_per_gpu * factor
        return replace(s, plan=replace(s.plan, tokens_per_s_per_gpu=tput))

    return change


def _peak(value: float) -> _Change:
    def change(s: Scenario) -> Scenario:
        return replace(s, workload=replace(s.workload, peak_to_average=value))

    return change


def _fte(value: float) -> _Change:
    def change(s: Scenario) -> Scenario:
        return replace(s, plan=replace(s.plan, engineer_fte=value))

    return change


def _output_ratio(value: float) -> _Change:
    def change(s: Scenario) -> Scenario:
        return replace(s, workload=replace(s.workload, output_per_input=value))

    return change


def _variations(base: Scenario) -> list[tuple[str, str, _Change]]:
    plan, work = base.plan, base.workload
    rows: list[tuple[str, str, _Change]] = [
        ("API price", "x0.5", _scale_api(0.5)),
        ("API price", "x2", _scale_api(2.0)),
        ("GPU cost", "x0.5", _scale_gpu_cost(0.5)),
        ("GPU cost", "x2", _scale_gpu_cost(2.0)),
        ("throughput/GPU", f"{plan.tokens_per_s_per_gpu * 0.5:,.0f} tok/s", _scale_throughput(0.5)),
        ("throughput/GPU", f"{plan.tokens_per_s_per_gpu * 2:,.0f} tok/s", _scale_throughput(2.0)),
    ]
    for peak in (1.0, 3.0):
        if peak != work.peak_to_average:
            rows.append(("peak/average", f"{peak:g}", _peak(peak)))
    if plan.engineer_usd_per_year > 0:
        for fte in (0.0, 1.0):
            if fte != plan.engineer_fte:
                rows.append(("engineer FTE", f"{fte:g}", _fte(fte)))
    for ratio in (0.25, 1.0):
        if ratio != work.output_per_input:
            rows.append(("output/input", f"{ratio:g}", _output_ratio(ratio)))
    return rows


def _row(parameter: str, value: str, scenario: Scenario) -> SensitivityRow:
    be = break_even(scenario.pricing, scenario.plan, scenario.workload)
    return SensitivityRow(
        parameter,
        value,
        be.input_tokens_per_day,
        api_cost(scenario.pricing, scenario.workload).total,
        self_host_cost(scenario.plan, scenario.workload).total,
    )


def sensitivity(base: Scenario) -> list[SensitivityRow]:
    """The base case, then each assumption moved on its own (engineer FTE needs a salary)."""
    rows = [_row("base case", "", base)]
    rows.extend(_row(name, value, change(base)) for name, value, change in _variations(base))
    return rows
