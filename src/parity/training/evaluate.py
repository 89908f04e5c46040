"""Evaluate a trained router on labels it was not trained on, against the baselines.

Beside the router (and the cascade) it prints random, the oracle, the built-in heuristic, a
category prior where the labels have categories, and kNN on local embeddings
(:mod:`parity.training.baselines`). The prior and the kNN are fitted on the artifact's own
training prompts, read back from the label file the manifest names when it is still there
unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError
from parity.training.artifact import LoadedRouter
from parity.training.baselines import Scorer, baseline_curves
from parity.training.costs import RequestCosts
from parity.training.embeddings import Embedder
from parity.training.labels import LabelSet, read_labels, text_key
from parity.training.metrics import RoutingCurve, cost_saving, router_metrics, routing_curve
from parity.training.portfolio import portfolio_choices
from parity.training.store import read_arrays

__all__ = ["EvaluationData", "evaluate_router", "training_keys", "training_labels"]

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


def training_labels(router: LoadedRouter) -> tuple[LabelSet | None, str | None]:
    """The artifact's training prompts from the label file it names, or why they cannot be read."""
    data = router.manifest.get("training_data") or {}
    path = Path(str(data.get("path") or ""))
    if not data.get("path") or not path.is_file():
        return None, f"the training labels ({data.get('path')}) are not on this machine"
    labels = read_labels(path)
    if labels.sha256 != data.get("sha256"):
        return None, f"the training labels ({path}) changed since training"
    keys = training_keys(router)
    usable = labels.with_models(router.models)
    records = tuple(r for r in usable.records if text_key(r.text) in keys)
    return LabelSet(records, labels.sha256, labels.path), None


def evaluate_router(
    router: LoadedRouter,
    labels: LabelSet,
    *,
    costs: RequestCosts | None = None,
    target: float = 0.95,
    include_training: bool = False,
    knn_embedder: Embedder | None = None,
    knn_name: str = "knn (MiniLM)",
    heuristic: Scorer | None = None,
) -> dict[str, Any]:
    """APGR, CPT(50%), CPT(80%), the share for ``target`` and its saving, per router.

    ``knn_embedder`` embeds for the kNN baseline (None: TF-IDF kNN, named ``knn_name``);
    ``heuristic`` scores a text for the heuristic baseline (the CLI passes the built-in one).
    """
    data = EvaluationData(labels, router, include_training=include_training)
    rows = data.labels
    weak, strong = rows.scores(router.weak), rows.scores(router.strong)
    costs = costs or _manifest_costs(router)
    curves: dict[str, RoutingCurve] = {
        "router": routing_curve(router.difficulties(rows.texts()), weak, strong),
    }
    answers = [r.responses.get(router.weak) for r in rows.records]
    if router.has_cascade and all(a is not None for a in answers):
        weak_ok = router.weak_ok_many(rows.texts(), [a or "" for a in answers])
        curves["cascade"] = routing_curve(1.0 - weak_ok, weak, strong)
    train, why = training_labels(router)
    baselines = baseline_curves(
        rows, (router.strong, router.weak), train=train, embedder=knn_embedder,
        heuristic=heuristic, knn_name=knn_name,
    )  # fmt: skip
    curves |= baselines.curves
    if why is not None:
        baselines.skipped = {name: why for name in baselines.skipped}
    report: dict[str, Any] = {
        "labels": rows.path,
        "evaluated": len(rows),
        "skipped_unscored": data.skipped_unscored,
        "skipped_seen_in_training": data.skipped_seen,
        "target": target,
        "costs": None if costs is None else {"usd": dict(costs.usd), "source": costs.source},
        "routers": {},
        "baselines_skipped": baselines.skipped,
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
    out["router"] = _point(router.strong_mask(rows.texts(), difficulty), weak, strong)
    if "cascade" in curves and router.cascade_threshold is not None:
        answers = [r.responses[router.weak] for r in rows.records]
        weak_ok = router.weak_ok_many(rows.texts(), answers)
        out["cascade"] = _point(router.escalate_mask(rows.texts(), weak_ok), weak, strong)
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
