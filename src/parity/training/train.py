"""Train a router from a label file: choose by cross-validated APGR, fit, calibrate, save.

Choosing a candidate and calibrating its threshold on the same out-of-fold scores would reuse
the luck that made it win. So the scores calibration reads are **nested**: for each outer fold,
the candidate is chosen by an inner cross-validation on the other folds only, fitted there,
and scores the outer fold. By default a seeded 20% of the labels is also held out of all of
it; the manifest reports what the calibrated thresholds give on those prompts.

The target a prompt router learns is the probability that the strong model's answer is better
than the weak one's: ``(1 + strong score - weak score) / 2``, so a clear win is 1, a tie 0.5
and a graded judge score stays graded. Ranking prompts by it is ranking them by the expected
gain of a strong call, which is exactly what the quality/cost curve rewards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import parity
from parity.errors import ConfigError
from parity.training.calibrate import Target, calibration_fields
from parity.training.costs import request_costs, request_tokens
from parity.training.embeddings import CachedEmbedder, EmbedderSpec, build_embedder
from parity.training.features import FEATURE_SETS, Batch, needs_answers, needs_embedder
from parity.training.labels import LabelSet, text_key, write_labels
from parity.training.learners import LEARNERS
from parity.training.metrics import router_metrics, routing_curve
from parity.training.predictor import Candidate, Predictor, fold_indices, out_of_fold
from parity.training.store import check_output, write_artifact

__all__ = ["TrainConfig", "cascade_candidates", "router_candidates", "train_router"]

Vector = npt.NDArray[np.float64]
_FOLDS = list[npt.NDArray[np.intp]]


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``parity router train`` can be told."""

    strong: str
    weak: str
    also: tuple[str, ...] = ()
    embedder: EmbedderSpec | None = None
    learners: tuple[str, ...] = ("lr", "knn", "gb")
    candidates: tuple[str, ...] = ()  # "features/learner" names: try only these for the router
    tolerance: float = 0.01  # APGR within which the cheaper candidate is preferred
    folds: int = 5
    seed: int = 0
    holdout: float = 0.2
    inner_folds: int = 3  # of the nested cross-validation behind calibration
    cascade: bool = True
    target: Target = field(default_factory=lambda: Target("quality", 0.95))
    prices: Mapping[str, float] = field(default_factory=dict)
    tokens_per_request: float | None = None

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys([self.strong, self.weak, *self.also]))


def router_candidates(
    learners: tuple[str, ...], embeddings: bool, only: tuple[str, ...] = ()
) -> list[Candidate]:
    """The (feature set, learner) pairs to try for the prompt router."""
    if only:
        return [_named_candidate(name, embeddings) for name in only]
    pairs = [("tfidf", "lr"), ("tfidf", "knn"), ("tfidf-svd", "gb")]
    if embeddings:
        pairs += [("embed", "lr"), ("embed", "knn"), ("tfidf-svd+embed", "gb")]
    return [Candidate(f, learner) for f, learner in pairs if learner in learners]


def _named_candidate(name: str, embeddings: bool) -> Candidate:
    features, _, learner = name.partition("/")
    if features not in FEATURE_SETS or learner not in LEARNERS or needs_answers(features):
        known = [f for f in FEATURE_SETS if not needs_answers(f)]
        raise ConfigError(
            f"--candidate wants FEATURES/LEARNER with features in {', '.join(known)} and a "
            f"learner in {', '.join(LEARNERS)}; got {name!r}"
        )
    if needs_embedder(features) and not embeddings:
        raise ConfigError(f"--candidate {name} needs --embedder minilm or http")
    return Candidate(features, learner)


def cascade_candidates(learners: tuple[str, ...]) -> list[Candidate]:
    """The pairs to try for the cascade scorer (kNN has no use for answer checks)."""
    pairs = [("qa-tfidf+checks", "lr"), ("checks+qa-svd", "gb")]
    return [Candidate(f, learner) for f, learner in pairs if learner in learners]


@dataclass
class _Selection:
    """The winner of a cross-validated comparison, its out-of-fold scores and the table."""

    candidate: Candidate
    oof: Vector
    table: dict[str, dict[str, Any]]


