"""The cost-quality picture: quality against the share of strong calls, with random and oracle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from parity.training.calibrate import OperatingPoint
from parity.training.metrics import RoutingCurve
from parity.training.portfolio import PortfolioPoint

__all__ = ["plot_pair", "plot_portfolio"]


def plot_pair(
    curves: Mapping[str, RoutingCurve],
    random: RoutingCurve,
    oracle: RoutingCurve,
    *,
    points: Sequence[OperatingPoint],
    path: Path,
    title: str,
) -> Path:
    """Write a PNG of each router's curve, the random and oracle lines, and the chosen points."""
    figure, axes = _figure()
    axes.plot(oracle.shares, oracle.qualities, color="0.6", linestyle=":", label="oracle")
    axes.plot(random.shares, random.qualities, color="0.4", linestyle="--", label="random")
    for name, curve in curves.items():
        axes.plot(curve.shares, curve.qualities, linewidth=2, label=name)
    axes.axhline(random.qualities[-1], color="tab:red", linewidth=0.8, label="strong model")
    axes.axhline(random.qualities[0], color="tab:gray", linewidth=0.8, label="weak model")
    for point in points:
        axes.scatter([point.strong_share], [point.quality], zorder=5, color="black")
        axes.annotate(
            f"{point.mode}: {point.strong_share:.0%} strong, {point.quality_share:.1%} quality",
            (point.strong_share, point.quality),
            textcoords="offset points",
            xytext=(6, -14),
            fontsize=8,
        )
    axes.set_xlabel("share of calls to the strong model")
    axes.set_ylabel("mean quality")
    return _save(figure, axes, path, title)


def plot_portfolio(
    points: Sequence[PortfolioPoint], chosen: OperatingPoint, path: Path, title: str
) -> Path:
    """Write a PNG of mean cost against mean quality as the quality bar moves."""
    figure, axes = _figure()
    ordered = sorted(points, key=lambda p: p.cost)
    axes.plot([p.cost for p in ordered], [p.quality for p in ordered], marker=".", label="router")
    if chosen.cost_per_request is not None:
        axes.scatter([chosen.cost_per_request], [chosen.quality], color="black", zorder=5)
    axes.set_xlabel("mean USD per request")
    axes.set_ylabel("mean quality")
    return _save(figure, axes, path, title)


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 5))
    return figure, axes


def _save(figure: Any, axes: Any, path: Path, title: str) -> Path:
    from matplotlib import pyplot

    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path
