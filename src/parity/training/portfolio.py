"""More than two models: predict each model's quality, pick the cheapest that clears a bar.

With a bar of ``threshold``, a prompt goes to the cheapest model whose predicted quality is at
least the bar, or to the fallback (the strong model) when none is. Raising the bar moves
traffic to dearer models; sweeping it traces cost against quality, which calibration reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["PortfolioPoint", "choose_cheapest", "portfolio_choices", "portfolio_curve"]

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PortfolioPoint:
    """What a bar does on labelled data: mean cost and quality, and each model's share."""

    threshold: float
    cost: float
    quality: float
    shares: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"shares": dict(self.shares)}


def choose_cheapest(
    predicted: Mapping[str, float], costs: Mapping[str, float], threshold: float, fallback: str
) -> str:
    """The cheapest model predicted to reach ``threshold``, else ``fallback``."""
    for model in sorted(predicted, key=lambda m: (costs[m], m)):
        if predicted[model] >= threshold:
            return model
    return fallback


def portfolio_choices(
    predicted: Matrix,
    models: Sequence[str],
    costs: Mapping[str, float],
    threshold: float,
    fallback: str,
) -> npt.NDArray[np.intp]:
    """For each row of predicted qualities (one column per model), the chosen column."""
    order = sorted(range(len(models)), key=lambda j: (costs[models[j]], models[j]))
    chosen = np.full(predicted.shape[0], models.index(fallback), dtype=np.intp)
    done = np.zeros(predicted.shape[0], dtype=bool)
    for j in order:
        take = ~done & (predicted[:, j] >= threshold)
        chosen[take] = j
        done |= take
    return chosen


def portfolio_curve(
    predicted: Matrix,
    actual: Matrix,
    models: Sequence[str],
    *,
    costs: Mapping[str, float],
    fallback: str,
    steps: int = 101,
) -> list[PortfolioPoint]:
    """Cost and quality for bars spread over the range of predicted qualities."""
    bars = np.unique(np.quantile(predicted, np.linspace(0, 1, steps)))
    bars = np.r_[bars, bars[-1] + 1e-6]  # above every prediction: everything to the fallback
    price = np.array([costs[m] for m in models])
    rows = np.arange(predicted.shape[0])
    points = []
    for bar in bars:
        chosen = portfolio_choices(predicted, models, costs, float(bar), fallback)
        counts = np.bincount(chosen, minlength=len(models)) / len(chosen)
        points.append(
            PortfolioPoint(
                threshold=float(bar),
                cost=float(price[chosen].mean()),
                quality=float(actual[rows, chosen].mean()),
                shares={m: float(c) for m, c in zip(models, counts, strict=True)},
            )
        )
    return points