def _select(
    candidates: list[Candidate],
    batch: Batch,
    target: Vector,
    *,
    scores: tuple[Vector, Vector],
    folds: _FOLDS,
    embedder: CachedEmbedder | None,
    invert: bool,
    tolerance: float,
) -> _Selection:
    """Cross-validate each candidate and keep the best APGR (``invert``: high means weak ok).

    Candidates come cheapest first; the first within ``tolerance`` of the best APGR wins, since
    smaller differences are mostly fold noise and the cheaper one decides faster.
    """
    weak, strong = scores
    results: list[tuple[float, Candidate, Vector]] = []
    table: dict[str, dict[str, Any]] = {}
    for candidate in candidates:
        oof = out_of_fold(candidate, batch, target, folds, embedder)
        routing = 1.0 - oof if invert else oof
        metrics = router_metrics(routing_curve(routing, weak, strong))
        table[candidate.name] = metrics.to_json()
        results.append((metrics.apgr if np.isfinite(metrics.apgr) else 0.0, candidate, routing))
    if not results:
        raise ConfigError("no candidate model to train: check --learner and --candidate")
    top = max(apgr for apgr, _, _ in results)
    _, chosen, routing = next(r for r in results if r[0] >= top - tolerance)
    return _Selection(chosen, routing, table)


def _nested(
    candidates: list[Candidate],
    batch: Batch,
    target: Vector,
    *,
    scores: tuple[Vector, Vector],
    folds: _FOLDS,
    config: TrainConfig,
    embedder: CachedEmbedder | None,
    invert: bool,
    plain: _Selection,
) -> tuple[Vector, list[str]]:
    """Out-of-fold scores where each outer fold's candidate was chosen without that fold.

    With one candidate there is no choice to leak, and the plain out-of-fold scores are used.
    """
    if len(candidates) == 1:
        return plain.oof, [plain.candidate.name] * len(folds)
    weak, strong = scores
    routing = np.zeros(len(batch))
    chosen: list[str] = []
    for number, test in enumerate(folds):
        rest = np.setdiff1d(np.arange(len(batch)), test)
        inner = fold_indices(len(rest), config.inner_folds, config.seed + 1000 + number)
        pick = _select(
            candidates,
            batch.take(rest),
            target[rest],
            scores=(weak[rest], strong[rest]),
            folds=inner,
            embedder=embedder,
            invert=invert,
            tolerance=config.tolerance,
        ).candidate
        fitted = Predictor(pick, embedder).fit(batch.take(rest), target[rest])
        predicted = fitted.predict(batch.take(test))
        routing[test] = 1.0 - predicted if invert else predicted
        chosen.append(pick.name)
    return routing, chosen


@dataclass
class _Parts:
    """What the artifact will hold, filled in step by step."""

    manifest: dict[str, Any]
    pickles: dict[str, object] = field(default_factory=dict)
    arrays: dict[str, npt.NDArray[Any]] = field(default_factory=dict)

    def add(
        self,
        role: str,
        file: str,
        predictor: Predictor,
        selection: _Selection,
        nested: tuple[Vector, list[str]],
    ) -> None:
        self.pickles[file] = predictor
        self.arrays[role] = nested[0]
        self.manifest["metrics"].setdefault("nested_choices", {})[role] = nested[1]
        self.manifest[role] = {
            "file": file,
            "candidate": selection.candidate.name,
            "features": predictor.featurizer.describe(),
            "learner": predictor.learner.describe(),
        }
        self.manifest["metrics"]["cv"][role] = selection.table
        self.manifest["metrics"]["chosen"][role] = selection.candidate.name


