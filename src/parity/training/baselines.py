"""The baselines a learned router must beat, scored on the same prompts.

- **random** and **oracle** (``metrics.random_curve``, ``metrics.oracle_curve``): the floor
  and the ceiling;
- **heuristic**: the gateway's built-in ``HeuristicDifficulty``, untrained and free;
- **category prior**: each category's mean gain of a strong call in the training labels
  (shrunk towards the overall mean), where the labels have categories;
- **kNN**: the similarity-weighted kNN learner on local sentence embeddings (MiniLM), trained
  on the same labels as the router; a well-tuned kNN matches most learned routers in the
  literature (arXiv 2505.12601). TF-IDF kNN stands in where MiniLM cannot load.

A learned router is worth its training only where it beats the heuristic and the kNN.

``training`` sits below ``routing`` (imports run one way), so the heuristic comes in as a
function: the CLI and the benchmark pass ``HeuristicDifficulty.score_text``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from parity.training.embeddings import Embedder
from parity.training.features import Batch
from parity.training.labels import LabelSet
from parity.training.metrics import RoutingCurve, oracle_curve, random_curve, routing_curve
from parity.training.predictor import Candidate, Predictor

__all__ = [
    "PRIOR_WEIGHT",
    "Baselines",
    "Scorer",
    "baseline_curves",
    "category_prior_scores",
    "knn_scores",
]

Vector = npt.NDArray[np.float64]
Scorer = Callable[[str], float]
"""A text's difficulty in [0, 1] (the built-in heuristic's, passed in)."""
PRIOR_WEIGHT = 5.0
"""Pseudo-prompts of the overall mean gain added to each category's (a small category is noise)."""


def category_prior_scores(
    train_categories: Sequence[str | None], train_gain: Vector, categories: Sequence[str | None]
) -> Vector | None:
    """Each prompt's category's mean gain in training; None without two or more categories."""
    known = {c for c in train_categories if c}
    if len(known) < 2 or not any(c in known for c in categories):
        return None
    overall = float(np.mean(train_gain))
    sums: dict[str, list[float]] = defaultdict(list)
    for category, gain in zip(train_categories, train_gain, strict=True):
        if category:
            sums[category].append(float(gain))
    prior = {
        c: (sum(g) + PRIOR_WEIGHT * overall) / (len(g) + PRIOR_WEIGHT) for c, g in sums.items()
    }
    return np.array([prior.get(c or "", overall) for c in categories], dtype=np.float64)


def knn_scores(
    train_texts: Sequence[str], train_win: Vector, texts: Sequence[str], embedder: Embedder | None
) -> Vector:
    """The kNN learner on embeddings (TF-IDF without an embedder), fitted on the training labels."""
    candidate = Candidate("embed" if embedder is not None else "tfidf", "knn")
    predictor = Predictor(candidate, embedder).fit(Batch(list(train_texts)), train_win)
    return predictor.predict(Batch(list(texts)))


@dataclass
class Baselines:
    """The baseline curves on some prompts, and why any is missing."""

    curves: dict[str, RoutingCurve]
    scores: dict[str, Vector]
    skipped: dict[str, str] = field(default_factory=dict)


def baseline_curves(
    rows: LabelSet,
    models: tuple[str, str],
    *,
    train: LabelSet | None,
    embedder: Embedder | None,
    heuristic: Scorer | None,
    knn_name: str = "knn (MiniLM)",
) -> Baselines:
    """Random, oracle, heuristic, category prior and kNN on ``rows`` (strong, weak ``models``).

    The category prior and the kNN are fitted on ``train``; without it they are skipped.
    """
    strong_model, weak_model = models
    weak, strong = rows.scores(weak_model), rows.scores(strong_model)
    texts = rows.texts()
    scores: dict[str, Vector] = {}
    skipped: dict[str, str] = {}
    if heuristic is not None:
        scores["heuristic"] = np.array([heuristic(t) for t in texts], dtype=np.float64)
    if train is None:
        skipped["category prior"] = skipped[knn_name] = "the training labels are not available"
    else:
        train_weak, train_strong = train.scores(weak_model), train.scores(strong_model)
        prior = category_prior_scores(
            [r.category for r in train.records],
            train_strong - train_weak,
            [r.category for r in rows.records],
        )
        if prior is None:
            skipped["category prior"] = "the labels have fewer than two categories"
        else:
            scores["category prior"] = prior
        win = (1.0 + train_strong - train_weak) / 2.0
        scores[knn_name] = knn_scores(train.texts(), win, texts, embedder)
    curves = {"random": random_curve(weak, strong), "oracle": oracle_curve(weak, strong)}
    curves |= {name: routing_curve(s, weak, strong) for name, s in scores.items()}
    return Baselines(curves, scores, skipped)
