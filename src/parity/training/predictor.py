"""A predictor is a feature set plus a learner; this module fits one and cross-validates it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError
from parity.training.embeddings import Embedder
from parity.training.features import Batch, Featurizer
from parity.training.learners import LEARNERS, Learner

__all__ = ["Candidate", "Predictor", "fold_indices", "out_of_fold"]

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Candidate:
    """One (feature set, learner) pair the trainer may choose."""

    features: str
    learner: str

    @property
    def name(self) -> str:
        return f"{self.features}/{self.learner}"


class Predictor:
    """A fitted feature set and learner; predicts a probability per prompt."""

    def __init__(self, candidate: Candidate, embedder: Embedder | None = None) -> None:
        factory = LEARNERS.get(candidate.learner)
        if factory is None:
            raise ConfigError(
                f"unknown learner {candidate.learner!r}; known: {', '.join(LEARNERS)}"
            )
        self.candidate = candidate
        self.featurizer = Featurizer(candidate.features, embedder)
        self.learner: Learner = factory()
        if self.learner.needs_dense and not self.featurizer.dense:
            raise ConfigError(
                f"{candidate.learner} needs a dense feature set, not {candidate.features}"
            )
        self._threads: Any = None

    def _one_thread(self) -> AbstractContextManager[Any]:
        """Run BLAS and OpenMP on one thread.

        On a busy 2-core machine more threads made training 10-20x slower (they spin waiting
        for each other), and scoring one prompt gains nothing from them.
        """
        if self._threads is None:
            from threadpoolctl import ThreadpoolController

            self._threads = ThreadpoolController()
        limited: AbstractContextManager[Any] = self._threads.limit(limits=1)
        return limited

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ | {"_threads": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._threads = None

    def attach(self, embedder: Embedder | None) -> None:
        """Give a loaded predictor its embedder back (it is never pickled)."""
        self.featurizer.embedder = embedder

    def fit(self, batch: Batch, target: Vector) -> Predictor:
        with self._one_thread():
            self.featurizer.fit(batch)
            self.learner.fit(self.featurizer.transform(batch), target)
        return self

    def predict(self, batch: Batch) -> Vector:
        with self._one_thread():
            scores = self.learner.predict(self.featurizer.transform(batch))
        return np.clip(scores, 0.0, 1.0)


def fold_indices(n: int, folds: int, seed: int) -> list[npt.NDArray[np.intp]]:
    """A seeded shuffle of ``range(n)`` cut into ``folds`` nearly equal test folds."""
    if n < 2 * folds:
        raise ConfigError(f"{n} labelled prompts are too few for {folds}-fold cross-validation")
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(order, folds)]


def out_of_fold(
    candidate: Candidate,
    batch: Batch,
    target: Vector,
    folds: list[npt.NDArray[np.intp]],
    embedder: Embedder | None,
) -> Vector:
    """Each prompt's prediction from a predictor that never saw it."""
    predictions = np.zeros(len(batch))
    for test in folds:
        train = np.setdiff1d(np.arange(len(batch)), test)
        predictor = Predictor(candidate, embedder).fit(batch.take(train), target[train])
        predictions[test] = predictor.predict(batch.take(test))
    return predictions
