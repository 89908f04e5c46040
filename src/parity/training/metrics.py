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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Cut",
    "RouterMetrics",
    "RoutingCurve",
    "cost_saving",
    "count_for_quality",
    "cut_for_count",
    "oracle_curve",
    "random_curve",
    "router_metrics",
    "routing_curve",
    "routing_order",
    "threshold_for_share",
    "tie_draws",
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


def tie_draws(keys: Sequence[str]) -> Vector:
    """A fixed number in [0, 1) per prompt, from its text key (a SHA-256 hex prefix).

    It breaks ties between equal scores the same way at calibration and at run time, so a
    repeated prompt always goes to the same model.
    """
    return np.array([int(str(k)[:13], 16) / 16.0**13 for k in keys], dtype=np.float64)


@dataclass(frozen=True)
class Cut:
    """Which prompts go strong: a score at or above ``threshold``, and, of the prompts whose
    score equals ``tie_score`` (a block of ties that straddled the target), those whose
    :func:`tie_draws` number is below ``tie_share``.
    """

    threshold: float
    tie_score: float | None = None
    tie_share: float = 0.0

    def routes(self, score: npt.ArrayLike, draws: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        values = np.asarray(score, dtype=np.float64)
        strong: npt.NDArray[np.bool_] = values >= self.threshold
        if self.tie_score is not None:
            tied = np.abs(values - self.tie_score) <= 1e-12
            strong |= tied & (np.asarray(draws, dtype=np.float64) < self.tie_share)
        return strong

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, threshold: float) -> Cut:
        """The cut a manifest describes (``threshold`` alone for artifacts without ties)."""
        if not data or data.get("tie_score") is None:
            return cls(threshold)
        return cls(threshold, float(data["tie_score"]), float(data["tie_share"]))


def routing_order(score: Vector, draws: Vector) -> npt.NDArray[np.intp]:
    """Prompts in the order a cut sends them strong: highest score first, ties by draw."""
    order: npt.NDArray[np.intp] = np.lexsort((np.asarray(draws), -np.asarray(score)))
    return order


def cut_for_count(score: Vector, draws: Vector, count: int) -> Cut:
    """The cut that sends exactly ``count`` of these prompts to the strong model.

    A threshold sits halfway between the last score sent and the next one, so that a retrained
    model with a slightly different scale still lands on the same side. When ``count`` ends
    inside a block of equal scores, the block goes strong only for the prompts whose draw is
    below ``tie_share``, chosen so that exactly ``count`` go: never more.
    """
    values = np.asarray(score, dtype=np.float64)
    n = len(values)
    if count <= 0:
        return Cut(float(values.max()) + 1e-6)
    if count >= n:
        return Cut(float(values.min()))
    ordered = values[routing_order(values, draws)]
    last, first_kept = float(ordered[count - 1]), float(ordered[count])
    if last > first_kept:
        return Cut((last + first_kept) / 2)
    higher = values[values > last + 1e-12]
    threshold = (last + float(higher.min())) / 2 if higher.size else last + 1e-6
    tied = np.sort(np.asarray(draws, dtype=np.float64)[np.abs(values - last) <= 1e-12])
    need = count - higher.size
    return Cut(threshold, last, float((tied[need - 1] + tied[need]) / 2))


def threshold_for_share(score: Vector, share: float, draws: Vector) -> Cut:
    """The cut that sends at most ``share`` of these prompts (rounded down) to the strong model."""
    n = len(score)
    return cut_for_count(score, draws, min(n, max(0, math.floor(share * n + 1e-9))))


def count_for_quality(
    score: Vector, draws: Vector, weak: Vector, strong: Vector, bar: float
) -> int:
    """The fewest strong calls, in cut order, whose quality on these prompts reaches ``bar``."""
    order = routing_order(score, draws)
    n = len(score)
    quality = float(np.mean(weak)) + np.r_[0.0, np.cumsum((strong - weak)[order])] / n
    reached = np.flatnonzero(quality >= bar - 1e-12)
    return int(reached[0]) if reached.size else n


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
