"""The cost curve is written as a real image file, without a display."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.economics.plots import plot_cost_curves, volume_grid
from parity.economics.tco import ApiPricing, Lease, SelfHostPlan, Workload

pytest.importorskip("matplotlib")

PLAN = SelfHostPlan("H100", 1_041.67, Lease(2_500), gpus_per_replica=2)
GPT_4O = ApiPricing("gpt-4o", 2.5, 10.0)


def test_png_and_svg_are_written(tmp_path: Path) -> None:
    png = plot_cost_curves(GPT_4O, PLAN, Workload(50e6, 0.5), tmp_path / "cost.png",
                           frontier_share=0.2)  # fmt: skip
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot_cost_curves(GPT_4O, PLAN, Workload(50e6, 0.5), tmp_path / "sub" / "cost.svg")
    text = svg.read_text()
    assert "<svg" in text and "crossover" in text  # the crossover is annotated


def test_rejects_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plot file"):
        plot_cost_curves(GPT_4O, PLAN, Workload(1e6), tmp_path / "cost.gif")


def test_grid_is_log_spaced() -> None:
    grid = volume_grid(1e3, 1e9, points=7)
    assert grid[0] == pytest.approx(1e3) and grid[-1] == pytest.approx(1e9)
    assert grid[1] / grid[0] == pytest.approx(10.0)
