"""Cost against volume on log-log axes, with the crossover marked (matplotlib, no display).

matplotlib is the optional ``report`` extra and is imported only when a plot is drawn. The figure
is built with ``matplotlib.figure.Figure`` and the Agg canvas, never through pyplot, so nothing
global changes and no display is needed.
"""

from __future__ import annotations

import math
from pathlib import Path

from parity.economics.breakeven import break_even, hybrid_break_even
from parity.economics.tco import (
    ApiPricing,
    SelfHostPlan,
    Workload,
    api_cost,
    hybrid_cost,
    self_host_cost,
)

__all__ = ["plot_cost_curves", "volume_grid"]

_FORMATS = {".png", ".svg", ".pdf"}


def volume_grid(low: float, high: float, points: int = 400) -> list[float]:
    """Log-spaced input volumes from ``low`` to ``high`` inclusive."""
    if not 0 < low < high:
        raise ValueError("need 0 < low < high")
    step = (math.log10(high) - math.log10(low)) / (points - 1)
    return [10 ** (math.log10(low) + i * step) for i in range(points)]


def _range(pricing: ApiPricing, plan: SelfHostPlan, shape: Workload) -> tuple[float, float]:
    anchors = [shape.input_tokens_per_day]
    be = break_even(pricing, plan, shape)
    if be.input_tokens_per_day:
        anchors.append(be.input_tokens_per_day)
    positive = [a for a in anchors if a > 0] or [1e7]
    return min(positive) / 100, max(positive) * 100


def plot_cost_curves(
    pricing: ApiPricing,
    plan: SelfHostPlan,
    shape: Workload,
    path: Path,
    *,
    frontier_share: float | None = None,
    volume_range: tuple[float, float] | None = None,
) -> Path:
    """Write a PNG/SVG/PDF of yearly cost vs input tokens/day and return its path."""
    if path.suffix.lower() not in _FORMATS:
        raise ValueError(f"plot file must end in one of {sorted(_FORMATS)}, got {path.name!r}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    low, high = volume_range or _range(pricing, plan, shape)
    grid = volume_grid(low, high)
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(
        grid,
        [api_cost(pricing, shape.at(v)).total for v in grid],
        label=f"API ({pricing.name})",
        color="#c0392b",
    )
    ax.plot(
        grid,
        [self_host_cost(plan, shape.at(v)).total for v in grid],
        label=f"self-hosted ({plan.gpus_per_replica}x {plan.gpu} per replica)",
        color="#2471a3",
    )
    if frontier_share is not None:
        ax.plot(
            grid,
            [hybrid_cost(pricing, plan, shape.at(v), frontier_share).total for v in grid],
            label=f"hybrid ({frontier_share:.0%} to API)",
            color="#7d3c98",
            linestyle="--",
        )
    be = break_even(pricing, plan, shape)
    if be.input_tokens_per_day and be.annual_cost and low <= be.input_tokens_per_day <= high:
        ax.plot([be.input_tokens_per_day], [be.annual_cost], "o", color="black", zorder=5)
        ax.axvline(be.input_tokens_per_day, color="black", linewidth=0.8, linestyle=":")
        ax.annotate(
            f"crossover {be.input_tokens_per_day / 1e6:,.1f}M tokens/day\n"
            f"${be.annual_cost:,.0f}/yr",
            (be.input_tokens_per_day, be.annual_cost),
            textcoords="offset points",
            xytext=(10, -30),
            fontsize=9,
        )
    if frontier_share is not None and frontier_share < 1:
        hb = hybrid_break_even(pricing, plan, shape, frontier_share)
        if hb.input_tokens_per_day and low <= hb.input_tokens_per_day <= high:
            ax.axvline(hb.input_tokens_per_day, color="#7d3c98", linewidth=0.8, linestyle=":")
    if shape.input_tokens_per_day > 0:
        ax.axvline(
            shape.input_tokens_per_day,
            color="grey",
            linewidth=1.2,
            alpha=0.6,
            label=f"your volume ({shape.input_tokens_per_day / 1e6:,.1f}M/day)",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"input tokens per day (output = {shape.output_per_input:g} x input)")
    ax.set_ylabel("USD per year")
    ax.set_title(f"Cost of {pricing.name} vs self-hosting (peak/average {shape.peak_to_average:g})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