def train_router(
    labels: LabelSet, config: TrainConfig, out: Path, *, embedder: CachedEmbedder | None = None
) -> dict[str, Any]:
    """Train, calibrate and save an artifact at ``out``; returns its manifest.

    ``embedder`` stands in for the one ``config.embedder`` names (benchmarks share one cache).
    """
    check_output(out)
    usable = labels.with_models(config.models)
    if len(usable) == 0:
        raise ConfigError(f"no record scores all of {', '.join(config.models)}", path=labels.path)
    train, heldout = _split(usable, config.holdout, config.seed)
    costs = request_costs(train.records, config.models, config.prices, config.tokens_per_request)
    if config.also and costs is None:
        raise ConfigError(
            "choosing among more than two models needs costs: a 'cost' field in the labels "
            "or --cost MODEL=USD_PER_1M for every model"
        )
    folds = fold_indices(len(train), config.folds, config.seed)
    if config.embedder is None:
        embedder = None
    elif embedder is None:
        embedder = build_embedder(config.embedder, cache_size=max(4096, 2 * len(train)))
    parts = _Parts(_base_manifest(labels, usable, train, heldout, config))
    parts.manifest["costs"] = (
        None if costs is None else {"usd": dict(costs.usd), "source": costs.source}
    )
    parts.manifest["request_tokens"] = request_tokens(train.records, config.models)
    weak, strong = train.scores(config.weak), train.scores(config.strong)
    parts.arrays |= {
        "keys": np.array([text_key(t) for t in train.texts()]),
        "weak": weak,
        "strong": strong,
    }
    chosen = _train_prompt_router(train, config, folds, embedder, parts)
    _train_cascade(train, config, folds, embedder, parts)
    if config.also:
        _train_portfolio(train, config, chosen, folds=folds, embedder=embedder, parts=parts)
    if heldout is not None:
        parts.arrays |= _heldout_arrays(heldout, config, parts)
    parts.manifest |= calibration_fields(parts.arrays, parts.manifest, config.target, costs)
    _save(parts, out, heldout)
    return parts.manifest


def _choose_and_fit(
    role: str,
    candidates: list[Candidate],
    batch: Batch,
    target: Vector,
    *,
    config: TrainConfig,
    folds: _FOLDS,
    embedder: CachedEmbedder | None,
    parts: _Parts,
) -> Candidate:
    """Choose ``role``'s candidate by cross-validation, score it nested, fit it on everything."""
    invert = role == "cascade"  # the cascade predicts weak_ok: high means stay weak
    scores = (parts.arrays["weak"], parts.arrays["strong"])
    selection = _select(
        candidates, batch, target, scores=scores, folds=folds, embedder=embedder,
        invert=invert, tolerance=config.tolerance,
    )  # fmt: skip
    nested = _nested(
        candidates, batch, target, scores=scores, folds=folds, config=config,
        embedder=embedder, invert=invert, plain=selection,
    )  # fmt: skip
    predictor = Predictor(selection.candidate, embedder).fit(batch, target)
    parts.add(role, f"{role}.pkl", predictor, selection, nested)
    return selection.candidate


def _train_prompt_router(
    train: LabelSet,
    config: TrainConfig,
    folds: _FOLDS,
    embedder: CachedEmbedder | None,
    parts: _Parts,
) -> Candidate:
    weak, strong = parts.arrays["weak"], parts.arrays["strong"]
    win = (1.0 + strong - weak) / 2.0
    candidates = router_candidates(config.learners, embedder is not None, config.candidates)
    return _choose_and_fit(
        "router", candidates, Batch(train.texts()), win, config=config, folds=folds,
        embedder=embedder, parts=parts,
    )  # fmt: skip


def _save(parts: _Parts, out: Path, heldout: LabelSet | None) -> None:
    extra = {}
    if heldout is not None:
        extra_path = out.parent / f".{out.name}.heldout.jsonl"
        write_labels((r.raw for r in heldout.records), extra_path)
        extra["heldout.jsonl"] = extra_path
    try:
        write_artifact(out, parts.manifest, parts.pickles, parts.arrays, extra)
    finally:
        for temporary in extra.values():
            temporary.unlink(missing_ok=True)


def _train_cascade(
    train: LabelSet,
    config: TrainConfig,
    folds: _FOLDS,
    embedder: CachedEmbedder | None,
    parts: _Parts,
) -> None:
    """The cascade scorer, when every training record has the weak model's answer."""
    answers = [r.responses.get(config.weak) for r in train.records]
    candidates = cascade_candidates(config.learners)
    if not config.cascade or not candidates or any(a is None for a in answers):
        return
    batch = Batch(train.texts(), [a or "" for a in answers])
    _choose_and_fit(
        "cascade", candidates, batch, parts.arrays["weak"], config=config, folds=folds,
        embedder=embedder, parts=parts,
    )  # fmt: skip


