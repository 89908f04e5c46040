"""Evaluate a trained router on labels it was not trained on, against random and oracle."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError
from parity.training.artifact import LoadedRouter
from parity.training.costs import RequestCosts
from parity.training.labels import LabelSet, text_key
from parity.training.metrics import (
    RoutingCurve,
    cost_saving,
    oracle_curve,
    random_curve,
    router_metrics,
    routing_curve,
)
from parity.training.portfolio import portfolio_choices
from parity.training.store import read_arrays

__all__ = ["EvaluationData", "evaluate_router", "training_keys"]

Vector = npt.NDArray[np.float64]


class EvaluationData:
    """The labels evaluation uses: scored by both models and, by default, unseen in training."""

    def __init__(self, labels: LabelSet, router: LoadedRouter, *, include_training: bool) -> None:
        usable = labels.with_models(router.models)
        seen = set() if include_training else training_keys(router)
        records = tuple(r for r in usable.records if text_key(r.text) not in seen)
        self.skipped_unscored = len(labels) - len(usable)
        self.skipped_seen = len(usable) - len(records)
        if not records:
            why = "every prompt was used in training" if self.skipped_seen else "none is scored"
            raise ConfigError(
                f"nothing to evaluate: {why}; evaluate on held-out labels (train with "
                "--holdout writes DIR/heldout.jsonl) or pass --include-training",
                path=labels.path,
            )
        self.labels = LabelSet(records, labels.sha256, labels.path)


def training_keys(router: LoadedRouter) -> set[str]:
    """The hashes of the prompts the artifact was trained on."""
    return {str(k) for k in read_arrays(router.path, router.manifest)["keys"]}


def evaluate_router(
    router: LoadedRouter,
    labels: LabelSet,
    *,
    costs: RequestCosts | None = None,
    target: float = 0.95,
    include_training: bool = False,
) -> dict[str, Any]:
    """APGR, CPT(50%), CPT(80%), the share for ``target`` and its saving, per router."""
    data = EvaluationData(labels, router, include_training=include_training)
    rows = data.labels
    weak, strong = rows.scores(router.weak), rows.scores(router.strong)
    costs = costs or _manifest_costs(router)
    curves: dict[str, RoutingCurve] = {
        "router": routing_curve(router.difficulties(rows.texts()), weak, strong),
        "random": random_curve(weak, strong),
        "oracle": oracle_curve(weak, strong),
    }
    answers = [r.responses.get(router.weak) for r in rows.records]
    if router.has_cascade and all(a is not None for a in answers):
        weak_ok = router.weak_ok_many(rows.texts(), [a or "" for a in answers])
        curves["cascade"] = routing_curve(1.0 - weak_ok, weak, strong)
    report: dict[str, Any] = {
        "labels": rows.path,
        "evaluated": len(rows),
        "skipped_unscored": data.skipped_unscored,
        "skipped_seen_in_training": data.skipped_seen,
        "target": target,
        "costs": None if costs is None else {"usd": dict(costs.usd), "source": costs.source},
        "routers": {},
    }
    for name, curve in curves.items():
        report["routers"][name] = _summary(curve, target, costs, router, cascade=name == "cascade")
    report["at_calibrated_threshold"] = _at_thresholds(router, rows, weak, strong, curves)
    return report


def _summary(
    curve: RoutingCurve,
    target: float,
    costs: RequestCosts | None,
    router: LoadedRouter,
    *,
    cascade: bool,
) -> dict[str, Any]:
    summary = router_metrics(curve, target).to_json()
    share = summary["share_at_target"]
    summary["strong_calls_saved"] = None if share is None else 1.0 - share
    summary["cost_saving"] = None
    if costs is not None and share is not None:
        weak_cost, strong_cost = costs.of(router.weak), costs.of(router.strong)
        summary["cost_saving"] = cost_saving(share, weak_cost, strong_cost, cascade=cascade)
    return summary


def _at_thresholds(
    router: LoadedRouter,
    rows: LabelSet,
    weak: Vector,
    strong: Vector,
    curves: dict[str, RoutingCurve],
) -> dict[str, Any]:
    """Where the artifact's own thresholds land on these labels."""
    out: dict[str, Any] = {}
    difficulty = router.difficulties(rows.texts())
    out["router"] = _point(difficulty >= router.threshold, weak, strong)
    if "cascade" in curves and router.cascade_threshold is not None:
        answers = [r.responses[router.weak] for r in rows.records]
        weak_ok = router.weak_ok_many(rows.texts(), answers)
        out["cascade"] = _point(weak_ok <= router.cascade_threshold, weak, strong)
    if router.quality_threshold is not None and router.costs is not None:
        predicted = router.quality_matrix(rows.texts())
        actual = np.column_stack([rows.scores(m) for m in router.models])
        chosen = portfolio_choices(
            predicted, router.models, router.costs, router.quality_threshold, router.strong
        )
        price = np.array([router.costs[m] for m in router.models])
        shares = np.bincount(chosen, minlength=len(router.models)) / len(chosen)
        out["portfolio"] = {
            "quality": float(actual[np.arange(len(chosen)), chosen].mean()),
            "cost_per_request": float(price[chosen].mean()),
            "shares": {m: float(s) for m, s in zip(router.models, shares, strict=True)},
        }
    return out


def _point(routed: npt.NDArray[np.bool_], weak: Vector, strong: Vector) -> dict[str, float]:
    quality = float(np.where(routed, strong, weak).mean())
    top = float(strong.mean())
    return {
        "strong_share": float(routed.mean()),
        "quality": quality,
        "quality_share": quality / top if top > 0 else 1.0,
    }


def _manifest_costs(router: LoadedRouter) -> RequestCosts | None:
    costs = router.manifest.get("costs")
    if not costs:
        return None
    return RequestCosts({str(k): float(v) for k, v in costs["usd"].items()}, str(costs["source"]))
