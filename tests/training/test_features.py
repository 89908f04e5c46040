"""Feature sets and learners: the hot-path shortcuts give scikit-learn's exact numbers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from parity.training.features import Batch, Featurizer
from parity.training.labels import read_labels
from parity.training.learners import SimilarityKnn, SoftLogistic
from parity.training.predictor import Candidate, Predictor
from tests.training.conftest import GSM8K, WEAK


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return read_labels(GSM8K).texts()[:300]


def test_tfidf_fast_path_equals_scikit_learn(texts: list[str]) -> None:
    featurizer = Featurizer("tfidf")
    featurizer.fit(Batch(texts[:200]))
    unseen = [*texts[200:], "", "zzzz qqqq"]  # includes rows with no known word
    fast = featurizer.transform(Batch(unseen))
    vectorizer = featurizer._blocks[0]._vectorizer  # type: ignore[attr-defined]
    assert abs(fast - vectorizer.transform(unseen)).max() < 1e-12


def test_logistic_shortcut_equals_predict_proba(texts: list[str]) -> None:
    featurizer = Featurizer("tfidf")
    batch = Batch(texts)
    featurizer.fit(batch)
    features = featurizer.transform(batch)
    target = np.linspace(0, 1, len(texts))
    learner = SoftLogistic()
    learner.fit(features, target)
    expected = learner._model.predict_proba(features)[:, 1]
    assert np.allclose(learner.predict(features), expected, atol=1e-12)


def test_knn_follows_the_nearest_prompts() -> None:
    train = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    knn = SimilarityKnn(k=2, sharpness=10.0, prior=0.01)
    knn.fit(train, np.array([1.0, 1.0, 0.0, 0.0]))
    near_first, near_second = knn.predict(np.array([[1.0, 0.05], [0.05, 1.0]]))
    assert near_first > 0.95 and near_second < 0.05


def test_pickled_predictor_leaves_its_embedder_behind(texts: list[str]) -> None:
    labels = read_labels(GSM8K)
    answers = [r.responses[WEAK] for r in labels.records[:300]]
    batch = Batch(texts, answers)
    predictor = Predictor(Candidate("qa-tfidf+checks", "lr")).fit(batch, labels.scores(WEAK)[:300])
    predictor.attach(object())  # type: ignore[arg-type]
    copy = pickle.loads(pickle.dumps(predictor))
    assert copy.featurizer.embedder is None
    assert np.allclose(copy.predict(batch), predictor.predict(batch))