def _train_portfolio(
    train: LabelSet,
    config: TrainConfig,
    candidate: Candidate,
    *,
    folds: _FOLDS,
    embedder: CachedEmbedder | None,
    parts: _Parts,
) -> None:
    """One quality predictor per model, with the router's chosen feature set and learner."""
    batch = Batch(train.texts())
    heads: dict[str, Predictor] = {}
    predicted, actual = [], []
    for model in config.models:
        score = train.scores(model)
        predicted.append(out_of_fold(candidate, batch, score, folds, embedder))
        actual.append(score)
        heads[model] = Predictor(candidate, embedder).fit(batch, score)
    parts.pickles["quality.pkl"] = heads
    parts.arrays["portfolio_predicted"] = np.column_stack(predicted)
    parts.arrays["portfolio_actual"] = np.column_stack(actual)
    parts.manifest["portfolio"] = {"file": "quality.pkl", "candidate": candidate.name}


def _heldout_arrays(heldout: LabelSet, config: TrainConfig, parts: _Parts) -> dict[str, Vector]:
    """The final models' scores on the held-out prompts, for the manifest's holdout figures."""
    texts = heldout.texts()
    router = parts.pickles["router.pkl"]
    assert isinstance(router, Predictor)
    arrays: dict[str, Any] = {
        "heldout_keys": np.array([text_key(t) for t in texts]),
        "heldout_weak": heldout.scores(config.weak),
        "heldout_strong": heldout.scores(config.strong),
        "heldout_router": router.predict(Batch(texts)),
    }
    cascade = parts.pickles.get("cascade.pkl")
    answers = [r.responses.get(config.weak) for r in heldout.records]
    if isinstance(cascade, Predictor) and all(a is not None for a in answers):
        arrays["heldout_cascade"] = 1.0 - cascade.predict(Batch(texts, [a or "" for a in answers]))
    return arrays


def _split(labels: LabelSet, holdout: float, seed: int) -> tuple[LabelSet, LabelSet | None]:
    if not 0 <= holdout < 1:
        raise ConfigError("--holdout must be a fraction in [0, 1)")
    if holdout == 0:
        return labels, None
    order = np.random.default_rng(seed + 1).permutation(len(labels))
    cut = round(len(labels) * holdout)
    held = {int(i) for i in order[:cut]}
    keep = tuple(r for i, r in enumerate(labels.records) if i not in held)
    out = tuple(r for i, r in enumerate(labels.records) if i in held)
    return LabelSet(keep, labels.sha256, labels.path), LabelSet(out, labels.sha256, labels.path)


def _base_manifest(
    labels: LabelSet,
    usable: LabelSet,
    train: LabelSet,
    heldout: LabelSet | None,
    config: TrainConfig,
) -> dict[str, Any]:
    import sklearn

    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    settings = {
        "learners": list(config.learners),
        "folds": config.folds,
        "seed": config.seed,
        "holdout": config.holdout,
        "inner_folds": config.inner_folds,
        "apgr_tolerance": config.tolerance,
        "cascade": config.cascade,
    }
    identity = json.dumps([labels.sha256, config.models, settings, created]).encode()
    return {
        "version": hashlib.sha256(identity).hexdigest()[:12],
        "created": created,
        "parity_version": parity.__version__,
        "sklearn_version": sklearn.__version__,
        "strong": config.strong,
        "weak": config.weak,
        "models": config.models,
        "embedder": None if config.embedder is None else config.embedder.to_json(),
        "settings": settings,
        "metrics": {"cv": {}, "chosen": {}},
        "training_data": {
            "path": labels.path,
            "sha256": labels.sha256,
            "records": len(labels),
            "scored_by_all_models": len(usable),
            "trained_on": len(train),
            "held_out": 0 if heldout is None else len(heldout),
        },
    }
