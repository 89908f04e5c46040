"""Nested cross-validated router quality on a label file (GSM8K by default).

    python bench/router_quality.py [--labels examples/labels/gsm8k.jsonl] [--embedder minilm]

The outer loop holds out one fold at a time and runs the whole of ``parity router train`` on the
rest: candidate selection by inner cross-validated APGR, the final fit and the calibration. The
held-out fold is then scored by the loaded artifact, exactly as the gateway would score it. So
every figure here is for prompts the chosen router never saw, and includes the optimism of
choosing among candidates. Prints a table and writes JSON under bench/results/.
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

from parity.training.artifact import load_router
from parity.training.embeddings import CachedEmbedder, EmbedderSpec, MiniLMEmbedder
from parity.training.labels import LabelSet, read_labels
from parity.training.metrics import (
    RoutingCurve,
    oracle_curve,
    random_curve,
    router_metrics,
    routing_curve,
)
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
            "routed": difficulty >= router.threshold,
        }
        if router.has_cascade and router.cascade_threshold is not None:
            answers = [r.responses[WEAK] for r in held.records]
            weak_ok = router.weak_ok_many(texts, answers)
            result["cascade"] = 1.0 - weak_ok
            result["escalated"] = weak_ok <= router.cascade_threshold
    return result


def _summary(curve: RoutingCurve) -> dict[str, Any]:
    return router_metrics(curve, 0.95).to_json()


def run(labels_path: Path, embedder_kind: str, outer: int, seed: int) -> dict[str, Any]:
    labels = read_labels(labels_path).with_models([STRONG, WEAK])
    spec = None if embedder_kind == "none" else EmbedderSpec(embedder_kind)
    embedder = None
    if spec is not None:
        embedder = CachedEmbedder(MiniLMEmbedder(), size=2 * len(labels))
        embedder.embed(labels.texts())  # once, shared by every fold
    has_answers = all(WEAK in r.responses for r in labels.records)
    config = TrainConfig(strong=STRONG, weak=WEAK, embedder=spec, cascade=has_answers, seed=seed)
    n = len(labels)
    scores: dict[str, Vector] = {"router": np.zeros(n)}
    flags: dict[str, npt.NDArray[np.bool_]] = {"router": np.zeros(n, dtype=bool)}
    if has_answers:
        scores["cascade"], flags["cascade"] = np.zeros(n), np.zeros(n, dtype=bool)
    chosen = []
    for test in fold_indices(n, outer, seed + 100):
        result = _fold(labels, test, config, embedder)
        chosen.append(result["chosen"])
        for name, values in scores.items():
            values[test] = result[name]
            flags[name][test] = result["routed" if name == "router" else "escalated"]
    weak, strong = labels.scores(WEAK), labels.scores(STRONG)
    curves = {name: routing_curve(s, weak, strong) for name, s in scores.items()}
    curves |= {"random": random_curve(weak, strong), "oracle": oracle_curve(weak, strong)}
    at_threshold = {
        name: {
            "strong_share": float(routed.mean()),
            "quality_share": float(np.where(routed, strong, weak).mean() / strong.mean()),
        }
        for name, routed in flags.items()
    }
    return {
        "labels": str(labels_path),
        "records": n,
        "embedder": embedder_kind,
        "outer_folds": outer,
        "seed": seed,
        "chosen_per_fold": chosen,
        "metrics": {name: _summary(curve) for name, curve in curves.items()},
        "at_calibrated_threshold": at_threshold,
    }


def _print(report: dict[str, Any]) -> None:
    print(f"{report['labels']}: {report['records']} prompts, embedder {report['embedder']}, "
          f"{report['outer_folds']}-fold nested CV")  # fmt: skip
    print(f"{'router':<9} {'APGR':>6} {'CPT50':>7} {'CPT80':>7} {'@95%':>7}")
    for name, m in report["metrics"].items():
        cells = [m["cpt50"], m["cpt80"], m["share_at_target"]]
        shown = " ".join(f"{c:>7.1%}" if c is not None else f"{'-':>7}" for c in cells)
        print(f"{name:<9} {m['apgr']:>6.3f} {shown}")
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
    parser.add_argument("--outer", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    report = run(args.labels, args.embedder, args.outer, args.seed)
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
