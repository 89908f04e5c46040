"""Router metrics: the quality/strong-call curve, APGR, CPT and the share for a quality target.

A router sends a prompt to the strong model when its score clears a threshold. Sweeping the
threshold traces quality against the share of strong calls, from the weak model's quality at 0
to the strong model's at 1. Prompts with equal scores cannot be told apart, so between the
points where the score changes the curve is the straight line that breaking ties at random
gives on average; this makes every metric here exact for the data, with no threshold grid.

- PGR (performance gap recovered) at a share: (quality - weak) / (strong - weak).
- APGR: the area under PGR against the share (random routing: 0.5). As RouteLLM defines it.
- CPT(x%): the smallest share of strong calls whose PGR reaches x%.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "RouterMetrics",
    "RoutingCurve",
    "cost_saving",
    "oracle_curve",
    "random_curve",
    "router_metrics",
    "routing_curve",
    "threshold_for_share",
]

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RoutingCurve:
    """Quality against the share of strong calls, as a piecewise-linear curve."""

    shares: Vector
    qualities: Vector
    weak_quality: float
    strong_quality: float

    def quality_at(self, share: float) -> float:
        return float(np.interp(share, self.shares, self.qualities))

    def pgr(self) -> Vector:
        gap = self.strong_quality - self.weak_quality
        if gap <= 0:
            return np.full_like(self.qualities, math.nan)
        return (self.qualities - self.weak_quality) / gap

    def apgr(self) -> float:
        return float(np.trapezoid(self.pgr(), self.shares))

    def share_for_quality(self, quality: float) -> float | None:
        """The smallest share of strong calls whose quality reaches ``quality`` (None: never)."""
        q, x = self.qualities, self.shares
        reached = np.flatnonzero(q >= quality - 1e-12)
        if reached.size == 0:
            return None
        i = int(reached[0])
        if i == 0:
            return float(x[0])
        # The curve crosses ``quality`` inside the segment that ends at point i.
        step = (quality - q[i - 1]) / (q[i] - q[i - 1])
        return float(x[i - 1] + step * (x[i] - x[i - 1]))

    def cpt(self, level: float) -> float | None:
        """CPT: the share of strong calls needed to recover ``level`` of the quality gap."""
        if self.strong_quality <= self.weak_quality:
            return 0.0
        return self.share_for_quality(
            self.weak_quality + level * (self.strong_quality - self.weak_quality)
        )


def routing_curve(score: Vector, weak: Vector, strong: Vector) -> RoutingCurve:
    """The curve of a router that sends the highest-``score`` prompts to the strong model."""
    score, weak, strong = (np.asarray(a, dtype=np.float64) for a in (score, weak, strong))
    n = len(score)
    if n == 0 or not len(weak) == len(strong) == n:
        raise ValueError("score, weak and strong must be non-empty and of equal length")
    order = np.argsort(-score, kind="stable")
    gains = (strong - weak)[order]
    ordered = score[order]
    # Points only where the score changes: inside a run of ties the line is the expectation.
    ends = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True]) + 1
    cumulative = np.r_[0.0, np.cumsum(gains)[ends - 1]]
    shares = np.r_[0.0, ends / n]
    qualities = weak.mean() + cumulative / n
    return RoutingCurve(shares, qualities, float(weak.mean()), float(strong.mean()))


def random_curve(weak: Vector, strong: Vector) -> RoutingCurve:
    """The expected curve of a router that picks prompts at random: a straight line."""
    w, s = float(np.mean(weak)), float(np.mean(strong))
    return RoutingCurve(np.array([0.0, 1.0]), np.array([w, s]), w, s)


def oracle_curve(weak: Vector, strong: Vector) -> RoutingCurve:
    """The curve of a router that knows each answer's quality in advance."""
    return routing_curve(np.asarray(strong) - np.asarray(weak), weak, strong)


def threshold_for_share(score: Vector, share: float) -> float:
    """A threshold on ``score`` that sends about ``share`` of these prompts to the strong model.

    It sits halfway between the last score sent and the first kept, so that a retrained model
    with a slightly different scale still lands on the same side.
    """
    ordered = np.sort(np.asarray(score, dtype=np.float64))[::-1]
    k = min(len(ordered), max(0, math.ceil(share * len(ordered) - 1e-9)))
    if k == 0:
        return float(ordered[0]) + 1e-6
    if k == len(ordered):
        return float(ordered[-1])
    return float((ordered[k - 1] + ordered[k]) / 2)


def cost_saving(share: float, weak_cost: float, strong_cost: float, *, cascade: bool) -> float:
    """The share of the all-strong bill saved at ``share`` strong calls.

    A router pays for one model per prompt; a cascade always pays for the weak answer first.
    """
    if strong_cost <= 0:
        return 0.0
    spent = (weak_cost if cascade else (1 - share) * weak_cost) + share * strong_cost
    return 1.0 - spent / strong_cost


@dataclass(frozen=True)
class RouterMetrics:
    """The summary a user compares routers by."""

    apgr: float
    cpt50: float | None
    cpt80: float | None
    share_at_target: float | None
    target: float
    weak_quality: float
    strong_quality: float

    def to_json(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in asdict(self).items()}


def router_metrics(curve: RoutingCurve, target: float = 0.95) -> RouterMetrics:
    """APGR, CPT(50%), CPT(80%) and the share of strong calls for ``target`` x strong quality."""
    return RouterMetrics(
        apgr=curve.apgr(),
        cpt50=curve.cpt(0.5),
        cpt80=curve.cpt(0.8),
        share_at_target=curve.share_for_quality(target * curve.strong_quality),
        target=target,
        weak_quality=curve.weak_quality,
        strong_quality=curve.strong_quality,
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
