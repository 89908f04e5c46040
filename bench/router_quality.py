"""Nested cross-validated router quality on a label file (GSM8K by default), with baselines.

    python bench/router_quality.py [--labels examples/labels/gsm8k.jsonl] [--embedder minilm]
                                   [--knn minilm|tfidf]

The outer loop holds out one fold at a time and runs the whole of ``parity router train`` on the
rest: candidate selection by inner cross-validated APGR, the final fit and the calibration. The
held-out fold is then scored by the loaded artifact, exactly as the gateway would score it. So
every figure here is for prompts the chosen router never saw, and includes the optimism of
choosing among candidates. The same held-out folds are scored by the baselines
(``parity.training.baselines``): random, oracle, the built-in heuristic, a category prior (when
the labels have categories) and kNN on local MiniLM embeddings, the last two fitted on the same
training folds. Prints a table, the learned routers' margin over the heuristic in strong calls
at 95% of strong quality, and writes JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from parity.cli.router import heuristic_score
from parity.training.artifact import load_router
from parity.training.baselines import baseline_curves
from parity.training.embeddings import CachedEmbedder, EmbedderSpec, MiniLMEmbedder
from parity.training.labels import LabelSet, read_labels
from parity.training.metrics import RoutingCurve, router_metrics, routing_curve
from parity.training.predictor import fold_indices
from parity.training.train import TrainConfig, train_router

STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
Vector = npt.NDArray[np.float64]


def _subset(labels: LabelSet, index: npt.NDArray[np.intp]) -> LabelSet:
    return LabelSet(tuple(labels.records[i] for i in index), labels.sha256, labels.path)


def _fold(
    labels: LabelSet, test: npt.NDArray[np.intp], config: TrainConfig, embedder: Any
) -> dict[str, Any]:
    """Train on everything but ``test``; score ``test`` with the loaded artifact."""
    train_index = np.setdiff1d(np.arange(len(labels)), test)
    held = _subset(labels, test)
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "artifact"
        manifest = train_router(_subset(labels, train_index), config, out, embedder=embedder)
        router = load_router(out, embedder=embedder)
        texts = held.texts()
        difficulty = router.difficulties(texts)
        result: dict[str, Any] = {
            "chosen": manifest["metrics"]["chosen"],
            "router": difficulty,
            "routed": router.strong_mask(texts, difficulty),
        }
        if router.has_cascade and router.cascade_threshold is not None:
            answers = [r.responses[WEAK] for r in held.records]
            weak_ok = router.weak_ok_many(texts, answers)
            result["cascade"] = 1.0 - weak_ok
            result["escalated"] = router.escalate_mask(texts, weak_ok)
    return result


def _summary(curve: RoutingCurve) -> dict[str, Any]:
    return router_metrics(curve, 0.95).to_json()


def _margin_interval(
    mine: Vector, base: Vector, weak: Vector, strong: Vector, *, seed: int, resamples: int = 1000
) -> list[float] | None:
    """95% paired-bootstrap interval (over prompts) of the points of strong calls ``mine``
    saves against ``base`` at 95% of strong quality; None when a resample never reaches it."""
    rng = np.random.default_rng(seed)
    n = len(weak)
    diffs = []
    for _ in range(resamples):
        i = rng.integers(0, n, n)
        shares = [
            router_metrics(routing_curve(s[i], weak[i], strong[i]), 0.95).share_at_target
            for s in (base, mine)
        ]
        if shares[0] is None or shares[1] is None:
            return None
        diffs.append(100 * (shares[0] - shares[1]))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return [round(float(low), 1), round(float(high), 1)]


def _margins(metrics: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """Points of strong calls at 95% of strong quality each router saves against the heuristic."""
    base = metrics["heuristic"]["share_at_target"]
    out: dict[str, float | None] = {}
    for name, m in metrics.items():
        if name in ("heuristic", "random", "oracle"):
            continue
        share = m["share_at_target"]
        out[name] = None if base is None or share is None else round(100 * (base - share), 1)
    return out


def run(
    labels_path: Path, embedder_kind: str, outer: int, seed: int, knn_kind: str = "minilm"
) -> dict[str, Any]:
    labels = read_labels(labels_path).with_models([STRONG, WEAK])
    spec = None if embedder_kind == "none" else EmbedderSpec(embedder_kind)
    embedder = None
    if spec is not None or knn_kind == "minilm":
        embedder = CachedEmbedder(MiniLMEmbedder(), size=2 * len(labels))
        embedder.embed(labels.texts())  # once, shared by every fold and the kNN baseline
    knn_name = "knn (MiniLM)" if knn_kind == "minilm" else "knn (TF-IDF)"
    has_answers = all(WEAK in r.responses for r in labels.records)
    # the outer fold is the holdout: train on all of the rest
    config = TrainConfig(
        strong=STRONG, weak=WEAK, embedder=spec, cascade=has_answers, seed=seed, holdout=0.0
    )
    n = len(labels)
    scores: dict[str, Vector] = {"router": np.zeros(n)}
    flags: dict[str, npt.NDArray[np.bool_]] = {"router": np.zeros(n, dtype=bool)}
    if has_answers:
        scores["cascade"], flags["cascade"] = np.zeros(n), np.zeros(n, dtype=bool)
    chosen = []
    skipped: dict[str, str] = {}
    for test in fold_indices(n, outer, seed + 100):
        router_embedder = embedder if spec is not None else None
        result = _fold(labels, test, config, router_embedder)
        chosen.append(result["chosen"])
        for name in list(flags):
            scores[name][test] = result[name]
            flags[name][test] = result["routed" if name == "router" else "escalated"]
        train = _subset(labels, np.setdiff1d(np.arange(n), test))
        base = baseline_curves(
            _subset(labels, test), (STRONG, WEAK), train=train,
            embedder=embedder if knn_kind == "minilm" else None, heuristic=heuristic_score,
            knn_name=knn_name,
        )  # fmt: skip
        skipped |= base.skipped
        for name, values in base.scores.items():
            scores.setdefault(name, np.zeros(n))[test] = values
    weak, strong = labels.scores(WEAK), labels.scores(STRONG)
    curves = {name: routing_curve(s, weak, strong) for name, s in scores.items()}
    everything = baseline_curves(labels, (STRONG, WEAK), train=None, embedder=None, heuristic=None)
    curves |= everything.curves  # random and oracle on all prompts
    curves = {k: curves[k] for k in ["router", *flags, "random", "oracle", *scores] if k in curves}
    at_threshold = {
        name: {
            "strong_share": float(routed.mean()),
            "quality_share": float(np.where(routed, strong, weak).mean() / strong.mean()),
        }
        for name, routed in flags.items()
    }
    metrics = {name: _summary(curve) for name, curve in curves.items()}
    intervals = {
        name: _margin_interval(s, scores["heuristic"], weak, strong, seed=seed)
        for name, s in scores.items()
        if name != "heuristic"
    }
    return {
        "labels": str(labels_path),
        "records": n,
        "embedder": embedder_kind,
        "knn_baseline": knn_name,
        "outer_folds": outer,
        "seed": seed,
        "chosen_per_fold": chosen,
        "metrics": metrics,
        "points_saved_vs_heuristic_at_95": _margins(metrics),
        "points_saved_95pct_interval": intervals,
        "scores": {name: [round(float(v), 6) for v in s] for name, s in scores.items()},
        "baselines_skipped": skipped,
        "at_calibrated_threshold": at_threshold,
    }


def _print(report: dict[str, Any]) -> None:
    print(f"{report['labels']}: {report['records']} prompts, embedder {report['embedder']}, "
          f"{report['outer_folds']}-fold nested CV")  # fmt: skip
    print(f"{'router':<15} {'APGR':>6} {'CPT50':>7} {'CPT80':>7} {'@95%':>7}")
    for name, m in report["metrics"].items():
        cells = [m["cpt50"], m["cpt80"], m["share_at_target"]]
        shown = " ".join(f"{c:>7.1%}" if c is not None else f"{'-':>7}" for c in cells)
        print(f"{name:<15} {m['apgr']:>6.3f} {shown}")
    for name, points in report["points_saved_vs_heuristic_at_95"].items():
        interval = report["points_saved_95pct_interval"].get(name)
        print(
            f"{name}: {points} points fewer strong calls than the heuristic at 95% "
            f"(paired bootstrap 95% interval {interval})"
        )
    for name, why in report["baselines_skipped"].items():
        print(f"no {name} baseline: {why}")
    for name, point in report["at_calibrated_threshold"].items():
        share, kept = point["strong_share"], point["quality_share"]
        print(
            f"{name} at its calibrated threshold (target 95%): {share:.1%} strong, {kept:.1%} kept"
        )
    print("chosen per fold:", report["chosen_per_fold"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=Path("examples/labels/gsm8k.jsonl"))
    parser.add_argument("--embedder", choices=["none", "minilm"], default="none")
    parser.add_argument("--knn", choices=["minilm", "tfidf"], default="minilm")
    parser.add_argument("--outer", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    report = run(args.labels, args.embedder, args.outer, args.seed, args.knn)
    report["seconds"] = round(time.perf_counter() - started, 1)
    _print(report)
    out = (
        args.out
        or Path("bench/results") / f"router_quality_{args.labels.stem}_{args.embedder}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out} ({report['seconds']} s)")


if __name__ == "__main__":
    main()
