"""Calibration: turn a target (quality, strong share or budget) into a threshold.

It reads out-of-fold predictions, made on each training prompt by a model that never saw it, so
the threshold it picks behaves on new prompts the way it did here. A threshold fitted on the
final model's own training predictions would be overconfident.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError
from parity.training.costs import RequestCosts
from parity.training.metrics import cost_saving, routing_curve, threshold_for_share
from parity.training.portfolio import PortfolioPoint, portfolio_curve

__all__ = [
    "OperatingPoint",
    "Target",
    "TargetKind",
    "calibrate_pair",
    "calibrate_portfolio",
    "calibration_fields",
]

Vector = npt.NDArray[np.float64]
TargetKind = Literal["quality", "strong_share", "budget"]


@dataclass(frozen=True)
class Target:
    """What the user asked for: a share of strong quality, a share of strong calls, or USD/day."""

    kind: TargetKind
    value: float
    requests_per_day: float | None = None

    def __post_init__(self) -> None:
        if self.kind in ("quality", "strong_share") and not 0 <= self.value <= 1:
            raise ConfigError(f"the {self.kind.replace('_', ' ')} target must be between 0 and 1")
        if self.kind == "budget":
            if self.value <= 0:
                raise ConfigError("--budget must be a positive USD amount per day")
            if not self.requests_per_day or self.requests_per_day <= 0:
                raise ConfigError("--budget needs --requests-per-day (the route's daily volume)")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OperatingPoint:
    """Where a threshold lands on the calibration data."""

    mode: str  # "router", "cascade" or "portfolio"
    threshold: float
    strong_share: float
    quality: float
    quality_share: float  # quality / the strong model's quality
    cost_per_request: float | None
    saving: float | None  # share of the all-strong bill saved; None without costs

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def calibrate_pair(
    score: Vector,
    weak: Vector,
    strong: Vector,
    *,
    target: Target,
    costs: RequestCosts | None,
    models: tuple[str, str],
    cascade: bool,
) -> OperatingPoint:
    """The threshold on ``score`` (high: use the strong model) that meets ``target``."""
    strong_model, weak_model = models
    curve = routing_curve(score, weak, strong)
    if target.kind == "quality":
        share = curve.share_for_quality(target.value * curve.strong_quality)
        share = 1.0 if share is None else share
    elif target.kind == "strong_share":
        share = target.value
    else:
        share = _budget_share(target, _need_costs(costs), models, cascade=cascade)
    threshold = threshold_for_share(score, share)
    routed = score >= threshold
    realised = float(routed.mean())
    quality = float(np.where(routed, strong, weak).mean())
    cost = saving = None
    if costs is not None:
        weak_cost, strong_cost = costs.of(weak_model), costs.of(strong_model)
        base = weak_cost if cascade else (1 - realised) * weak_cost
        cost = base + realised * strong_cost
        saving = cost_saving(realised, weak_cost, strong_cost, cascade=cascade)
    return OperatingPoint(
        mode="cascade" if cascade else "router",
        threshold=threshold,
        strong_share=realised,
        quality=quality,
        quality_share=quality / curve.strong_quality if curve.strong_quality > 0 else 1.0,
        cost_per_request=cost,
        saving=saving,
    )


def calibrate_portfolio(
    points: Sequence[PortfolioPoint],
    target: Target,
    strong_model: str,
    strong_quality: float,
    strong_cost: float,
) -> OperatingPoint:
    """The quality bar that meets ``target`` at the lowest cost (or best quality within it)."""
    if target.kind == "quality":
        bar = target.value * strong_quality
        ok = [p for p in points if p.quality >= bar - 1e-12]
        best = min(ok, key=lambda p: (p.cost, -p.quality)) if ok else max(points, key=_quality)
    else:
        if target.kind == "strong_share":
            ok = [p for p in points if p.shares.get(strong_model, 0.0) <= target.value + 1e-12]
        else:
            per_request = target.value / float(target.requests_per_day or 1)
            ok = [p for p in points if p.cost <= per_request]
            if not ok:
                raise ConfigError("the budget is below the cheapest model's cost per request")
        best = max(ok or list(points), key=lambda p: (p.quality, -p.cost))
    return OperatingPoint(
        mode="portfolio",
        threshold=best.threshold,
        strong_share=best.shares.get(strong_model, 0.0),
        quality=best.quality,
        quality_share=best.quality / strong_quality if strong_quality > 0 else 1.0,
        cost_per_request=best.cost,
        saving=1 - best.cost / strong_cost if strong_cost > 0 else None,
    )


def _quality(point: PortfolioPoint) -> float:
    return point.quality


def _need_costs(costs: RequestCosts | None) -> RequestCosts:
    if costs is None:
        raise ConfigError(
            "--budget needs costs: a 'cost' field in the labels or --cost MODEL=USD_PER_1M flags"
        )
    return costs


def _budget_share(
    target: Target, costs: RequestCosts, models: tuple[str, str], *, cascade: bool
) -> float:
    strong_cost, weak_cost = costs.of(models[0]), costs.of(models[1])
    per_request = target.value / float(target.requests_per_day or 1)
    if per_request < weak_cost:
        raise ConfigError(
            f"the budget allows {per_request:.6f} USD a request, less than the weak model "
            f"alone ({weak_cost:.6f})"
        )
    extra = strong_cost if cascade else strong_cost - weak_cost
    if extra <= 0:
        return 1.0
    return float(min(1.0, (per_request - weak_cost) / extra))


def calibration_fields(
    arrays: Mapping[str, npt.NDArray[Any]],
    manifest: Mapping[str, Any],
    target: Target,
    costs: RequestCosts | None,
) -> dict[str, Any]:
    """Thresholds for ``target`` from the out-of-fold arrays, as manifest fields."""
    pair = (str(manifest["strong"]), str(manifest["weak"]))
    weak, strong = arrays["weak"], arrays["strong"]
    router = calibrate_pair(
        arrays["router"], weak, strong, target=target, costs=costs, models=pair, cascade=False
    )
    fields: dict[str, Any] = {
        "threshold": router.threshold,
        "cascade_threshold": None,
        "quality_threshold": None,
        "calibration": {"target": target.to_json(), "router": router.to_json()},
    }
    if "cascade" in arrays:
        cascade = calibrate_pair(
            arrays["cascade"], weak, strong, target=target, costs=costs, models=pair, cascade=True
        )
        # Calibrated on 1 - weak_ok: escalating when weak_ok <= 1 - threshold is the same rule.
        fields["cascade_threshold"] = 1.0 - cascade.threshold
        fields["calibration"]["cascade"] = cascade.to_json()
    if "portfolio_predicted" in arrays and costs is not None:
        models = [str(m) for m in manifest["models"]]
        points = portfolio_curve(
            arrays["portfolio_predicted"],
            arrays["portfolio_actual"],
            models,
            costs=costs.usd,
            fallback=pair[0],
        )
        chosen = calibrate_portfolio(
            points, target, pair[0], float(strong.mean()), costs.of(pair[0])
        )
        fields["quality_threshold"] = chosen.threshold
        fields["calibration"]["portfolio"] = chosen.to_json()
    return fields
