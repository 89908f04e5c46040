"""Calibration: turn a target (quality, strong share or budget) into a threshold.

It reads out-of-fold predictions, made on each training prompt by a model that never saw it (and
chosen without it: the folds are nested), so the threshold it picks behaves on new prompts the
way it did here. A threshold fitted on the final model's own training predictions would be
overconfident.

A share or a budget is a ceiling: the cut sends at most that share of the calibration prompts
strong (a block of equal scores is split by each prompt's fixed draw, never sent whole), so the
budget is never overspent on the calibration data. A quality target is a floor: the fewest
strong calls that reach it. When the artifact keeps a holdout, the quality and cost each cut
gives on it are reported beside the calibration figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError
from parity.training.costs import RequestCosts
from parity.training.metrics import (
    Cut,
    cost_saving,
    count_for_quality,
    cut_for_count,
    threshold_for_share,
    tie_draws,
)
from parity.training.portfolio import PortfolioPoint, portfolio_curve

__all__ = [
    "OperatingPoint",
    "Target",
    "TargetKind",
    "calibrate_pair",
    "calibrate_portfolio",
    "calibration_fields",
    "operating_point",
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
    tie_score: float | None = None  # see metrics.Cut
    tie_share: float = 0.0

    @property
    def cut(self) -> Cut:
        return Cut(self.threshold, self.tie_score, self.tie_share)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def calibrate_pair(
    score: Vector,
    weak: Vector,
    strong: Vector,
    *,
    draws: Vector,
    target: Target,
    costs: RequestCosts | None,
    models: tuple[str, str],
    cascade: bool,
) -> OperatingPoint:
    """The cut on ``score`` (high: use the strong model) that meets ``target``.

    ``draws`` (:func:`~parity.training.metrics.tie_draws`) order prompts with equal scores.
    """
    strong_model, weak_model = models
    if target.kind == "quality":
        bar = target.value * float(np.mean(strong))
        cut = cut_for_count(score, draws, count_for_quality(score, draws, weak, strong, bar))
    elif target.kind == "strong_share":
        cut = threshold_for_share(score, target.value, draws)
    else:
        share = _budget_share(target, _need_costs(costs), models, cascade=cascade)
        cut = threshold_for_share(score, share, draws)
    return operating_point(
        cut, score, draws, weak, strong, costs=costs, models=(strong_model, weak_model),
        cascade=cascade,
    )  # fmt: skip


def operating_point(
    cut: Cut,
    score: Vector,
    draws: Vector,
    weak: Vector,
    strong: Vector,
    *,
    costs: RequestCosts | None,
    models: tuple[str, str],
    cascade: bool,
) -> OperatingPoint:
    """Where ``cut`` lands on these prompts: strong calls, quality, cost."""
    routed = cut.routes(score, draws)
    realised = float(routed.mean())
    quality = float(np.where(routed, strong, weak).mean())
    top = float(np.mean(strong))
    cost = saving = None
    if costs is not None:
        weak_cost, strong_cost = costs.of(models[1]), costs.of(models[0])
        base = weak_cost if cascade else (1 - realised) * weak_cost
        cost = base + realised * strong_cost
        saving = cost_saving(realised, weak_cost, strong_cost, cascade=cascade)
    return OperatingPoint(
        mode="cascade" if cascade else "router",
        threshold=cut.threshold,
        strong_share=realised,
        quality=quality,
        quality_share=quality / top if top > 0 else 1.0,
        cost_per_request=cost,
        saving=saving,
        tie_score=cut.tie_score,
        tie_share=cut.tie_share,
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
    # a hair under, so that rounding in the cost sum cannot tip it over the budget
    return float(min(1.0, (per_request - weak_cost) / extra * (1 - 1e-12)))


def _tie(point: OperatingPoint, *, flip: bool) -> dict[str, float] | None:
    """The manifest's tie rule for a cut; ``flip`` for the cascade, stored as ``weak_ok``."""
    if point.tie_score is None:
        return None
    score = 1.0 - point.tie_score if flip else point.tie_score
    return {"tie_score": score, "tie_share": point.tie_share}


def calibration_fields(
    arrays: Mapping[str, npt.NDArray[Any]],
    manifest: Mapping[str, Any],
    target: Target,
    costs: RequestCosts | None,
) -> dict[str, Any]:
    """Thresholds for ``target`` from the out-of-fold arrays, as manifest fields.

    With held-out arrays (``heldout_*``, written by training with a holdout), the manifest's
    ``calibration.holdout`` says what each cut gives on prompts that took no part in training.
    """
    pair = (str(manifest["strong"]), str(manifest["weak"]))
    weak, strong = arrays["weak"], arrays["strong"]
    draws = tie_draws([str(k) for k in arrays["keys"]])
    router = calibrate_pair(
        arrays["router"], weak, strong, draws=draws, target=target, costs=costs, models=pair,
        cascade=False,
    )  # fmt: skip
    fields: dict[str, Any] = {
        "threshold": router.threshold,
        "threshold_tie": _tie(router, flip=False),
        "cascade_threshold": None,
        "cascade_tie": None,
        "quality_threshold": None,
        "calibration": {"target": target.to_json(), "router": router.to_json()},
    }
    cuts = {"router": router}
    if "cascade" in arrays:
        cascade = calibrate_pair(
            arrays["cascade"], weak, strong, draws=draws, target=target, costs=costs,
            models=pair, cascade=True,
        )  # fmt: skip
        # Calibrated on 1 - weak_ok: escalating when weak_ok <= 1 - threshold is the same rule.
        fields["cascade_threshold"] = 1.0 - cascade.threshold
        fields["cascade_tie"] = _tie(cascade, flip=True)
        fields["calibration"]["cascade"] = cascade.to_json()
        cuts["cascade"] = cascade
    if "heldout_router" in arrays:
        fields["calibration"]["holdout"] = _holdout(arrays, cuts, costs, pair)
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


def _holdout(
    arrays: Mapping[str, npt.NDArray[Any]],
    cuts: Mapping[str, OperatingPoint],
    costs: RequestCosts | None,
    pair: tuple[str, str],
) -> dict[str, Any]:
    """What each calibrated cut gives on the held-out prompts."""
    weak, strong = arrays["heldout_weak"], arrays["heldout_strong"]
    draws = tie_draws([str(k) for k in arrays["heldout_keys"]])
    out: dict[str, Any] = {"prompts": len(weak)}
    for mode, point in cuts.items():
        if f"heldout_{mode}" in arrays:
            landed = operating_point(
                point.cut, arrays[f"heldout_{mode}"], draws, weak, strong, costs=costs,
                models=pair, cascade=mode == "cascade",
            )  # fmt: skip
            out[mode] = landed.to_json()
    return out
