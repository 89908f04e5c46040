"""Learners: map features to a probability in [0, 1], trained on soft targets.

A target is a probability, not a class: "the strong model is better" is 1, a tie 0.5, and a
judge's graded score stays graded. Logistic regression learns a soft target by seeing each
row twice, as a positive weighted by the target and a negative weighted by its complement
(the cross-entropy of the soft label); boosting regresses on it. ``LEARNERS`` maps names to
factories.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from parity.errors import ConfigError
from parity.training.features import Matrix

__all__ = ["LEARNERS", "Learner", "SimilarityKnn", "SoftBoosting", "SoftLogistic"]

Vector = npt.NDArray[np.float64]


class Learner(Protocol):
    """Fits soft targets and predicts probabilities."""

    needs_dense: bool

    def fit(self, features: Matrix, target: Vector) -> None: ...

    def predict(self, features: Matrix) -> Vector: ...

    def describe(self) -> dict[str, Any]: ...


def _doubled(features: Matrix, target: Vector) -> tuple[Matrix, Vector, Vector]:
    """Rows twice: label 1 weighted by the target, label 0 by its complement."""
    n = features.shape[0]
    if sp.issparse(features):
        stacked: Matrix = sp.csr_matrix(sp.vstack([features, features]))
    else:
        stacked = np.vstack([features, features])
    labels = np.concatenate([np.ones(n), np.zeros(n)])
    weights = np.concatenate([target, 1.0 - target])
    keep = np.flatnonzero(weights > 0)
    return stacked[keep], labels[keep], weights[keep]


def _constant(target: Vector) -> float | None:
    """A target with one value cannot train a classifier; predict that value instead."""
    return float(target[0]) if np.ptp(target) == 0 else None


class SoftLogistic:
    """L2-regularised logistic regression on soft targets (sparse or dense features)."""

    needs_dense = False

    def __init__(self, c: float = 1.0) -> None:
        self._c = c
        self._model: Any = None
        self._value: float | None = None

    def describe(self) -> dict[str, Any]:
        return {"learner": "logistic regression", "C": self._c, "target": "soft (doubled rows)"}

    def fit(self, features: Matrix, target: Vector) -> None:
        from sklearn.linear_model import LogisticRegression

        self._value = _constant(target)
        if self._value is None:
            x, y, w = _doubled(features, target)
            self._model = LogisticRegression(C=self._c, max_iter=3000).fit(x, y, sample_weight=w)

    def predict(self, features: Matrix) -> Vector:
        if self._value is not None:
            return np.full(features.shape[0], self._value)
        # The linear score by hand: predict_proba's input checks cost more than the maths
        # for one prompt, and this runs on the gateway's hot path.
        margin = np.asarray(features @ self._model.coef_[0], dtype=np.float64).ravel()
        margin += float(self._model.intercept_[0])
        return np.asarray(1.0 / (1.0 + np.exp(-margin)), dtype=np.float64)


class SimilarityKnn:
    """Similarity-weighted nearest neighbours, in the spirit of RouteLLM's SW ranking.

    A prompt's probability is the mean target of its most similar training prompts, each
    weighted by ``exp(sharpness * (similarity - best similarity))`` so that near-duplicates
    dominate, and shrunk towards the overall mean when even the best neighbours are far.
    """

    needs_dense = False

    def __init__(self, k: int = 40, sharpness: float = 10.0, prior: float = 1.0) -> None:
        self._k, self._sharpness, self._prior = k, sharpness, prior
        self._train: Matrix | None = None
        self._target: Vector = np.zeros(0)

    def describe(self) -> dict[str, Any]:
        return {
            "learner": "similarity-weighted kNN",
            "k": self._k,
            "sharpness": self._sharpness,
            "prior": self._prior,
            "neighbours": None if self._train is None else int(self._train.shape[0]),
        }

    def fit(self, features: Matrix, target: Vector) -> None:
        self._train, self._target = _unit_rows(features), target.astype(np.float64)

    def predict(self, features: Matrix) -> Vector:
        if self._train is None:
            raise ConfigError("the kNN learner was used before it was fitted")
        similarity = _dense(_unit_rows(features) @ self._train.T)
        k = min(self._k, similarity.shape[1])
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        close = np.take_along_axis(similarity, nearest, axis=1)
        weights = np.exp(self._sharpness * (close - close.max(axis=1, keepdims=True)))
        weights *= np.maximum(close, 0.0)  # neighbours that share nothing carry no weight
        votes = (weights * self._target[nearest]).sum(axis=1)
        mean = float(self._target.mean())
        shrunk: Vector = (votes + self._prior * mean) / (weights.sum(axis=1) + self._prior)
        return shrunk


def _unit_rows(features: Matrix) -> Matrix:
    if sp.issparse(features):
        norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1))).ravel()
        return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ features)
    dense = np.asarray(features, dtype=np.float64)
    return dense / np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)


def _dense(matrix: Any) -> npt.NDArray[np.float64]:
    return np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix, dtype=np.float64)


class SoftBoosting:
    """Histogram gradient boosting on soft targets (dense features only).

    It fits the target directly with squared error: the doubled-row trick needs sample weights,
    which made scikit-learn's histogram boosting about ten times slower here.
    """

    needs_dense = True

    def __init__(self, rounds: int = 200, rate: float = 0.05, depth: int = 3) -> None:
        self._params = {
            "max_iter": rounds,
            "learning_rate": rate,
            "max_depth": depth,
            "min_samples_leaf": 20,
            "l2_regularization": 1.0,
            "early_stopping": False,
            "random_state": 0,
        }
        self._model: Any = None

    def describe(self) -> dict[str, Any]:
        return {"learner": "histogram gradient boosting (squared error)", **self._params}

    def fit(self, features: Matrix, target: Vector) -> None:
        from sklearn.ensemble import HistGradientBoostingRegressor

        if sp.issparse(features):
            raise ConfigError("gradient boosting needs a dense feature set")
        self._model = HistGradientBoostingRegressor(**self._params).fit(features, target)

    def predict(self, features: Matrix) -> Vector:
        if self._model is None:
            raise ConfigError("the boosting learner was used before it was fitted")
        return np.clip(np.asarray(self._model.predict(features), dtype=np.float64), 0.0, 1.0)


LEARNERS: dict[str, Callable[[], Learner]] = {
    "lr": SoftLogistic,
    "knn": SimilarityKnn,
    "gb": SoftBoosting,
}
